// Command drill runs disaster-recovery drills: it injects real failures, measures RTO and RPO,
// always rolls back, and reports a verdict (see README.md and DESIGN.md).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/runner"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// app is what every verb shares: output streams, logger, the type registry and the signals.
type app struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	log            *slog.Logger
	// interrupts delivers SIGINT/SIGTERM; the run verb uses it to cancel the drill while
	// keeping rollback alive.
	interrupts <-chan os.Signal
	getenv     func(string) string
}

// exitError carries an exit code up to main without printing a stack trace.
type exitError struct {
	code int
	msg  string // printed to stderr when non-empty
}

func (e *exitError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: result.ExitUsage, msg: fmt.Sprintf(format, args...)}
}

func main() {
	runner.TuneGC(os.Getenv)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	a := &app{
		stdout:     os.Stdout,
		stderr:     os.Stderr,
		stdin:      os.Stdin,
		log:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		interrupts: sigs,
		getenv:     os.Getenv,
	}
	os.Exit(execute(context.Background(), a, os.Args[1:]))
}

// execute runs the CLI and maps every outcome to an exit code.
func execute(ctx context.Context, a *app, args []string) int {
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(a.stderr, "drill: "+ee.msg)
		}
		return ee.code
	}
	// Anything else cobra returns is a usage problem: bad flag, unknown verb, wrong arg count.
	fmt.Fprintln(a.stderr, "drill: "+err.Error())
	fmt.Fprintln(a.stderr, "Run 'drill --help' for usage.")
	return result.ExitUsage
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "drill",
		Short: "Run disaster-recovery drills and measure RTO and RPO",
		Long: `drill proves disaster-recovery readiness. A scenario (YAML) names the failure to inject,
the probes that watch the service and the RTO/RPO objectives. drill checks steady state,
injects the faults, runs the recovery steps, measures how long the service took to come
back (RTO) and how much acknowledged data was lost (RPO), always rolls the faults back,
and reports a verdict on the console, as JSON and as JUnit XML.

Exit codes: 0 pass, 1 an objective was missed, 2 invalid input (nothing ran),
3 error or aborted (not in steady state, injection or rollback failed, interrupted).`,
		Example: `  drill validate scenarios/library/*/*.yaml
  drill run scenarios/library/etcd/follower-loss.yaml --json out.json --junit junit.xml
  drill lab up --members 3
  drill list`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetVersionTemplate("drill {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v (see 'drill %s --help')", err, c.Name())
	})
	for _, c := range subcommands(a) {
		root.AddCommand(c)
	}
	completeArgs(a, root)
	return root
}
