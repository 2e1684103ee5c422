// Package labproc is the process-manager core the local labs (etcdlab, pglab) share: starting
// server processes that die with drill, reading what the kernel says about them under /proc,
// and reading a lab's versioned JSON state file. It knows nothing of etcd, PostgreSQL or drills.
package labproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// Spawner starts processes from one OS thread that lives as long as the lab. Linux delivers
// Pdeathsig when the *thread* that forked a child exits, not the process, so starting servers
// from arbitrary goroutines could kill them whenever the Go runtime retires a thread; with a
// dedicated locked thread they die exactly when drill dies (or the lab is taken down).
type Spawner struct {
	reqs     chan func()
	quit     chan struct{}
	stopOnce sync.Once
}

// NewSpawner starts the spawning thread; Stop ends it.
func NewSpawner() *Spawner {
	s := &Spawner{reqs: make(chan func()), quit: make(chan struct{})}
	go func() {
		// Never unlocked: when this goroutine returns, the thread is terminated with it.
		runtime.LockOSThread()
		for {
			select {
			case f := <-s.reqs:
				f()
			case <-s.quit:
				return
			}
		}
	}()
	return s
}

// Do runs f on the spawner's thread; false when the spawner was stopped (the lab removed).
func (s *Spawner) Do(f func()) bool {
	done := make(chan struct{})
	select {
	case s.reqs <- func() { f(); close(done) }:
	case <-s.quit:
		return false
	}
	<-done
	return true
}

// Stop ends the spawning thread, and with it (Linux) every process started through it. It may
// be called more than once.
func (s *Spawner) Stop() { s.stopOnce.Do(func() { close(s.quit) }) }

// Proc is a server process a lab started, so it can be reaped and its exit observed without
// polling. Servers of a lab opened from its state file are tracked by pid only.
type Proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // Wait's result, valid once done is closed
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited and been reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is how the process ended (Wait's result); valid once Done is closed.
func (p *Proc) Err() error { return p.err }

// State reports the state of a process this lab started. Its command line is not checked:
// right after exec the kernel may not have set it up yet, and the handle already proves the
// process is ours.
func (p *Proc) State() State {
	select {
	case <-p.done:
		return Exited
	default:
	}
	return StatState(p.Pid())
}

// ErrStopped means the spawner was stopped (the lab removed) before the process could start.
var ErrStopped = errors.New("lab was removed")

// Start launches cmd with its output appended to logPath. The process gets its own session so
// a Ctrl-C at the terminal reaches drill (which then rolls back in order) rather than every
// server at once. With a spawner it is started on the spawner's thread and (Linux) dies with it;
// without one it outlives drill.
func Start(sp *Spawner, cmd *exec.Cmd, logPath string) (*Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setsid = true
	if sp != nil {
		dieWithParent(cmd.SysProcAttr)
		if !sp.Do(func() { err = cmd.Start() }) {
			return nil, ErrStopped
		}
	} else {
		err = cmd.Start()
	}
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Args[0], err)
	}
	p := &Proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}
