package etcdlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a member process this Lab started, so it can be reaped and its exit observed without
// polling. Members of a lab opened from its state file are tracked by pid only.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and been reaped
	err  error         // Wait's result, valid once done is closed
}

// spawner starts processes from one OS thread that lives as long as the lab. Linux delivers
// Pdeathsig when the *thread* that forked a child exits, not the process, so starting members
// from arbitrary goroutines could kill them whenever the Go runtime retires a thread; with
// a dedicated locked thread they die exactly when drill dies (or the lab is taken down).
type spawner struct {
	reqs chan func()
	quit chan struct{}
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan func()), quit: make(chan struct{})}
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

func (s *spawner) do(f func()) {
	done := make(chan struct{})
	s.reqs <- func() { f(); close(done) }
	<-done
}

func (s *spawner) stop() { close(s.quit) }

// startProcess launches one etcd server with its output appended to logPath. The process gets its
// own session so a Ctrl-C at the terminal reaches drill (which then rolls back in order) rather
// than every member at once.
func startProcess(sp *spawner, binary string, args []string, logPath string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open member log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(binary, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = os.Environ()
	cmd.SysProcAttr = sysProcAttr(sp != nil)
	if sp != nil {
		sp.do(func() { err = cmd.Start() })
	} else {
		err = cmd.Start()
	}
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// ProcState is the state of a member process, as the kernel reports it.
type ProcState int

const (
	ProcExited  ProcState = iota // no such process, a zombie, or a different program reusing the pid
	ProcRunning                  // running or sleeping
	ProcStopped                  // stopped by a signal (SIGSTOP)
)

func (s ProcState) String() string {
	switch s {
	case ProcRunning:
		return "running"
	case ProcStopped:
		return "stopped"
	default:
		return "exited"
	}
}

// inspect reports the state of a pid recorded in a state file, counting it as the member's only
// if its command line names the member's data dir: the pid may since have been reused by an
// unrelated process, which must never be signalled.
func inspect(pid int, dataDir string) ProcState {
	if pid <= 0 || !isMember(pid, dataDir) {
		return ProcExited
	}
	return statState(pid)
}

// ownState reports the state of a process this Lab started. Its command line is not checked:
// right after exec the kernel may not have set it up yet, and the handle already proves the
// process is ours.
func ownState(p *proc) ProcState {
	select {
	case <-p.done:
		return ProcExited
	default:
	}
	return statState(p.cmd.Process.Pid)
}

func isMember(pid int, dataDir string) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		// No /proc (macOS): ask ps.
		out, err := exec.Command("ps", "-o", "command=", "-p", strconv.Itoa(pid)).Output()
		return err == nil && hasDataDir(strings.Fields(string(out)), dataDir)
	}
	return hasDataDir(strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00"), dataDir)
}

// statState reads the scheduler state of pid.
func statState(pid int) ProcState {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	var state byte
	if err == nil {
		// The state letter follows the parenthesised command name, which may contain ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) {
			return ProcExited
		}
		state = stat[i+2]
	} else {
		out, err := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
		if err != nil || len(bytes.TrimSpace(out)) == 0 {
			return ProcExited
		}
		state = bytes.TrimSpace(out)[0]
	}
	switch state {
	case 'Z', 'X', 'x':
		return ProcExited
	case 'T', 't':
		return ProcStopped
	default:
		return ProcRunning
	}
}

func hasDataDir(args []string, dataDir string) bool {
	for i, a := range args {
		if a == "--data-dir="+dataDir || ((a == "--data-dir" || a == "-data-dir") && i+1 < len(args) && args[i+1] == dataDir) {
			return true
		}
	}
	return false
}

// sendSignal signals pid; callers check first that it is the member's process.
func sendSignal(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(pid, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return errGone
		}
		return err
	}
	return nil
}

var errGone = errors.New("process is not running")

// waitGone waits until the member process has exited: via its reaper when we started it, else by
// polling /proc (the process was started by an earlier drill invocation and belongs to init now,
// so nothing can wait for its exit). It gives up after timeout or when ctx ends.
func waitGone(ctx context.Context, p *proc, pid int, dataDir string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if p != nil {
		select {
		case <-p.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("still running: %w", ctx.Err())
		}
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for inspect(pid, dataDir) != ProcExited {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("still running: %w", ctx.Err())
		}
	}
	return nil
}

// MembersUnder lists the etcd processes still alive (zombies excluded) whose data dir lies
// inside dir, each as "pid: command line": what a lab would have left behind. It scans /proc
// and finds nothing where there is none.
func MembersUnder(dir string) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var left []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(cmdline), "--data-dir\x00"+dir+"/") {
			continue
		}
		if statState(pid) == ProcExited {
			continue
		}
		left = append(left, fmt.Sprintf("%d: %s", pid, strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))))
	}
	return left
}
