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
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/runner"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// commit is the VCS revision, set with -ldflags "-X main.commit=..." (make build does); the
// build info's own VCS stamp is used when it is empty.
var commit = ""

// app is what every verb shares: output streams, logger, the type registry and the signals.
type app struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	log            *slog.Logger
	// logLevel is the level of log; nil in tests that discard logs. Set by -v / --log-level.
	logLevel *slog.LevelVar
	// interrupts delivers SIGINT, SIGTERM, SIGHUP and SIGQUIT to a verb that has claimed them
	// (see signals.claim); until then execute handles them by cancelling the verb.
	interrupts <-chan os.Signal
	getenv     func(string) string
	signals    *signalClaim // set by execute
}

// signalClaim hands the signals from execute to a verb. Until a verb claims them, the first
// signal cancels the verb's context and execute returns after interruptGrace even if the verb
// is stuck (reading a FIFO): nothing has been changed yet, so abandoning it is safe. A verb
// that is about to change something (run before injecting, lab up before starting processes)
// claims them first and then gets every signal on app.interrupts, and execute waits for it
// however long its rollback or cleanup takes.
type signalClaim struct {
	mu       sync.Mutex
	claimed  bool
	stopping bool
}

// claim reports whether the verb now owns the signals; false means a signal already stopped
// the verb, which must then change nothing.
func (c *signalClaim) claim() bool {
	if c == nil {
		return true // not run through execute (a test calling a verb directly)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stopping {
		c.claimed = true
	}
	return c.claimed
}

// stop reports whether execute should stop the verb for a signal: false once it is claimed.
func (c *signalClaim) stop() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.claimed {
		c.stopping = true
	}
	return c.stopping
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
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	a := &app{
		stdout:     os.Stdout,
		stderr:     os.Stderr,
		stdin:      os.Stdin,
		log:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		logLevel:   level,
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

// interruptGrace is how long a verb other than run may take to return once its context is
// cancelled; one blocked where a context cannot reach (reading a FIFO) is abandoned then.
const interruptGrace = 2 * time.Second

// execute runs the CLI and maps every outcome to an exit code. Signals stop the verb, or
// reach it once it has claimed them (see signalClaim).
func execute(ctx context.Context, a *app, args []string) int {
	src := a.interrupts
	relay := make(chan os.Signal, 4)
	a.interrupts, a.signals = relay, &signalClaim{}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	var sig os.Signal
	for sig == nil {
		select {
		case err := <-done:
			return exitCode(a, err)
		case s := <-src:
			if !a.signals.stop() {
				// Claimed: the verb decides (run refuses a second signal during rollback).
				// A full relay already holds signals the verb has not read; one more adds
				// nothing.
				select {
				case relay <- s:
				default:
				}
				continue
			}
			sig = s
		}
	}
	cancel(fmt.Errorf("interrupted by %v", sig))
	grace := time.NewTimer(interruptGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
	case <-src:
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

// setLogLevel applies -v / --log-level. Logs (SDK retries, lab processes, probe errors) go to
// stderr and never mix with results on stdout.
func (a *app) setLogLevel(verbose int, name string) error {
	level := slog.LevelWarn
	switch {
	case name != "":
		if err := level.UnmarshalText([]byte(name)); err != nil {
			return usageErrorf("--log-level must be debug, info, warn or error, not %q", name)
		}
	case verbose == 1:
		level = slog.LevelInfo
	case verbose >= 2:
		level = slog.LevelDebug
	}
	if a.logLevel != nil {
		a.logLevel.Set(level)
	}
	return nil
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
	var verbose int
	var logLevel string
	root.PersistentFlags().CountVarP(&verbose, "verbose", "v", "log more to stderr: -v info, -vv debug (default: warnings only)")
	root.PersistentFlags().StringVar(&logLevel, "log-level", "", "log level on stderr: debug, info, warn or error (overrides -v)")
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		return a.setLogLevel(verbose, logLevel)
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v (see 'drill %s --help')", err, c.Name())
	})
	for _, c := range subcommands(a) {
		root.AddCommand(c)
	}
	completeArgs(a, root)
	return root
}
