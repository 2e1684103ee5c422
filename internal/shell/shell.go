// Package shell runs user-supplied shell snippets (the `command` probe, fault and step) so that a
// hung snippet can never outlive the context it was started under.
package shell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Output is capped because a probe may run every few milliseconds for minutes: a chatty script
// must not grow the drill's memory. Only the end of stderr matters for error messages.
const (
	maxStdout = 64 << 10
	maxStderr = 16 << 10
	// maxLine caps one line quoted in an error so a report row stays readable.
	maxLine = 200
)

// waitDelay bounds how long Run waits for stdout/stderr to close after the shell itself has
// exited or been killed: a background job (`daemon &`) inheriting the pipes would otherwise keep
// Run blocked for as long as it lives.
const waitDelay = 2 * time.Second

// ExitError reports a script that did not exit 0.
type ExitError struct {
	// Code is the exit status, or -1 when the shell was killed by a signal.
	Code int
	// Signal names the signal that killed the shell ("" when it exited).
	Signal string
	// Stderr is the tail of what the script wrote to stderr (at most 16 KiB).
	Stderr []byte
	// Cause is the context error when the script was killed because ctx ended.
	Cause error
}

func (e *ExitError) Error() string {
	msg := e.Reason()
	if l := e.LastLines(1); l != "" {
		msg += ": " + l
	}
	return msg
}

// Reason says how the script ended, without its stderr: "exited 3", "killed by signal TERM",
// "killed (context deadline exceeded)" or "not started (context canceled)".
func (e *ExitError) Reason() string {
	switch {
	case e.Cause != nil && e.Signal == "":
		return "not started (" + e.Cause.Error() + ")"
	case e.Cause != nil:
		return "killed (" + e.Cause.Error() + ")"
	case e.Signal != "":
		return "killed by signal " + e.Signal
	default:
		return fmt.Sprintf("exited %d", e.Code)
	}
}

// Unwrap lets errors.Is(err, context.DeadlineExceeded) see why the script was killed.
func (e *ExitError) Unwrap() error { return e.Cause }

// LastLines returns up to n last non-blank lines of stderr, trimmed, each capped, joined with
// "; " so the result stays on one line.
func (e *ExitError) LastLines(n int) string {
	return LastLines(e.Stderr, n)
}

// LastLines returns up to n last non-blank lines of out, trimmed and capped, joined with "; ".
func LastLines(out []byte, n int) string {
	var lines []string
	rest := bytes.TrimRight(out, " \t\r\n")
	for len(lines) < n && len(rest) > 0 {
		i := bytes.LastIndexByte(rest, '\n')
		line := strings.TrimSpace(string(rest[i+1:]))
		if i < 0 {
			rest = nil
		} else {
			rest = rest[:i]
		}
		if line == "" {
			continue
		}
		lines = append(lines, capLine(line))
	}
	for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	return strings.Join(lines, "; ")
}

func capLine(s string) string {
	if len(s) <= maxLine {
		return s
	}
	cut := maxLine
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Run runs script with /bin/sh -c in a new process group. env is added to the current
// environment (later entries win). When ctx ends before the script exits, the whole process group
// is killed with SIGKILL, so children such as `sleep` die with the shell. Background jobs that
// are still running when the shell exits normally are left alone: a fault may start one on
// purpose (and revert it later).
//
// stdout and stderr are the last 64 KiB and 16 KiB of the script's output. A non-zero exit, a
// signal or a kill by ctx is reported as *ExitError.
func Run(ctx context.Context, script string, env []string) (stdout, stderr []byte, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, &ExitError{Code: -1, Cause: err}
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// Negative pid: the process group Setpgid created, whose id is the shell's pid.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = waitDelay
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	// Scripts must not wait on the drill's terminal.
	cmd.Stdin = nil
	var out, errOut tailBuffer
	out.max, errOut.max = maxStdout, maxStderr
	cmd.Stdout, cmd.Stderr = &out, &errOut

	runErr := cmd.Run()
	stdout, stderr = out.Bytes(), errOut.Bytes()
	if runErr == nil {
		return stdout, stderr, nil
	}
	var exitErr *exec.ExitError
	switch {
	case errors.As(runErr, &exitErr):
		ee := &ExitError{Code: exitErr.ExitCode(), Stderr: stderr}
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			ee.Signal = strings.TrimPrefix(sigName(ws.Signal()), "SIG")
		}
		if ctx.Err() != nil && ee.Signal != "" {
			ee.Cause = ctx.Err()
		}
		return stdout, stderr, ee
	case errors.Is(runErr, exec.ErrWaitDelay):
		// The shell exited 0 but a background job kept the output pipes open; the script itself
		// succeeded.
		return stdout, stderr, nil
	default:
		// Could not start /bin/sh at all.
		return stdout, stderr, fmt.Errorf("start /bin/sh: %w", runErr)
	}
}

// sigName returns the conventional name of a signal ("SIGKILL"), falling back to its description.
func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	default:
		return s.String()
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	t.buf = append(t.buf, p...)
	// Trim only once the buffer is twice the cap so trimming stays amortised O(1) per byte.
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return n, nil
}

func (t *tailBuffer) Bytes() []byte {
	if len(t.buf) > t.max {
		return t.buf[len(t.buf)-t.max:]
	}
	return t.buf
}
