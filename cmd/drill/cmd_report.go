package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drillhq/drill/compliance"
	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/internal/english"
	"github.com/drillhq/drill/reporters"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/resultstore"
	"github.com/drillhq/drill/suite"
)

func newReportCmd(a *app) *cobra.Command {
	var (
		suitePath, period, since, until string
		format, out, path, browser      string
		source                          string
		systems                         []string
		dyn                             dynamoOptions
	)
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write the compliance report: which systems were proven recoverable, and when",
		Long: `Report builds the DR compliance report for a period from the history store: for each
system its owner, criticality, cadence and RTO/RPO targets; the drills run in the
period with their verdicts and measured RTO and RPO; the last passing drill; and a
status (compliant, overdue, failing, never drilled). It adds per scenario its run
counts, pass rate and worst and median RTO, a trend chart of RTO and RPO, a check
against the AWS DR strategy ladder, and an evidence appendix (run ids, times, tool
version, scenario file hash).

Every figure counts every run, but a scenario's table lists only its newest runs and
the ones the report cites, and timelines are drawn only for the cited runs: its
newest run, newest failures and sign-offs, and last passing drill. The report names
the 'drill history --json' command that prints every run it covers, so it stays a
few megabytes however often drills run.

--format html writes one self-contained page (inline CSS and SVG, no script, no
network) that prints cleanly to PDF; md suits pull requests and wikis; json feeds
other tools; pdf is the HTML page printed by headless Chromium (/usr/bin/chromium,
or --browser PATH). The period is a year (2026), quarter (2026-Q3), half (2026-H2) or month
(2026-11), or --since/--until dates; the default is the current quarter.
Without --suite the report covers every scenario found in history.

--source dynamodb builds the report from the results table 'drill run --dynamodb-table'
wrote (e.g. by many CI runners) instead of the local history. It reads one Query per
system, never a table Scan, so it needs the systems: those of --suite FILE and/or each
--system S. Sign-offs and findings are kept in the local history only and are not shown.`,
		Example: `  drill report --suite drills/production.yaml --period 2026-Q3 --format html --out q3-dr-report.html
  drill report --period 2026-11 --format md --out dr-november.md
  drill report --since 2026-07-01 --until 2026-09-30 --format json --out report.json
  drill report --period 2026-Q3 --out q3-dr-report.pdf        # printed by headless Chromium
  drill report --source dynamodb --table DRTestResults --suite drills/production.yaml --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now().UTC()
			p, err := reportPeriod(period, since, until, now)
			if err != nil {
				return err
			}
			if format == "" {
				format = formatFromName(out)
			}
			if !validFormat(format) && format != compliance.FormatPDF {
				return usageErrorf("--format must be %s or pdf, not %q", strings.Join(compliance.Formats(), ", "), format)
			}
			if format == compliance.FormatPDF {
				if browser, err = compliance.FindBrowser(browser); err != nil {
					return &exitError{code: result.ExitError, msg: err.Error()}
				}
			}
			var s *suite.Suite
			if suitePath != "" {
				if s, err = loadSuite(a, suitePath); err != nil {
					return err
				}
			}
			in := compliance.Input{Period: p, Now: now, ToolVersion: toolVersion()}
			// Runs before the period are read too: they hold each drill's last passing run.
			filter := history.Filter{Until: p.Until}
			// The local store is folded row by row (compliance.BuildFrom) and only the runs the
			// report cites are decoded; DynamoDB's runs arrive whole and are held (in.Runs).
			var rows history.RowSource
			switch source {
			case "local":
				if len(systems) > 0 {
					return usageErrorf("--system is for --source dynamodb; with local history use --suite")
				}
				store, err := openHistoryReadOnly(a, path)
				if err != nil {
					return err
				}
				defer store.Close()
				rows = store
				if in.SignOffs, err = store.SignOffs(cmd.Context()); err != nil {
					return &exitError{code: result.ExitError, msg: err.Error()}
				}
				if in.Findings, err = store.Findings(cmd.Context()); err != nil {
					return &exitError{code: result.ExitError, msg: err.Error()}
				}
			case "dynamodb":
				if path != "" {
					return usageErrorf("--history reads the local store; it does not apply to --source dynamodb")
				}
				if in.Runs, err = dynamoReportRuns(cmd.Context(), a, dyn, reportSystems(s, systems), filter); err != nil {
					return err
				}
			default:
				return usageErrorf("--source must be local or dynamodb, not %q", source)
			}
			if s != nil {
				in.Entries, in.SuiteFile, in.SuiteName = s.Entries, s.File, s.Name
				if source == "dynamodb" {
					// A --system the suite does not list is reported from its runs, as without a suite.
					in.Entries = append(in.Entries, entriesOutside(s, in.Runs)...)
				}
			}
			var rep *compliance.Report
			if rows != nil {
				if rep, err = compliance.BuildFrom(cmd.Context(), in, rows); err != nil {
					return &exitError{code: result.ExitError, msg: err.Error()}
				}
			} else {
				rep = compliance.Build(in)
			}
			write := func(w io.Writer) error { return compliance.Write(w, format, rep) }
			if format == compliance.FormatPDF {
				write = func(w io.Writer) error { return compliance.WritePDF(cmd.Context(), w, rep, browser) }
			}
			if out == "" || out == "-" {
				if err := write(a.stdout); err != nil {
					return &exitError{code: result.ExitError, msg: err.Error()}
				}
				return nil
			}
			if err := reporters.WriteFileAtomic(out, write); err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			sm := rep.Summary
			fmt.Fprintf(a.stderr, "drill: wrote %s (%s): %s, %d compliant, %d overdue, %d failing, %d never drilled, %d unproven; %s in period\n",
				out, p.Label, english.Count(sm.Systems, "system", "systems"), sm.Compliant, sm.Overdue, sm.Failing, sm.NeverDrilled, sm.Unproven, english.Count(sm.Runs, "run", "runs"))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&suitePath, "suite", "", "suite `FILE` defining the programme (default: every scenario in history)")
	fl.StringVar(&period, "period", "", "calendar `PERIOD`: 2026, 2026-Q3, 2026-H2 or 2026-11 (default: the current quarter)")
	fl.StringVar(&since, "since", "", "start `DATE` (2026-07-01 or RFC 3339), instead of --period")
	fl.StringVar(&until, "until", "", "end `DATE`, inclusive for a date (default: now), instead of --period")
	fl.StringVar(&format, "format", "", "output `FORMAT`: html, md, json or pdf (default: from the --out extension, else html)")
	fl.StringVar(&browser, "browser", "", "Chromium `PATH` for --format pdf (default /usr/bin/chromium, else chromium on PATH)")
	fl.StringVar(&out, "out", "", "write to `FILE` (default: stdout)")
	fl.StringVar(&path, "history", "", "history store `PATH` (default $DRILL_HISTORY or ~/.local/state/drill/history.db)")
	fl.StringVar(&source, "source", "local", "where to read runs: `local` (the history store) or dynamodb")
	fl.StringArrayVar(&systems, "system", nil, "with --source dynamodb: query this `SYSTEM` (repeatable; added to the systems of --suite)")
	addDynamoFlags(cmd, &dyn)
	return cmd
}

// reportSystems is the systems a DynamoDB report queries: those of the suite, then each
// --system, sorted and without duplicates.
func reportSystems(s *suite.Suite, flags []string) []string {
	seen := map[string]bool{}
	if s != nil {
		for _, e := range s.Entries {
			if e.System != "" {
				seen[e.System] = true
			}
		}
	}
	for _, sys := range flags {
		if sys != "" {
			seen[sys] = true
		}
	}
	return sortedSet(seen)
}

// entriesOutside is the history-built entries of the runs whose system the suite does not list.
func entriesOutside(s *suite.Suite, runs []*result.Result) []suite.Entry {
	listed := map[string]bool{}
	for _, e := range s.Entries {
		listed[e.System] = true
	}
	var extra []*result.Result
	for _, r := range runs {
		if !listed[r.System] {
			extra = append(extra, r)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	return suite.EntriesFromHistory(extra)
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// dynamoReportRuns reads the runs of each system from the DynamoDB results table, one Query
// per system (the read path of 'drill history --source dynamodb'), keeping those f matches.
func dynamoReportRuns(ctx context.Context, a *app, o dynamoOptions, systems []string, f history.Filter) ([]*result.Result, error) {
	if len(systems) == 0 {
		return nil, usageErrorf("--source dynamodb needs --suite FILE or --system S: the report reads a Query per system, never a table Scan, so it must know which systems to read")
	}
	o, err := o.resolve(a)
	if err != nil {
		return nil, err
	}
	api, err := o.client(ctx)
	if err != nil {
		return nil, &exitError{code: result.ExitError, msg: fmt.Sprintf("DynamoDB client: %v", err)}
	}
	var runs []*result.Result
	for _, sys := range systems {
		got, err := resultstore.BySystem(ctx, api, o.table, sys, 0)
		if err != nil {
			return nil, &exitError{code: result.ExitError, msg: fmt.Sprintf("read system %s: %v", sys, err)}
		}
		for _, r := range got {
			if f.Match(r) {
				runs = append(runs, r)
			}
		}
	}
	return runs, nil
}

func reportPeriod(period, since, until string, now time.Time) (compliance.Period, error) {
	if period != "" && (since != "" || until != "") {
		return compliance.Period{}, usageErrorf("use either --period or --since/--until, not both")
	}
	if since != "" || until != "" {
		p, err := compliance.RangePeriod(since, until, now)
		if err != nil {
			return compliance.Period{}, usageErrorf("%v", err)
		}
		return p, nil
	}
	if period == "" {
		period = fmt.Sprintf("%d-Q%d", now.Year(), (int(now.Month())+2)/3)
	}
	p, err := compliance.ParsePeriod(period)
	if err != nil {
		return compliance.Period{}, usageErrorf("--period: %v", err)
	}
	return p, nil
}

func formatFromName(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".md", ".markdown":
		return compliance.FormatMarkdown
	case ".json":
		return compliance.FormatJSON
	case ".pdf":
		return compliance.FormatPDF
	}
	return compliance.FormatHTML
}

func validFormat(f string) bool {
	for _, v := range compliance.Formats() {
		if f == v {
			return true
		}
	}
	return f == "markdown"
}
