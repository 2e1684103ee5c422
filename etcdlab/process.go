package etcdlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/drillhq/drill/internal/labproc"
)

// startProcess launches one etcd server with its output appended to logPath. With a spawner
// the member dies with drill (labproc.Spawner says why it starts from one thread).
func startProcess(sp *labproc.Spawner, binary string, args []string, logPath string) (*labproc.Proc, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = os.Environ()
	return labproc.Start(sp, cmd, logPath)
}

// ProcState is the state of a member process, as the kernel reports it.
type ProcState = labproc.State

const (
	ProcExited  = labproc.Exited  // no such process, a zombie, or a different program reusing the pid
	ProcRunning = labproc.Running // running or sleeping
	ProcStopped = labproc.Stopped // stopped by a signal (SIGSTOP)
)

// inspect reports the state of a pid recorded in a state file, counting it as the member's only
// if its command line names the member's data dir: the pid may since have been reused by an
// unrelated process, which must never be signalled.
func inspect(pid int, dataDir string) ProcState {
	if pid <= 0 || !isMember(pid, dataDir) {
		return ProcExited
	}
	return labproc.StatState(pid)
}

func isMember(pid int, dataDir string) bool {
	args, ok := labproc.Cmdline(pid)
	return ok && hasDataDir(args, dataDir)
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
func waitGone(ctx context.Context, p *labproc.Proc, pid int, dataDir string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if p != nil {
		select {
		case <-p.Done():
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
	var left []string
	for _, p := range labproc.All() {
		if !p.Alive() || !strings.Contains(strings.Join(p.Cmdline, "\x00"), "--data-dir\x00"+dir+"/") {
			continue
		}
		left = append(left, fmt.Sprintf("%d: %s", p.PID, strings.TrimSpace(p.Title())))
	}
	return left
}
