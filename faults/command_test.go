package faults

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/drillhq/drill/internal/redact"
	"github.com/drillhq/drill/internal/shell"
	"github.com/drillhq/drill/internal/shell/shelltest"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

func newFault(t *testing.T, env *runner.Env, set func(*CommandFaultConfig)) runner.Fault {
	t.Helper()
	typ := CommandFaultType()
	cfg := typ.NewConfig().(*CommandFaultConfig)
	set(cfg)
	if env == nil {
		env = runner.NewEnv(nil, nil)
	}
	f, err := typ.New(cfg, env)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

func newStep(t *testing.T, set func(*CommandStepConfig)) runner.Step {
	t.Helper()
	typ := CommandStepType()
	cfg := typ.NewConfig().(*CommandStepConfig)
	set(cfg)
	s, err := typ.New(cfg, runner.NewEnv(nil, nil))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

func TestCommandFaultInjectThenRevert(t *testing.T) {
	t.Parallel()
	log := filepath.Join(t.TempDir(), "log")
	f := newFault(t, nil, func(c *CommandFaultConfig) {
		c.Run = "echo inject >> " + log
		c.Revert = "echo revert >> " + log
	})
	inj, err := f.Inject(t.Context())
	if err != nil {
		t.Fatalf("Inject: %v", err)
	}
	if diff := cmp.Diff([]string{"inject"}, readLines(t, log)); diff != "" {
		t.Fatalf("after Inject (-want +got):\n%s", diff)
	}
	if len(inj.Targets) != 0 {
		t.Errorf("Targets = %q, want none: a command is not a target", inj.Targets)
	}
	if inj.Revert == nil {
		t.Fatal("Revert is nil with a revert command set")
	}
	// The runner reverts with a context Ctrl-C does not cancel.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := inj.Revert(context.WithoutCancel(ctx)); err != nil {
		t.Fatalf("Revert: %v", err)
	}
	if diff := cmp.Diff([]string{"inject", "revert"}, readLines(t, log)); diff != "" {
		t.Errorf("after Revert (-want +got):\n%s", diff)
	}
}

func TestCommandFaultWithoutRevert(t *testing.T) {
	t.Parallel()
	f := newFault(t, nil, func(c *CommandFaultConfig) { c.Run = "true" })
	inj, err := f.Inject(t.Context())
	if err != nil {
		t.Fatalf("Inject: %v", err)
	}
	if inj.Revert != nil {
		t.Error("Revert is set although no revert command was given")
	}
}

func TestCommandFaultErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		run        string
		revert     string
		wantInject string
		wantRevert string // "" = revert succeeds (when revert is set)
	}{
		{
			name:       "inject fails with stderr",
			run:        "echo starting >&2; echo 'iptables: Permission denied' >&2; exit 4",
			wantInject: `command "echo starting >&2; echo 'iptables: Permission denied' >&2; exit 4" exited 4: starting; iptables: Permission denied`,
		},
		{
			name:       "last three stderr lines",
			run:        "printf 'a\\nb\\nc\\nd\\n' >&2; exit 1",
			wantInject: `command "printf 'a\\nb\\nc\\nd\\n' >&2; exit 1" exited 1: b; c; d`,
		},
		{
			name:       "no stderr",
			run:        "exit 9",
			wantInject: `command "exit 9" exited 9`,
		},
		{
			name:       "revert fails",
			run:        "true",
			revert:     "echo 'cannot restore' >&2; exit 2",
			wantRevert: `command "echo 'cannot restore' >&2; exit 2" exited 2: cannot restore`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFault(t, nil, func(c *CommandFaultConfig) { c.Run, c.Revert = tt.run, tt.revert })
			inj, err := f.Inject(t.Context())
			if got := errString(err); got != tt.wantInject {
				t.Errorf("Inject error:\n got %s\nwant %s", got, tt.wantInject)
			}
			var ee *shell.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Errorf("Inject error does not unwrap to *shell.ExitError")
			}
			if tt.revert == "" {
				return
			}
			err = inj.Revert(t.Context())
			if got := errString(err); got != tt.wantRevert {
				t.Errorf("Revert error:\n got %s\nwant %s", got, tt.wantRevert)
			}
		})
	}
}

// A script that failed halfway may have changed something: the runner must still be able to
// revert it.
func TestCommandFaultFailedInjectStillReverts(t *testing.T) {
	t.Parallel()
	log := filepath.Join(t.TempDir(), "log")
	f := newFault(t, nil, func(c *CommandFaultConfig) {
		c.Run = "echo half >> " + log + "; exit 1"
		c.Revert = "echo revert >> " + log
	})
	inj, err := f.Inject(t.Context())
	if err == nil {
		t.Fatal("Inject succeeded, want exit 1")
	}
	if inj.Revert == nil {
		t.Fatal("no Revert after a failed injection")
	}
	if err := inj.Revert(t.Context()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"half", "revert"}, readLines(t, log)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCommandFaultTimeout(t *testing.T) {
	t.Parallel()
	f := newFault(t, nil, func(c *CommandFaultConfig) {
		c.Run = "sleep 30"
		c.Timeout = scenarios.Duration(200 * time.Millisecond)
	})
	errc := make(chan error, 1)
	go func() { _, err := f.Inject(t.Context()); errc <- err }()
	select {
	case err := <-errc:
		want := `command "sleep 30" timed out after 200ms (process group killed)`
		if got := errString(err); got != want {
			t.Errorf("Inject error:\n got %s\nwant %s", got, want)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error does not wrap context.DeadlineExceeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a 30s sleep with a 200ms timeout ran for more than 5s")
	}
}

// Ctrl-C during injection kills the whole process group, and the error says why.
func TestCommandKilledOnCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(ctx context.Context, script string) error
	}{
		{"fault", func(ctx context.Context, script string) error {
			_, err := newFault(t, nil, func(c *CommandFaultConfig) { c.Run = script }).Inject(ctx)
			return err
		}},
		{"fault revert", func(ctx context.Context, script string) error {
			inj, err := newFault(t, nil, func(c *CommandFaultConfig) { c.Run = "true"; c.Revert = script }).Inject(t.Context())
			if err != nil {
				return err
			}
			return inj.Revert(ctx)
		}},
		{"step", func(ctx context.Context, script string) error {
			return newStep(t, func(c *CommandStepConfig) { c.Run = script }).Run(ctx)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pidFile := filepath.Join(t.TempDir(), "pids")
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- tt.run(ctx, shelltest.HangScript(pidFile)) }()
			pids := shelltest.WaitPIDs(t, pidFile, 2, 10*time.Second)
			cancel()
			select {
			case err := <-errc:
				if !errors.Is(err, context.Canceled) || !strings.Contains(errString(err), "killed (context canceled)") {
					t.Errorf("error = %v, want the command killed by cancellation", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("did not return within 5s of cancel")
			}
			shelltest.AssertGone(t, pids, 5*time.Second)
		})
	}
}

func TestCommandStep(t *testing.T) {
	t.Parallel()
	log := filepath.Join(t.TempDir(), "log")
	if err := newStep(t, func(c *CommandStepConfig) { c.Run = "echo ran >> " + log }).Run(t.Context()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if diff := cmp.Diff([]string{"ran"}, readLines(t, log)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	err := newStep(t, func(c *CommandStepConfig) { c.Run = "echo nope >&2; exit 5" }).Run(t.Context())
	if want := `command "echo nope >&2; exit 5" exited 5: nope`; errString(err) != want {
		t.Errorf("Run error:\n got %s\nwant %s", errString(err), want)
	}
}

// stdout is not thrown away silently: it is logged at debug level for troubleshooting.
func TestCommandOutputLoggedAtDebug(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	env := runner.NewEnv(nil, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	f := newFault(t, env, func(c *CommandFaultConfig) { c.Run = "echo stopped-instance-i-123" })
	if _, err := f.Inject(t.Context()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "stopped-instance-i-123") {
		t.Errorf("debug log lacks the command's stdout:\n%s", out)
	}
}

func TestQuoteCapsLongScripts(t *testing.T) {
	t.Parallel()
	script := "for i in 1 2 3\ndo\n  : " + strings.Repeat("x", 200) + "\ndone"
	err := newStep(t, func(c *CommandStepConfig) { c.Run = script + "; exit 1" }).Run(t.Context())
	msg := errString(err)
	if strings.Contains(msg, "\n") || msg != `command "for i in 1 2 3 do : `+strings.Repeat("x", 80-len("for i in 1 2 3 do : "))+`"… exited 1` {
		t.Errorf("error = %q, want the script quoted on one line and capped", msg)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		step       bool
		with       string
		wantFields []string
		wantMsg    string
	}{
		{name: "fault ok", with: `{run: "systemctl stop api", revert: "systemctl start api", timeout: 30s}`},
		{name: "fault run only", with: `{run: "true"}`},
		{name: "fault missing run", with: `{revert: "true"}`, wantFields: []string{"run"}, wantMsg: "run: required"},
		{name: "fault blank run", with: `{run: "  "}`, wantFields: []string{"run"}},
		{name: "fault zero timeout", with: `{run: "true", timeout: 0s}`, wantFields: []string{"timeout"}, wantMsg: "must be positive"},
		{name: "step ok", step: true, with: `{run: "true", timeout: 5s}`},
		{name: "step with revert", step: true, with: `{run: "a", revert: "b"}`, wantFields: []string{"revert"}, wantMsg: "steps are not reverted"},
		{name: "step missing run", step: true, with: `{}`, wantFields: []string{"run"}},
		{name: "step all wrong", step: true, with: `{revert: b, timeout: 0s}`, wantFields: []string{"run", "revert", "timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var cfg any
			if tt.step {
				cfg = CommandStepType().NewConfig()
			} else {
				cfg = CommandFaultType().NewConfig()
			}
			dec := yaml.NewDecoder(strings.NewReader(tt.with))
			dec.KnownFields(true)
			if err := dec.Decode(cfg); err != nil {
				t.Fatalf("decode: %v", err)
			}
			err := cfg.(scenarios.Validator).Validate()
			var fields []string
			for _, fe := range scenarios.AsFieldErrors(err) {
				fields = append(fields, fe.Field)
			}
			if diff := cmp.Diff(tt.wantFields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s\nerror: %v", diff, err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if tt.wantFields == nil {
				// A valid config must also build.
				var buildErr error
				if tt.step {
					_, buildErr = CommandStepType().New(cfg, runner.NewEnv(nil, nil))
				} else {
					_, buildErr = CommandFaultType().New(cfg, runner.NewEnv(nil, nil))
				}
				if buildErr != nil {
					t.Errorf("New: %v", buildErr)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	for _, cfg := range []any{CommandFaultType().NewConfig(), CommandStepType().NewConfig()} {
		var timeout string
		for _, f := range runner.ConfigFields(cfg) {
			if f.Doc == "" {
				t.Errorf("%T.%s has no doc tag", cfg, f.Key)
			}
			if f.Key == "timeout" {
				timeout = f.Default
			}
		}
		if timeout != "1m0s" {
			t.Errorf("%T timeout default = %q, want 1m0s", cfg, timeout)
		}
	}
	if _, err := CommandFaultType().New(&CommandStepConfig{Run: "true"}, nil); err == nil {
		t.Error("fault accepted a step config")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A secret cut in half by the 80-character script quote or the 200-character stderr line cap
// would not be recognised when the result is redacted: the command types redact first.
func TestCommandErrorRedactedBeforeTruncation(t *testing.T) {
	t.Parallel()
	const tok = "tok-0123456789abcdefghij"
	env := runner.NewEnv(&scenarios.Scenario{Secrets: redact.New(tok)}, nil)
	for name, script := range map[string]string{
		// The token starts at character 70 of the script, so the quote cuts it.
		"script quote": ": " + strings.Repeat("q", 68) + tok + "; exit 3",
		// The token starts at character 190 of the stderr line, so the line cap cuts it.
		"stderr line": "echo " + strings.Repeat("y", 190) + "$T >&2; exit 3",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFault(t, env, func(c *CommandFaultConfig) { c.Run = "T=" + tok + "; " + script })
			if name == "script quote" {
				f = newFault(t, env, func(c *CommandFaultConfig) { c.Run = script })
			}
			_, err := f.Inject(t.Context())
			if err == nil {
				t.Fatal("Inject succeeded, want exit 3")
			}
			if msg := err.Error(); strings.Contains(msg, tok[:6]) || !strings.Contains(msg, "[REDACTED]") {
				t.Errorf("error leaks part of the token or lacks the marker: %s", msg)
			}
		})
	}
}

// TestCommandFaultDeclaresRevertTimeout: the loader rejects a command fault whose timeout is
// longer than limits.rollback, and the runner grants its revert that long, through this.
func TestCommandFaultDeclaresRevertTimeout(t *testing.T) {
	t.Parallel()
	cfg := CommandFaultType().NewConfig().(*CommandFaultConfig)
	cfg.Run, cfg.Revert = "stop", "start"
	rb, ok := any(cfg).(scenarios.RevertBounded)
	if !ok {
		t.Fatal("command fault config does not implement scenarios.RevertBounded")
	}
	if d, field := rb.RevertTimeout(); d != DefaultCommandTimeout || field != "timeout" {
		t.Errorf("RevertTimeout() = %v, %q; want %v, timeout", d, field, DefaultCommandTimeout)
	}
	cfg.Revert = ""
	if d, _ := rb.RevertTimeout(); d != 0 {
		t.Errorf("without a revert, RevertTimeout() = %v, want 0", d)
	}
}
