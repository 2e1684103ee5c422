//go:build !linux

package labproc

import "syscall"

// Without Pdeathsig a drill killed with SIGKILL can leave servers behind; `drill lab down`
// finds them through the lab's state file.
func dieWithParent(*syscall.SysProcAttr) {}
