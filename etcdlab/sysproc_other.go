//go:build !linux

package etcdlab

import "syscall"

// Without Pdeathsig a drill killed with SIGKILL can leave members behind; `drill lab down --dir`
// finds them through the state file.
func sysProcAttr(bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}
