//go:build !linux

package pglab

import "syscall"

// Without Pdeathsig a drill killed with SIGKILL can leave servers behind; `drill lab down
// --postgres` finds them through the state file.
func dieWithParent(*syscall.SysProcAttr) {}
