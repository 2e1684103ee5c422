package probes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drillhq/drill/internal/shell"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// CommandConfig is the `with:` block of a command probe.
type CommandConfig struct {
	Run string `yaml:"run" doc:"shell command run with /bin/sh -c; healthy on exit 0 (required)"`
}

// Validate implements scenarios.Validator.
func (c *CommandConfig) Validate() error {
	if strings.TrimSpace(c.Run) == "" {
		return scenarios.FieldErrorf("run", "required: a shell command")
	}
	return nil
}

// CommandType is the `command` probe: healthy when a shell command exits 0. The command's whole
// process group is killed when the sample's timeout ends, so a hung command cannot pile up.
func CommandType() runner.ProbeType {
	return runner.NewProbeType("command", "Shell command; healthy on exit 0",
		func() *CommandConfig { return &CommandConfig{} },
		func(cfg *CommandConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			return &commandProbe{run: cfg.Run, timeout: spec.Timeout, redact: env.Redact}, nil
		})
}

type commandProbe struct {
	run     string
	timeout time.Duration
	redact  func(string) string
}

// Check runs the command once. Errors read "exited 2: <last stderr line>".
func (p *commandProbe) Check(ctx context.Context) error {
	_, _, err := shell.Run(ctx, p.run, nil)
	if err == nil {
		return nil
	}
	var ee *shell.ExitError
	if errors.As(err, &ee) && p.redact != nil {
		// Before the error cuts stderr to a capped line, in which half a secret would survive.
		ee.Stderr = []byte(p.redact(string(ee.Stderr)))
	}
	if ee != nil && errors.Is(err, context.DeadlineExceeded) && p.timeout > 0 {
		msg := fmt.Sprintf("timed out after %v (killed)", p.timeout)
		if l := ee.LastLines(1); l != "" {
			msg += ": " + l
		}
		return errors.New(msg)
	}
	return err
}
