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
	"time"

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
	// interrupts delivers SIGINT, SIGTERM, SIGHUP and SIGQUIT. The run verb reads it itself,
	// to cancel the drill while keeping rollback alive; for every other verb execute cancels
	// the verb's context.
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
	// SIGHUP (an SSH session dropped mid-drill) and SIGQUIT (Ctrl-\) killed drill with faults
	// in place: every signal a user or a session can send asks for rollback.
	signal.Notify(sigs, stopSignals()...)
	// A write to a closed stdout or stderr (drill run | head) raises SIGPIPE, which kills a Go
	// program writing on fd 1 or 2 unless SIGPIPE is notified (os/signal, "SIGPIPE"): the
	// write then fails with EPIPE, and drill treats console write errors as non-fatal.
	// Notify, not Ignore: an ignored signal stays ignored in the commands drill runs (faults,
	// steps), while a notified one is reset to the default for them.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
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

// stopSignals are the signals that stop drill: the run verb rolls back on the first, and every
// other verb stops.
func stopSignals() []os.Signal {
	return []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}
}

// ownsInterrupts marks a verb that reads app.interrupts itself (run): execute leaves signals
// to it instead of cancelling its context.
const ownsInterrupts = "drill.ownsInterrupts"

// interruptGrace is how long a verb other than run may take to return once its context is
// cancelled; one blocked where a context cannot reach (reading a FIFO) is abandoned then.
const interruptGrace = 2 * time.Second

// execute runs the CLI and maps every outcome to an exit code.
func execute(ctx context.Context, a *app, args []string) int {
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	if c, _, err := root.Find(args); err == nil && c.Annotations[ownsInterrupts] != "" {
		return exitCode(a, root.ExecuteContext(ctx))
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	var sig os.Signal
	select {
	case err := <-done:
		return exitCode(a, err)
	case sig = <-a.interrupts:
	}
	cancel(fmt.Errorf("interrupted by %v", sig))
	grace := time.NewTimer(interruptGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
	case <-a.interrupts:
	}
	// The verb's own error after a cancel ("context canceled") would only repeat this.
	fmt.Fprintf(a.stderr, "drill: interrupted by %v; stopped\n", sig)
	return result.ExitError
}

// exitCode prints err, if any, and maps it to an exit code.
func exitCode(a *app, err error) int {
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
	return root
}
