package shell_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/internal/shell"
	"github.com/drillhq/drill/internal/shell/shelltest"
)

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		script     string
		env        []string
		wantStdout string
		wantCode   int // 0: success expected
		wantErr    string
	}{
		{name: "ok", script: "echo hello", wantStdout: "hello\n"},
		{name: "env added", script: `echo "$DRILL_TEST_X"`, env: []string{"DRILL_TEST_X=42"}, wantStdout: "42\n"},
		{name: "exit code", script: "exit 3", wantCode: 3, wantErr: "exited 3"},
		{
			name:     "last stderr line",
			script:   "echo first >&2; echo '  boom: disk full  ' >&2; echo >&2; exit 1",
			wantCode: 1, wantErr: "exited 1: boom: disk full",
		},
		{name: "missing binary", script: "no-such-binary-drill", wantCode: 127, wantErr: "exited 127: "},
		{name: "killed by signal", script: "kill -TERM $$", wantCode: -1, wantErr: "killed by signal TERM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, _, err := shell.Run(t.Context(), tt.script, tt.env)
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if diff := cmp.Diff(tt.wantStdout, string(stdout)); diff != "" {
					t.Errorf("stdout (-want +got):\n%s", diff)
				}
				return
			}
			var ee *shell.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("Run error = %v (%T), want *ExitError", err, err)
			}
			if ee.Code != tt.wantCode {
				t.Errorf("Code = %d, want %d", ee.Code, tt.wantCode)
			}
			if !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want prefix %q", err, tt.wantErr)
			}
		})
	}
}

func TestRunKillsProcessGroupOnCancel(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pids")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type res struct{ err error }
	done := make(chan res, 1)
	go func() {
		_, _, err := shell.Run(ctx, shelltest.HangScript(pidFile), nil)
		done <- res{err}
	}()
	pids := shelltest.WaitPIDs(t, pidFile, 2, 10*time.Second)
	cancel()
	select {
	case r := <-done:
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("Run error = %v, want one wrapping context.Canceled", r.err)
		}
		if r.err != nil && !strings.HasPrefix(r.err.Error(), "killed (context canceled)") {
			t.Errorf("error text = %q", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of cancel")
	}
	shelltest.AssertGone(t, pids, 5*time.Second)
}

func TestRunAlreadyCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	dir := t.TempDir()
	_, _, err := shell.Run(ctx, "touch "+filepath.Join(dir, "ran"), nil)
	if !errors.Is(err, context.Canceled) || err.Error() != "not started (context canceled)" {
		t.Fatalf("error = %v, want not started (context canceled)", err)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*")); len(matches) != 0 {
		t.Errorf("script ran despite cancelled context: %v", matches)
	}
}

// A fault may start a background job on purpose; the job inherits the output pipes, and Run
// must still return once the shell itself has exited successfully.
func TestRunBackgroundJobDoesNotBlock(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	_, _, err := shell.Run(t.Context(), "sleep 30 & echo $! > "+pidFile, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("Run blocked %v on the background job", el)
	}
	pids := shelltest.WaitPIDs(t, pidFile, 1, 10*time.Second)
	for _, p := range pids {
		if !shelltest.Alive(p) {
			t.Errorf("background job %d was killed; a successful script's jobs must be left alone", p)
		}
	}
	shelltest.Kill(pids)
}

func TestLastLines(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 300)
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 1, ""},
		{"one\n", 1, "one"},
		{"a\nb\n\n  c  \n\n", 2, "b; c"},
		{"a\nb\nc", 5, "a; b; c"},
		{long, 1, strings.Repeat("é", 100) + "…"},
	}
	for _, tt := range tests {
		if got := shell.LastLines([]byte(tt.in), tt.n); got != tt.want {
			t.Errorf("LastLines(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestStderrIsCappedToTail(t *testing.T) {
	t.Parallel()
	// 100k lines of stderr, then the line that explains the failure.
	_, stderr, err := shell.Run(t.Context(), `i=0; while [ $i -lt 20000 ]; do echo "noise $i noise noise" >&2; i=$((i+1)); done; echo "the real cause" >&2; exit 4`, nil)
	var ee *shell.ExitError
	if !errors.As(err, &ee) || ee.Code != 4 {
		t.Fatalf("error = %v, want exit 4", err)
	}
	if len(stderr) > 16<<10 {
		t.Errorf("stderr kept %d bytes, want at most 16 KiB", len(stderr))
	}
	if got := ee.LastLines(1); got != "the real cause" {
		t.Errorf("last line = %q", got)
	}
}
