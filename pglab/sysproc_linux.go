package pglab

import "syscall"

// dieWithParent has the kernel SIGKILL the postmaster when the thread that started it exits;
// its children then notice the postmaster is gone and exit.
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
