// Package faults holds the generic fault and step types every build has (docs/DESIGN.md §2).
package faults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/drillhq/drill/internal/shell"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// DefaultCommandTimeout bounds each run or revert of a command fault or step.
const DefaultCommandTimeout = time.Minute

// stderrLines is how much of a failed command's stderr goes into its error.
const stderrLines = 3

// CommandFaultConfig is the `with:` block of a command fault.
type CommandFaultConfig struct {
	Run     string             `yaml:"run" doc:"shell command that injects the fault, run with /bin/sh -c (required)"`
	Revert  string             `yaml:"revert" doc:"shell command that undoes it during rollback (and in 'drill recover' after a killed drill, so make it idempotent); empty: nothing to undo"`
	Timeout scenarios.Duration `yaml:"timeout" doc:"limit for run and for revert, each; the command's process group is killed after it"`
}

// Validate implements scenarios.Validator.
func (c *CommandFaultConfig) Validate() error {
	return errors.Join(validateRun(c.Run), validateTimeout(c.Timeout))
}

// RevertTimeout implements scenarios.RevertBounded: timeout bounds each revert attempt too.
func (c *CommandFaultConfig) RevertTimeout() (time.Duration, string) {
	if c.Revert == "" {
		return 0, ""
	}
	return c.Timeout.D(), "timeout"
}

// CommandStepConfig is the `with:` block of a command step. It has a revert key only to explain
// why it may not be used.
type CommandStepConfig struct {
	Run     string             `yaml:"run" doc:"shell command, run with /bin/sh -c (required)"`
	Revert  string             `yaml:"revert" doc:"not allowed: steps are not reverted (put the undo in a rollback step)"`
	Timeout scenarios.Duration `yaml:"timeout" doc:"limit for the command; its process group is killed after it"`
}

// Validate implements scenarios.Validator.
func (c *CommandStepConfig) Validate() error {
	var revert error
	if c.Revert != "" {
		revert = scenarios.FieldErrorf("revert", "steps are not reverted; put the undo in a rollback step, or make this a fault")
	}
	return errors.Join(validateRun(c.Run), revert, validateTimeout(c.Timeout))
}

func validateRun(run string) error {
	if strings.TrimSpace(run) == "" {
		return scenarios.FieldErrorf("run", "required: a shell command")
	}
	return nil
}

func validateTimeout(d scenarios.Duration) error {
	if d <= 0 {
		return scenarios.FieldErrorf("timeout", "must be positive (default %v)", DefaultCommandTimeout)
	}
	return nil
}

// CommandFaultType is the `command` fault: inject by running a shell command, revert by running
// another. The command is opaque, so the fault reports no targets and has no dry-run plan.
func CommandFaultType() runner.FaultType {
	return runner.NewFaultType("command", "Run a shell command to inject a fault, and another to revert it",
		func() *CommandFaultConfig {
			return &CommandFaultConfig{Timeout: scenarios.Duration(DefaultCommandTimeout)}
		},
		func(c *CommandFaultConfig, env *runner.Env) (runner.Fault, error) {
			return &commandFault{run: c.Run, revert: c.Revert, env: env, cmd: newCommander(env, c.Timeout.D())}, nil
		},
		runner.WithRecover(recoverCommand))
}

// commandRecord is what a command fault journals before running `run`: the revert script as
// the drill would have run it. ${VAR} values are already expanded into it, which is why the
// journal is private to the user (0600) and drill never prints a record. Shell variables the
// script reads at run time ($VAR without braces) come from the recovering process's environment.
type commandRecord struct {
	Revert    string `json:"revert"`
	Dir       string `json:"dir"` // the drill's working directory: relative paths in the script
	TimeoutMs int64  `json:"timeoutMs"`
}

// recoverCommand runs the journaled revert script. Whether running it twice is harmless is up to
// the script, as it already was for a revert retried by hand; the field doc asks for that.
func recoverCommand(ctx context.Context, env *runner.Env, rec *commandRecord) error {
	if rec.Revert == "" {
		return nil
	}
	script := rec.Revert
	if rec.Dir != "" {
		script = "cd -- " + shellQuote(rec.Dir) + " || exit 1\n" + script
	}
	c := newCommander(env, time.Duration(rec.TimeoutMs)*time.Millisecond)
	if err := c.execAs(ctx, script, "(journaled revert script, not shown)"); err != nil {
		return fmt.Errorf("run revert script: %w", err)
	}
	return nil
}

// shellQuote quotes s as one POSIX shell word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// CommandStepType is the `command` step for prepare, recovery and rollback.
func CommandStepType() runner.StepType {
	return runner.NewStepType("command", "Run a shell command",
		func() *CommandStepConfig {
			return &CommandStepConfig{Timeout: scenarios.Duration(DefaultCommandTimeout)}
		},
		func(c *CommandStepConfig, env *runner.Env) (runner.Step, error) {
			return &commandStep{run: c.Run, cmd: newCommander(env, c.Timeout.D())}, nil
		})
}

type commandFault struct {
	run, revert string
	env         *runner.Env
	cmd         commander
}

// Inject runs `run`. The revert is returned even when run fails: a script that failed halfway
// may have changed something, and the runner reverts partial injections.
func (f *commandFault) Inject(ctx context.Context) (runner.Injection, error) {
	var inj runner.Injection
	if f.revert != "" {
		dir, err := os.Getwd()
		if err != nil {
			return inj, fmt.Errorf("journal revert: working directory: %w", err)
		}
		rec := commandRecord{Revert: f.revert, Dir: dir, TimeoutMs: f.cmd.timeout.Milliseconds()}
		if err := f.env.Journal(ctx, nil, rec); err != nil {
			return inj, err
		}
		inj.Revert = func(ctx context.Context) error { return f.cmd.exec(ctx, f.revert) }
	}
	return inj, f.cmd.exec(ctx, f.run)
}

type commandStep struct {
	run string
	cmd commander
}

func (s *commandStep) Run(ctx context.Context) error { return s.cmd.exec(ctx, s.run) }

// commander runs one script with a timeout and logs its output.
type commander struct {
	log     *slog.Logger
	timeout time.Duration
	redact  func(string) string
}

func newCommander(env *runner.Env, timeout time.Duration) commander {
	log := slog.New(slog.DiscardHandler)
	if env != nil && env.Log != nil {
		log = env.Log
	}
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	return commander{log: log, timeout: timeout, redact: env.Redact}
}

func (c commander) exec(parent context.Context, script string) error {
	return c.execAs(parent, script, "")
}

// execAs runs script; a non-empty label stands for the script in errors and logs, for scripts
// that may hold expanded secrets and come from the journal rather than the user's scenario.
func (c commander) execAs(parent context.Context, script, label string) error {
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()
	// Whether a deadline kill is ours (timeout:) or the caller's (e.g. the drill's time limit).
	dl, hasDL := parent.Deadline()
	ownDeadline := !hasDL || dl.After(time.Now().Add(c.timeout))
	start := time.Now()
	stdout, stderr, err := shell.Run(ctx, script, nil)
	logged := script
	if label != "" {
		logged = label
	}
	c.log.DebugContext(ctx, "command finished", "run", logged, "elapsed", time.Since(start),
		"err", err, "stdout", string(stdout), "stderr", string(stderr))
	if err == nil {
		return nil
	}
	// The script and its stderr are redacted before quote and LastLines shorten them: a secret
	// cut at the cap would no longer be recognised later.
	shown := quote(c.redact(script))
	if label != "" {
		shown = label
	}
	var ee *shell.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("command %s: %w", shown, err)
	}
	ee.Stderr = []byte(c.redact(string(ee.Stderr)))
	what := ee.Reason()
	if ownDeadline && ee.Signal != "" && errors.Is(ee.Cause, context.DeadlineExceeded) {
		what = fmt.Sprintf("timed out after %v (process group killed)", c.timeout)
	}
	if tail := ee.LastLines(stderrLines); tail != "" {
		what += ": " + tail
	}
	return &commandError{msg: "command " + shown + " " + what, err: ee}
}

// commandError keeps errors.As(err, **shell.ExitError) and errors.Is(err, context.Canceled)
// working under a message that already says everything the ExitError would.
type commandError struct {
	msg string
	err error
}

func (e *commandError) Error() string { return e.msg }
func (e *commandError) Unwrap() error { return e.err }

// quote shows a script in an error: quoted, on one line, and capped so a long heredoc does not
// swamp the message.
func quote(script string) string {
	const max = 80
	s := strings.Join(strings.Fields(script), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		return fmt.Sprintf("%q…", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}
