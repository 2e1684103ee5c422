package pglab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a postmaster this Lab started, so it can be reaped and its exit observed without
// polling. Postmasters of a lab opened from its state file are tracked by pid only.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // Wait's result, valid once done is closed
}

// spawner starts processes from one OS thread that lives as long as the lab: Linux sends
// Pdeathsig when the *thread* that forked a child exits, so postmasters started from arbitrary
// goroutines could die whenever the Go runtime retires a thread.
type spawner struct {
	reqs     chan func()
	quit     chan struct{}
	stopOnce sync.Once
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan func()), quit: make(chan struct{})}
	go func() {
		// Never unlocked: when this goroutine returns, the thread ends with it.
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

// do runs f on the spawner's thread; false when the spawner was stopped (the lab removed).
func (s *spawner) do(f func()) bool {
	done := make(chan struct{})
	select {
	case s.reqs <- func() { f(); close(done) }:
	case <-s.quit:
		return false
	}
	<-done
	return true
}

func (s *spawner) stop() { s.stopOnce.Do(func() { close(s.quit) }) }

// command prepares a PostgreSQL program to run as the server account, in dir (the server
// account may not be able to read drill's working directory), with output to logf.
func command(ctx context.Context, as RunAs, dir, binary string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if ctx != nil {
		cmd = exec.CommandContext(ctx, binary, args...)
	} else {
		cmd = exec.Command(binary, args...)
	}
	cmd.Dir = dir
	cmd.Env = serverEnv(as)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: as.credential()}
	return cmd
}

// serverEnv drops PG* variables (PGDATA, PGPORT, PGHOST would redirect the tools) and, for the
// server account, root's HOME.
func serverEnv(as RunAs) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PG") || (as.set() && (strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "USER=")))
	})
	if as.set() {
		env = append(env, "HOME=/tmp", "USER="+as.User)
	}
	return env
}

// startPostmaster launches postgres with output appended to logPath. It gets its own session
// so a Ctrl-C at the terminal reaches drill (which then rolls back in order), not the servers.
func startPostmaster(sp *spawner, as RunAs, dir, binary string, args []string, logPath string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open server log: %w", err)
	}
	defer logf.Close()
	cmd := command(nil, as, dir, binary, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if sp != nil {
		dieWithParent(cmd.SysProcAttr)
		if !sp.do(func() { err = cmd.Start() }) {
			return nil, errors.New("lab was removed")
		}
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

// ProcState is the state of a server process as the kernel reports it.
type ProcState int

const (
	ProcExited  ProcState = iota // no such process, a zombie, or another program reusing the pid
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

// procInfo is what /proc says about one process.
type procInfo struct {
	pid, ppid int
	state     byte
	cmdline   []string
}

func readProc(pid int) (procInfo, bool) {
	base := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(base + "/stat")
	if err != nil {
		return procInfo{}, false
	}
	// The fields after the command name, which is parenthesised and may contain ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return procInfo{}, false
	}
	f := strings.Fields(string(stat[i+2:]))
	if len(f) < 2 {
		return procInfo{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	cmdline, _ := os.ReadFile(base + "/cmdline")
	return procInfo{pid: pid, ppid: ppid, state: f[0][0], cmdline: strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00")}, true
}

func (p procInfo) alive() bool { return p.state != 'Z' && p.state != 'X' && p.state != 'x' }

func (p procInfo) procState() ProcState {
	switch {
	case !p.alive():
		return ProcExited
	case p.state == 'T' || p.state == 't':
		return ProcStopped
	default:
		return ProcRunning
	}
}

// isPostmasterOf reports whether the process runs `postgres -D dataDir`: a pid from a state
// file may since belong to an unrelated program, which must never be signalled.
func (p procInfo) isPostmasterOf(dataDir string) bool {
	for i, a := range p.cmdline {
		if a == "-D" && i+1 < len(p.cmdline) && p.cmdline[i+1] == dataDir {
			return true
		}
	}
	return false
}

// title is a server child's process title ("postgres: pg1: walsender postgres 127.0.0.1(5) streaming 0/3000148").
func (p procInfo) title() string { return strings.Join(p.cmdline, " ") }

// allProcs scans /proc once.
func allProcs() []procInfo {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// childrenOf lists the live processes whose parent is pid: a postmaster's backends, walsenders,
// checkpointer and the rest.
func childrenOf(pid int) []procInfo {
	var out []procInfo
	for _, p := range allProcs() {
		if p.ppid == pid && p.alive() {
			out = append(out, p)
		}
	}
	return out
}

// postmasterState is the state of the postmaster recorded as pid for dataDir.
func postmasterState(pid int, dataDir string) ProcState {
	if pid <= 0 {
		return ProcExited
	}
	p, ok := readProc(pid)
	if !ok || !p.isPostmasterOf(dataDir) {
		return ProcExited
	}
	return p.procState()
}

func signal(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %v to pid %d: %w", sig, pid, err)
	}
	return nil
}

// waitFor polls cond every few milliseconds until it holds or ctx ends: signal delivery and
// process exit are asynchronous, and callers must not return before the kernel shows the effect.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// gone reports whether none of pids is alive any more (reaped, or a zombie awaiting its new
// parent).
func gone(pids []int) bool {
	for _, pid := range pids {
		if p, ok := readProc(pid); ok && p.alive() {
			return false
		}
	}
	return true
}

// Leftover is a live process a lab left behind.
type Leftover struct {
	PID     int
	Command string
}

func (l Leftover) String() string { return fmt.Sprintf("%d: %s", l.PID, l.Command) }

// ProcessesUnder lists the live postgres postmasters whose data dir is or lies inside dir, and their
// children: what a lab would leave behind after a drill killed with SIGKILL (without
// DieWithParent) or a failed Remove. It scans /proc and finds nothing where there is none.
func ProcessesUnder(dir string) []Leftover {
	procs := allProcs()
	dir = strings.TrimRight(dir, "/")
	masters := map[int]bool{}
	for _, p := range procs {
		for i, a := range p.cmdline {
			if a != "-D" || i+1 >= len(p.cmdline) || !p.alive() {
				continue
			}
			if d := p.cmdline[i+1]; d == dir || strings.HasPrefix(d, dir+"/") {
				masters[p.pid] = true
			}
		}
	}
	var out []Leftover
	for _, p := range procs {
		if p.alive() && (masters[p.pid] || masters[p.ppid]) {
			out = append(out, Leftover{PID: p.pid, Command: p.title()})
		}
	}
	return out
}

// KillUnder SIGKILLs every process ProcessesUnder(dir) finds and waits until they are gone.
func KillUnder(ctx context.Context, dir string) error {
	left := ProcessesUnder(dir)
	var pids []int
	for _, l := range left {
		pids = append(pids, l.PID)
		if err := signal(l.PID, syscall.SIGKILL); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, killGrace)
	defer cancel()
	return waitFor(ctx, "leftover postgres processes to exit", func() bool { return gone(pids) })
}
