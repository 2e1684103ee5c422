// Package shelltest helps tests prove that a killed script left no process behind.
package shelltest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// HangScript returns a script that records its shell's pid and a child's pid in pidFile (one per
// line) and then waits on a `sleep 30` child, so killing only the shell would leave the child.
func HangScript(pidFile string) string {
	return fmt.Sprintf("echo $$ > %[1]s; sleep 30 & echo $! >> %[1]s; wait", pidFile)
}

// WaitPIDs polls pidFile until it holds n pids, one per line (HangScript writes two), and
// returns them.
func WaitPIDs(t testing.TB, pidFile string, n int, within time.Duration) []int {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		b, err := os.ReadFile(pidFile)
		if err == nil && bytes.Count(b, []byte("\n")) >= n {
			var pids []int
			for _, f := range strings.Fields(string(b)) {
				pid, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("pid file %s: %v", pidFile, err)
				}
				pids = append(pids, pid)
			}
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("script did not write %d pids to %s within %v (got %q, %v)", n, pidFile, within, b, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// AssertGone fails the test unless every pid has exited within the bound. A zombie counts as
// exited: the container's init may not reap orphans promptly.
func AssertGone(t testing.TB, pids []int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, pid := range pids {
		for Alive(pid) {
			if time.Now().After(deadline) {
				t.Errorf("process %d still running %v after the context ended", pid, within)
				syscall.Kill(pid, syscall.SIGKILL) // don't leak it past the test
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// Alive reports whether pid is a running (not zombie) process.
func Alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may itself contain ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return true
	}
	return b[i+2] != 'Z'
}

// Kill SIGKILLs pids a test deliberately left running.
func Kill(pids []int) {
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGKILL)
	}
}
