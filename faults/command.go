// Package faults holds the generic fault and step types every build has (docs/DESIGN.md §2).
package faults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	Revert  string             `yaml:"revert" doc:"shell command that undoes it during rollback; empty: nothing to undo"`
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
	return runner.NewFaultType("command", "run a shell command to inject a fault, and another to revert it",
		func() *CommandFaultConfig {
			return &CommandFaultConfig{Timeout: scenarios.Duration(DefaultCommandTimeout)}
		},
		func(c *CommandFaultConfig, env *runner.Env) (runner.Fault, error) {
			return &commandFault{run: c.Run, revert: c.Revert, cmd: newCommander(env, c.Timeout.D())}, nil
		})
}

// CommandStepType is the `command` step for prepare, recovery and rollback.
func CommandStepType() runner.StepType {
	return runner.NewStepType("command", "run a shell command",
		func() *CommandStepConfig {
			return &CommandStepConfig{Timeout: scenarios.Duration(DefaultCommandTimeout)}
		},
		func(c *CommandStepConfig, env *runner.Env) (runner.Step, error) {
			return &commandStep{run: c.Run, cmd: newCommander(env, c.Timeout.D())}, nil
		})
}

type commandFault struct {
	run, revert string
	cmd         commander
}

// Inject runs `run`. The revert is returned even when run fails: a script that failed halfway
// may have changed something, and the runner reverts partial injections.
func (f *commandFault) Inject(ctx context.Context) (runner.Injection, error) {
	var inj runner.Injection
	if f.revert != "" {
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
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()
	// Whether a deadline kill is ours (timeout:) or the caller's (e.g. the drill's time limit).
	dl, hasDL := parent.Deadline()
	ownDeadline := !hasDL || dl.After(time.Now().Add(c.timeout))
	start := time.Now()
	stdout, stderr, err := shell.Run(ctx, script, nil)
	c.log.DebugContext(ctx, "command finished", "run", script, "elapsed", time.Since(start),
		"err", err, "stdout", string(stdout), "stderr", string(stderr))
	if err == nil {
		return nil
	}
	// The script and its stderr are redacted before quote and LastLines shorten them: a secret
	// cut at the cap would no longer be recognised later.
	script = c.redact(script)
	var ee *shell.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("command %s: %w", quote(script), err)
	}
	ee.Stderr = []byte(c.redact(string(ee.Stderr)))
	what := ee.Reason()
	if ownDeadline && ee.Signal != "" && errors.Is(ee.Cause, context.DeadlineExceeded) {
		what = fmt.Sprintf("timed out after %v (process group killed)", c.timeout)
	}
	if tail := ee.LastLines(stderrLines); tail != "" {
		what += ": " + tail
	}
	return &commandError{msg: "command " + quote(script) + " " + what, err: ee}
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
