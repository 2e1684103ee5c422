package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/internal/english"
	"github.com/drillhq/drill/internal/textwrap"
	"github.com/drillhq/drill/journal"
	"github.com/drillhq/drill/reporters"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
	"github.com/drillhq/drill/suite"
)

type runFlags struct {
	jsonPath  string
	junitPath string
	dryRun    bool
	quiet     bool
	history   string
	noHistory bool
	suite     string
	dueOnly   bool
	force     bool
	yes       bool
	dynamo    string // --dynamodb-table; "" = not configured
	dynamoURL string // --dynamodb-endpoint; "" = the scenario's emulator, else $AWS_ENDPOINT_URL
	keepLab   bool
	etcdBin   string
	labFsync  bool
	// who and where, recorded in every result
	operator     string
	environment  string
	participants []string
	ticket       string
	samples      string // --samples FILE: raw samples as JSON lines
}

func newRunCmd(a *app) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run SCENARIO.yaml...",
		Short: "Run drills: inject faults, measure RTO and RPO, roll back, report",
		Long: `Run executes each scenario in turn: steady-state check, probes start, faults are
injected (t0), recovery steps run, probes time the recovery, every fault is rolled back,
data probes are read back for RPO, and a verdict is given.

Progress goes to stderr; the summary table goes to stdout. Every file is validated, and
the --json/--junit paths and the history store are checked, before anything runs.
Ctrl-C, SIGTERM, SIGHUP and SIGQUIT stop the drill and roll back: a second signal is
refused until every fault has been reverted. A closed stdout or stderr does not stop it.

Each fault is journaled (fsync'd) before it changes anything; if drill is killed, 'drill
recover' reverts what it left. A scenario whose system has unreverted journal entries is
refused until 'drill recover' (or --force). One drill per system at a time on a host: a
second exits 3 naming the first (host, pid, run id).

Exit code: 0 all passed, 1 an objective was missed, 2 invalid input (nothing ran),
3 error or aborted. With several scenarios the worst code wins.`,
		Example: `  drill run scenarios/library/etcd/follower-loss.yaml
  drill run --json result.json --junit junit.xml scenarios/library/local/*.yaml
  drill run --dry-run scenarios/library/local/web-outage.yaml
  drill run --suite examples/suites/lab.yaml --due-only --junit junit.xml
  drill run --environment production --ticket CHG-1042 --participant "A. Ops" --participant "B. DBA" scenarios/library/etcd/follower-loss.yaml`,
		Args: func(cmd *cobra.Command, args []string) error {
			if f.suite == "" && len(args) == 0 {
				return usageErrorf("name at least one scenario file, or --suite FILE (see 'drill run --help')")
			}
			if f.dueOnly && f.suite == "" {
				return usageErrorf("--due-only needs --suite FILE: due is judged against a suite's cadences")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			paths, err := suitePaths(cmd, a, f)
			if err != nil {
				return err
			}
			if f.suite != "" && len(paths) == 0 {
				fmt.Fprintln(a.stderr, "drill: nothing is due in this suite; no drill was run")
				return nil
			}
			return runScenarios(cmd, a, f, append(paths, args...))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.jsonPath, "json", "", "write the drill.result/v1 JSON to `FILE` (an array for several scenarios)")
	fl.StringVar(&f.junitPath, "junit", "", "write JUnit XML to `FILE` (one testsuite per scenario)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "validate, connect and resolve fault targets, print the plan; inject nothing")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no live progress on stderr")
	fl.StringVar(&f.history, "history", "", "history store `PATH` every run is appended to (default $DRILL_HISTORY or ~/.local/state/drill/history.db)")
	fl.BoolVar(&f.noHistory, "no-history", false, "do not append the results to the history store")
	fl.StringVar(&f.suite, "suite", "", "run the scenarios a suite `FILE` lists, in order, with one combined JSON/JUnit output")
	fl.BoolVar(&f.yes, "yes", false, "allow running against a real AWS account that environment.aws.allowAccounts does not list")
	fl.StringVar(&f.dynamo, "dynamodb-table", "", "also write each result to this DynamoDB `TABLE` (e.g. DRTestResults); spooled locally if unreachable")
	fl.StringVar(&f.dynamoURL, "dynamodb-endpoint", "", "DynamoDB endpoint `URL` for --dynamodb-table (default the scenario's emulator endpoint, else $AWS_ENDPOINT_URL, else real AWS)")
	fl.BoolVar(&f.keepLab, "keep-lab", false, "leave a scenario's etcd or postgres lab running afterwards (for inspection; 'drill lab down [--postgres] --dir DIR' removes it)")
	fl.StringVar(&f.etcdBin, "etcd-binary", "", "etcd server `PATH` for lab clusters (default $DRILL_ETCD_BINARY, ./bin/etcd, PATH)")
	fl.BoolVar(&f.labFsync, "lab-fsync", false, "lab members fsync like production (off by default: lab faults are process failures)")
	fl.BoolVar(&f.force, "force", false, "run even though a killed drill left unreverted faults on the same system (see 'drill recover --list')")
	fl.StringVar(&f.operator, "operator", "", "who runs the drill, recorded in the result (default: the OS user)")
	fl.StringVar(&f.environment, "environment", "", "environment `LABEL` recorded in the result, e.g. production or staging")
	fl.StringArrayVar(&f.participants, "participant", nil, "a `NAME` present at the drill (repeat for each)")
	fl.StringVar(&f.ticket, "ticket", "", "change `TICKET` that authorises the drill, e.g. CHG-1042")
	fl.StringVar(&f.samples, "samples", "", "stream every raw probe sample to `FILE` as JSON lines (mode 0600; a write error only warns)")
	fl.BoolVar(&f.dueOnly, "due-only", false, "with --suite: run only drills that are overdue or never passed (for cron/CI schedules)")
	return cmd
}

// suitePaths expands --suite (and --due-only) into scenario files, in suite order.
func suitePaths(cmd *cobra.Command, a *app, f runFlags) ([]string, error) {
	if f.suite == "" {
		return nil, nil
	}
	s, err := loadSuite(a, f.suite)
	if err != nil {
		return nil, err
	}
	entries := s.Entries
	if f.dueOnly {
		st, err := openHistoryReadOnly(a, f.history)
		if err != nil {
			return nil, err
		}
		entries, err = suite.SelectDue(cmd.Context(), time.Now(), s.Entries, st)
		st.Close()
		if err != nil {
			return nil, &exitError{code: result.ExitError, msg: fmt.Sprintf("select due drills: %v", err)}
		}
	}
	var paths []string
	for _, e := range entries {
		paths = append(paths, e.Path)
	}
	return paths, nil
}

func runScenarios(cmd *cobra.Command, a *app, f runFlags, paths []string) error {
	reg := newRegistry(a, registryOptions{
		aws:  awsOptions{yes: f.yes},
		etcd: etcdOptions{keepLab: f.keepLab, etcdBinary: f.etcdBin, labFsync: f.labFsync},
		sql:  sqlOptions{keepLab: f.keepLab},
	})
	ss, err := loadAll(a, reg, paths)
	if err != nil {
		return err
	}
	var obs runner.Observer
	var progress *reporters.Progress
	if !f.quiet {
		// Colour only where a person reads it, and never against NO_COLOR (no-color.org).
		progress = reporters.NewProgress(a.stderr, isTerminal(a.stderr), reporters.WithColor(a.getenv("NO_COLOR") == ""))
		obs = progress
	}
	// Everything a result is saved to is checked before anything is injected: found after the
	// drill, a bad path or a corrupt store would lose the evidence of a drill that really ran.
	if err := checkOutputPaths(f); err != nil {
		return err
	}
	var sink history.Sink
	if !f.dryRun && !f.noHistory {
		for _, s := range ss {
			if s.Source == nil {
				fmt.Fprintf(a.stderr, "drill: warning: %s holds, written out, the value of a secret it takes from the environment: its text is not kept in history, and evidence bundles will lack it\n", s.File)
			}
		}
		p, err := historyPath(a, f.history)
		if err != nil {
			return err
		}
		if err := history.Check(p); err != nil {
			return &exitError{code: result.ExitError, msg: fmt.Sprintf("history store %s unusable, nothing was run: %v (move the file aside, or run with --no-history)", p, err)}
		}
		// The sink opens, appends and closes per result so other drill commands can read the
		// store while a long drill runs.
		sink = history.FileSink(p)
	}
	samples, err := openSamples(f.samples)
	if err != nil {
		return err
	}
	if samples != nil {
		defer func() {
			if err := samples.Close(); err != nil {
				fmt.Fprintf(a.stderr, "drill: warning: --samples %s: %v\n", f.samples, err)
			}
		}()
	}
	var guard *systemGuard
	if !f.dryRun {
		if guard, err = guardSystems(cmd.Context(), a, f, ss); err != nil {
			return err
		}
		defer guard.release()
	}
	// From here on a signal must roll back, not abandon the verb.
	if !a.signals.claim() {
		return &exitError{code: result.ExitError, msg: "interrupted before anything was injected"}
	}
	var results []*result.Result
	for i, s := range ss {
		opts := runner.Options{
			Registry:    reg,
			Observer:    obs,
			Log:         a.log,
			DryRun:      f.dryRun,
			ToolVersion: toolVersion(),
			Provenance:  provenance(a, f),
			Interrupts:  a.interrupts,
			Samples:     samplesWriter(samples),
		}
		var jw *journal.Writer
		if guard != nil {
			if jw, err = guard.begin(s, &opts); err != nil {
				return err
			}
		}
		// res is already redacted (runner.Run's last act): every sink below takes this value,
		// never the scenario, so none of them can print a secret. The history also keeps the
		// scenario's Source, which Parse leaves nil when it holds a secret value.
		res := runner.Run(cmd.Context(), s, opts)
		if jw != nil {
			guard.end(jw, res)
		}
		results = append(results, res)
		if sink != nil {
			if err := sink.AppendWithScenario(context.WithoutCancel(cmd.Context()), res, s.Source); err != nil {
				fmt.Fprintf(a.stderr, "drill: warning: result %s not saved to history: %v (it is still in --json output)\n", res.RunID, err)
			}
		}
		if res.Abort == result.AbortInterrupted && i < len(ss)-1 {
			fmt.Fprintf(a.stderr, "drill: interrupted: %s not run\n", english.Count(len(ss)-1-i, "remaining scenario", "remaining scenarios"))
			break
		}
	}

	if progress != nil {
		progress.Clear()
	}
	if f.dryRun {
		for i, res := range results {
			printPlan(a.stdout, reg, ss[i], res)
		}
	} else if err := reporters.WriteSummary(a.stdout, results); err != nil {
		// A closed stdout (drill run | head) must not cost the --json/--junit files below.
		fmt.Fprintf(a.stderr, "drill: warning: %v\n", err)
	}

	code := worstExit(results)
	if err := writeReports(f, results); err != nil {
		fmt.Fprintf(a.stderr, "drill: %v\n", err)
		code = max(code, result.ExitError)
	}
	if f.dynamo != "" && !f.dryRun {
		// Never loses a result: what cannot be written is spooled for `drill results flush`.
		// A signal cancels the writes after a grace; what is not written stays spooled.
		ctx, cancel := afterGrace(context.WithoutCancel(cmd.Context()), a, dynamoGrace)
		for i, res := range results {
			if err := saveResultsToDynamo(ctx, a, dynamoFor(f, ss[i]), []*result.Result{res}); err != nil {
				fmt.Fprintf(a.stderr, "drill: %v\n", err)
				code = max(code, result.ExitError)
			}
		}
		cancel()
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// dynamoFor is where scenario s's DynamoDB writes go: its result, and its system's lease (the
// one decision for both, so they cannot diverge). --dynamodb-endpoint, else the scenario's
// endpoint when it is an emulator (on loopback, or declared emulator: true), else, once
// resolved, $AWS_ENDPOINT_URL, else real AWS.
func dynamoFor(f runFlags, s *scenarios.Scenario) dynamoOptions {
	o := dynamoOptions{table: f.dynamo, endpoint: f.dynamoURL}
	if o.endpoint == "" {
		o.endpoint = awsenv.Of(s).EmulatorEndpoint()
	}
	return o
}

// checkOutputPaths makes sure --json and --junit can be written, by creating and removing a
// temporary file where WriteFileAtomic will create its own.
func checkOutputPaths(f runFlags) error {
	for _, o := range []struct{ flag, path string }{{"json", f.jsonPath}, {"junit", f.junitPath}} {
		if o.path == "" {
			continue
		}
		if fi, err := os.Stat(o.path); err == nil && fi.IsDir() {
			return usageErrorf("--%s %s is a directory; nothing was run", o.flag, o.path)
		}
		dir, base := filepath.Split(o.path)
		if dir == "" {
			dir = "."
		}
		tmp, err := os.CreateTemp(dir, "."+base+".check-*")
		if err != nil {
			return usageErrorf("--%s %s cannot be written: %v; nothing was run", o.flag, o.path, err)
		}
		tmp.Close()
		os.Remove(tmp.Name())
	}
	return nil
}

// openSamples creates the --samples file before anything runs (a path that cannot be written is
// an input error, not a drill error). Samples reveal the targets' behaviour in detail, so the
// file is private to the user even when it existed before with a wider mode.
func openSamples(path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, usageErrorf("--samples %s cannot be written: %v; nothing was run", path, err)
	}
	if err := fh.Chmod(0o600); err != nil {
		fh.Close()
		return nil, usageErrorf("--samples %s: %v; nothing was run", path, err)
	}
	return fh, nil
}

// samplesWriter keeps a nil *os.File from becoming a non-nil io.Writer.
func samplesWriter(f *os.File) io.Writer {
	if f == nil {
		return nil
	}
	return f
}

func writeReports(f runFlags, results []*result.Result) error {
	if f.jsonPath != "" {
		if err := reporters.WriteFileAtomic(f.jsonPath, func(w io.Writer) error { return reporters.WriteJSON(w, results) }); err != nil {
			return fmt.Errorf("write --json %s: %w", f.jsonPath, err)
		}
	}
	if f.junitPath != "" {
		if err := reporters.WriteFileAtomic(f.junitPath, func(w io.Writer) error { return reporters.WriteJUnit(w, results) }); err != nil {
			return fmt.Errorf("write --junit %s: %w", f.junitPath, err)
		}
	}
	return nil
}

func worstExit(results []*result.Result) int {
	code := 0
	for _, r := range results {
		code = max(code, result.ExitCode(r.Verdict))
	}
	return code
}

// printPlan shows what a run would do, in order, with the targets the faults resolved.
func printPlan(w io.Writer, reg *runner.Registry, s *scenarios.Scenario, res *result.Result) {
	fmt.Fprintf(w, "plan for %s (%s), system %s — nothing was injected\n", s.Name, s.File, s.System)
	fmt.Fprintf(w, "  objectives: RTO %v", s.Objectives.RTO)
	if s.Objectives.RPO != nil {
		fmt.Fprintf(w, ", RPO %v", *s.Objectives.RPO)
	}
	fmt.Fprintf(w, "; limits: timeout %v, observe %v, rollback %v\n", s.Limits.Timeout, s.Limits.Observe, s.Limits.Rollback)
	fmt.Fprintf(w, "  1. steady state: %s\n", orNone(strings.Join(s.SteadyState, ", ")))
	fmt.Fprintf(w, "  2. probes:\n")
	for _, p := range s.Probes {
		fmt.Fprintf(w, "       %s (%s, %s) every %v, timeout %v\n", p.Name, p.Type, p.Role, p.Interval, p.Timeout)
	}
	step := 3
	if len(s.Prepare) > 0 {
		fmt.Fprintf(w, "  %d. prepare:\n", step)
		printSteps(w, s.Prepare, " at %v")
		step++
	}
	fmt.Fprintf(w, "  %d. inject (t0 = start of the first):\n", step)
	for i, fs := range s.Faults {
		// A fault that resolved no targets (a command, a random majority of a lab) is described
		// by what its type does: "targets: none" or "chosen at run time" would misread as a
		// fault that hits nothing, or one that picks something it never does.
		delay := delayText(fs.After, " after %v")
		targetsSep := " targets: "
		if delay != "" {
			targetsSep = ", targets: "
		}
		sep, what := ": ", ""
		if ft, ok := reg.Fault(fs.Type); ok {
			what = ft.Summary
		}
		if i < len(res.Faults) {
			if res.Faults[i].Error != "" {
				sep, what = targetsSep, "ERROR: "+res.Faults[i].Error
			} else if len(res.Faults[i].Targets) > 0 {
				sep, what = targetsSep, strings.Join(res.Faults[i].Targets, ", ")
			}
		}
		prefix := fmt.Sprintf("       %s (%s)%s%s", fs.Name, fs.Type, delay, sep)
		fmt.Fprintf(w, "%s\n", strings.TrimRight(textwrap.Indent(prefix, what, 120, 40), " "))
	}
	step++
	if len(s.Recovery) > 0 {
		fmt.Fprintf(w, "  %d. recovery:\n", step)
		printSteps(w, s.Recovery, " at t0 + %v")
		step++
	}
	fmt.Fprintf(w, "  %d. observe until every availability probe is healthy for %v (give up at %v)\n", step, s.Limits.Observe, s.Limits.Timeout)
	fmt.Fprintf(w, "  %d. rollback: revert faults in reverse order", step+1)
	if len(s.Rollback) > 0 {
		fmt.Fprintf(w, ", then:\n")
		printSteps(w, s.Rollback, " at %v")
	} else {
		fmt.Fprintln(w)
	}
	if res.Verdict != result.VerdictPass {
		fmt.Fprintf(w, "  problem: %s\n", res.Reason)
	}
}

func printSteps(w io.Writer, steps []scenarios.StepSpec, delayFormat string) {
	for _, st := range steps {
		fmt.Fprintf(w, "       %s (%s)%s\n", st.Name, st.Type, delayText(st.After, delayFormat))
	}
}

// delayText formats a step's `after:` delay, or nothing when there is none.
func delayText(d time.Duration, format string) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf(format, d)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
