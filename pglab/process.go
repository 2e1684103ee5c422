package pglab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/drillhq/drill/internal/labproc"
)

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

// startPostmaster launches postgres as the server account with output appended to logPath.
// With a spawner it dies with drill (labproc.Spawner says why it starts from one thread).
func startPostmaster(sp *labproc.Spawner, as RunAs, dir, binary string, args []string, logPath string) (*labproc.Proc, error) {
	return labproc.Start(sp, command(nil, as, dir, binary, args...), logPath)
}

// ProcState is the state of a server process as the kernel reports it.
type ProcState = labproc.State

const (
	ProcExited  = labproc.Exited  // no such process, a zombie, or another program reusing the pid
	ProcRunning = labproc.Running // running or sleeping
	ProcStopped = labproc.Stopped // stopped by a signal (SIGSTOP)
)

// isPostmasterOf reports whether the process runs `postgres -D dataDir`: a pid from a state
// file may since belong to an unrelated program, which must never be signalled.
func isPostmasterOf(p labproc.Info, dataDir string) bool {
	for i, a := range p.Cmdline {
		if a == "-D" && i+1 < len(p.Cmdline) && p.Cmdline[i+1] == dataDir {
			return true
		}
	}
	return false
}

// childrenOf lists the live processes whose parent is pid: a postmaster's backends, walsenders,
// checkpointer and the rest.
func childrenOf(pid int) []labproc.Info {
	var out []labproc.Info
	for _, p := range labproc.All() {
		if p.PPID == pid && p.Alive() {
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
	p, ok := labproc.Read(pid)
	if !ok || !isPostmasterOf(p, dataDir) {
		return ProcExited
	}
	return p.State()
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
		if p, ok := labproc.Read(pid); ok && p.Alive() {
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
	procs := labproc.All()
	dir = strings.TrimRight(dir, "/")
	masters := map[int]bool{}
	for _, p := range procs {
		for i, a := range p.Cmdline {
			if a != "-D" || i+1 >= len(p.Cmdline) || !p.Alive() {
				continue
			}
			if d := p.Cmdline[i+1]; d == dir || strings.HasPrefix(d, dir+"/") {
				masters[p.PID] = true
			}
		}
	}
	var out []Leftover
	for _, p := range procs {
		if p.Alive() && (masters[p.PID] || masters[p.PPID]) {
			out = append(out, Leftover{PID: p.PID, Command: p.Title()})
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
