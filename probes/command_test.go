package probes

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drillhq/drill/internal/redact"
	"github.com/drillhq/drill/internal/shell/shelltest"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

func newCommand(t *testing.T, run string, timeout time.Duration) runner.Probe {
	t.Helper()
	typ := CommandType()
	cfg := typ.NewConfig().(*CommandConfig)
	cfg.Run = run
	p, err := typ.New(scenarios.ProbeSpec{Name: "cmd", Timeout: timeout, With: cfg}, runner.NewEnv(nil, nil))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func TestCommandProbe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		run     string
		wantErr string
	}{
		{name: "exit 0", run: "true"},
		{name: "exit 0 with stderr", run: "echo warning >&2"},
		{name: "exit 1", run: "false", wantErr: "exited 1"},
		{name: "exit code and last stderr line", run: "echo 'connecting...' >&2; echo '  pg_isready: no response  ' >&2; exit 2", wantErr: "exited 2: pg_isready: no response"},
		{name: "stdout is not the message", run: "echo lots of output; exit 3", wantErr: "exited 3"},
		{name: "command not found", run: "drill-no-such-command", wantErr: "exited 127: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := newCommand(t, tt.run, time.Second).Check(t.Context())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tt.wantErr == "":
			case err == nil:
				t.Fatalf("Check succeeded, want %q", tt.wantErr)
			case strings.HasSuffix(tt.wantErr, " ") && !strings.HasPrefix(err.Error(), tt.wantErr):
				t.Fatalf("Check error = %q, want prefix %q", err, tt.wantErr)
			case !strings.HasSuffix(tt.wantErr, " ") && err.Error() != tt.wantErr:
				t.Fatalf("Check error = %q, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestCommandProbeTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	p := newCommand(t, "echo about to hang >&2; sleep 30", timeout)
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Check(ctx) }()
	select {
	case err := <-errc:
		if err == nil || !strings.HasPrefix(err.Error(), "timed out after 200ms (killed)") {
			t.Fatalf("Check error = %v, want a timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a 30s sleep outlived its 200ms sample by more than 5s")
	}
}

// The whole process group dies with the sample, not just the shell.
func TestCommandProbeKillsProcessGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pids")
	p := newCommand(t, shelltest.HangScript(pidFile), time.Minute)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Check(ctx) }()
	pids := shelltest.WaitPIDs(t, pidFile, 2, 10*time.Second)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Check error = %v, want one wrapping context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Check did not return within 5s of cancel")
	}
	shelltest.AssertGone(t, pids, 5*time.Second)
}

// The stderr line in the error is capped at 200 characters; a token straddling the cap must be
// redacted before the cut, or its first half would survive the result's redaction.
func TestCommandProbeRedactsBeforeCap(t *testing.T) {
	t.Parallel()
	const tok = "tok-0123456789abcdefghij"
	typ := CommandType()
	cfg := typ.NewConfig().(*CommandConfig)
	cfg.Run = "echo " + strings.Repeat("y", 190) + tok + " >&2; exit 2"
	env := runner.NewEnv(&scenarios.Scenario{Secrets: redact.New(tok)}, nil)
	p, err := typ.New(scenarios.ProbeSpec{Name: "cmd", Timeout: time.Second, With: cfg}, env)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Check(t.Context())
	if err == nil || strings.Contains(err.Error(), tok[:6]) || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("Check error = %v, want the token redacted before the cap", err)
	}
}
