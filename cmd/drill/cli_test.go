package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runCLI executes the CLI in-process and returns exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	hist := filepath.Join(t.TempDir(), "history.db")
	getenv := func(k string) string {
		if k == "DRILL_HISTORY" {
			return hist // never the developer's real history
		}
		return os.Getenv(k)
	}
	a := &app{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), log: discardLogger(), getenv: getenv}
	code := execute(context.Background(), a, args)
	return code, out.String(), errb.String()
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// positioned matches "file:line:col: message".
var positioned = regexp.MustCompile(`^[^:\s]+:\d+:\d+: \S`)

func TestBadInputExitsTwoWithPositionedMessage(t *testing.T) {
	t.Parallel()
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# padding line\n"), 10<<20/15), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) < 11 {
		t.Fatalf("bad inputs missing: %v %v", files, err)
	}
	cases := append(files, big, "testdata", "testdata/does-not-exist.yaml")
	for _, verb := range []string{"validate", "run"} {
		for _, f := range cases {
			t.Run(verb+"/"+filepath.Base(f), func(t *testing.T) {
				t.Parallel()
				code, stdout, stderr := runCLI(t, verb, f)
				if code != 2 {
					t.Fatalf("exit %d, want 2\nstderr: %s", code, stderr)
				}
				if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
					t.Fatalf("stack trace on bad input:\n%s", stderr)
				}
				lines := strings.Split(strings.TrimSpace(stderr), "\n")
				if !positioned.MatchString(lines[0]) || !strings.HasPrefix(lines[0], f) {
					t.Errorf("first line %q is not a positioned message about %s", lines[0], f)
				}
				if last := lines[len(lines)-1]; !strings.Contains(last, "nothing was run") {
					t.Errorf("last line %q should say nothing was run", last)
				}
				if stdout != "" {
					t.Errorf("stdout not empty on bad input: %q", stdout)
				}
			})
		}
	}
}

func TestBadInputMessages(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"malformed.yaml":                    "invalid YAML",
		"tabs.yaml":                         "tab character",
		"wrong-types.yaml":                  "want a duration like 1.5s, got a list",
		"negative-duration.yaml":            "must not be negative",
		"missing-rto.yaml":                  "objectives.rto: is required",
		"duplicate-names.yaml":              `duplicate name "x"`,
		"zero-interval.yaml":                "probes[0].interval: must be at least 1ms",
		"nanosecond-interval.yaml":          "6:37: probes[0].interval: must be at least 1ms, got 1ns",
		"revert-timeout-over-rollback.yaml": "10:51: faults[0].with.timeout: revert time limit 10m exceeds limits.rollback (2m)",
		"timeout-shorter-than-observe.yaml": "must be longer than limits.observe",
		"empty.yaml":                        "file is empty",
		"unknown-key.yaml":                  `did you mean "timeout"`,
		"unknown-type.yaml":                 `unknown step type "restart-everything" (known step types: `,
	}
	for file, want := range tests {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			_, _, stderr := runCLI(t, "validate", "testdata/bad/"+file)
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr %q does not contain %q", stderr, want)
			}
		})
	}
}

func TestValidateShippedScenarios(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../../scenarios/library/local/*.yaml")
	if len(files) == 0 {
		t.Fatal("no shipped local scenarios")
	}
	code, stdout, stderr := runCLI(t, append([]string{"validate"}, files...)...)
	if code != 0 || strings.Count(stdout, "ok  ") != len(files) {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"run"},
		{"run", "--no-such-flag", "x.yaml"},
		{"no-such-verb"},
		{"list", "--kind", "bogus"},
		{"list", "no-such-type"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != 2 || strings.Contains(stderr, "goroutine ") || stderr == "" {
			t.Errorf("drill %v: exit %d stderr %q, want 2 with a message", args, code, stderr)
		}
	}
}

func TestListShowsTypesAndFields(t *testing.T) {
	t.Parallel()
	code, stdout, _ := runCLI(t, "list")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"FAULTS", "STEPS", "PROBES", "command", "http", "tcp", "expectStatus", "address", "revert"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("drill list output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestHelpHasExamples(t *testing.T) {
	t.Parallel()
	for _, verb := range []string{"run", "validate", "list", "version"} {
		code, stdout, _ := runCLI(t, verb, "--help")
		if code != 0 || !strings.Contains(stdout, "Examples:") {
			t.Errorf("drill %s --help: exit %d, lacks Examples:\n%s", verb, code, stdout)
		}
	}
}

func TestDryRunInjectsNothing(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "injected")
	scn := filepath.Join(t.TempDir(), "dry.yaml")
	err := os.WriteFile(scn, []byte(`version: 1
name: dry
system: s
objectives: { rto: 1s }
probes:
  - { name: p, type: command, interval: 100ms, with: { run: "true" } }
faults:
  - { name: f, type: command, with: { run: "touch `+marker+`" } }
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "run", "--dry-run", "-q", scn)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("--dry-run ran the fault")
	}
	if !strings.Contains(stdout, "plan for dry") || !strings.Contains(stdout, "nothing was injected") {
		t.Errorf("plan not printed:\n%s", stdout)
	}
}

func TestLogLevelFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want slog.Level
		code int
	}{
		{args: nil, want: slog.LevelWarn},
		{args: []string{"-v"}, want: slog.LevelInfo},
		{args: []string{"-vv"}, want: slog.LevelDebug},
		{args: []string{"--log-level", "error"}, want: slog.LevelError},
		{args: []string{"-vv", "--log-level", "warn"}, want: slog.LevelWarn},
		{args: []string{"--log-level", "loud"}, want: slog.LevelWarn, code: 2},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			level := new(slog.LevelVar)
			level.Set(slog.LevelWarn)
			var out, errb bytes.Buffer
			a := &app{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), log: discardLogger(), logLevel: level, getenv: func(string) string { return "" }}
			code := execute(context.Background(), a, append(tt.args, "version"))
			if code != tt.code || level.Level() != tt.want {
				t.Errorf("exit %d level %v, want exit %d level %v (stderr %q)", code, level.Level(), tt.code, tt.want, errb.String())
			}
		})
	}
}
