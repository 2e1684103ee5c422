package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/drillhq/drill/compliance"
	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/internal/english"
	"github.com/drillhq/drill/internal/textwrap"
	"github.com/drillhq/drill/journal"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/resultstore"
)

func newHistoryCmd(a *app) *cobra.Command {
	var (
		f                   history.Filter
		since, until, runID string
		asJSON              bool
		path                string
		source              string
		dyn                 dynamoOptions
	)
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List past drill runs from the local history store, newest first",
		Long: `History lists the drill runs recorded in the local history store (every 'drill run'
appends its result there), newest first: when it ran, the scenario, the verdict, the
measured RTO and RPO against their targets, and the acknowledged writes lost.

A drill that was killed (SIGKILL, OOM, a lost runner) never wrote its result; its journal
(see 'drill recover') is shown instead, with verdict "interrupted" ("running" while the
drill is still alive). 'drill recover' records such runs in the store once reverted.

The store is one file: --history PATH, else $DRILL_HISTORY, else
$XDG_STATE_HOME/drill/history.db, else ~/.local/state/drill/history.db.
--json prints the full drill.result/v1 documents, e.g. to attach evidence to an audit.

--source dynamodb reads the results 'drill run --dynamodb-table' wrote instead. DynamoDB
history is a Query per system or per scenario (never a table Scan), so name one with
--system or --scenario.`,
		Example: `  drill history
  drill history --system orders-etcd --since 2026-07-01
  drill history --scenario etcd-minority-member-loss --limit 5
  drill history --run 20260922T093000Z-9e8d7c6b --json
  drill history --source dynamodb --system orders --table DRTestResults`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if f.Since, err = dateFlag("--since", since, false); err != nil {
				return err
			}
			if f.Until, err = dateFlag("--until", until, true); err != nil {
				return err
			}
			if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
				return usageErrorf("--since %s is not before --until %s", since, until)
			}
			if f.Limit < 0 {
				return usageErrorf("--limit must not be negative")
			}
			var runs []*result.Result
			where := ""
			switch source {
			case "local":
			case "dynamodb":
				if runs, err = dynamoHistory(cmd.Context(), a, dyn, f, runID); err != nil {
					return err
				}
				where = "DynamoDB table " + dyn.table
			default:
				return usageErrorf("--source must be local or dynamodb, not %q", source)
			}
			if source == "local" {
				store, err := openHistoryReadOnly(a, path)
				if err != nil {
					return err
				}
				defer store.Close()
				where = store.Path()
				if runs, err = localHistory(cmd.Context(), store, f, runID, asJSON); err != nil {
					var ee *exitError
					if !errors.As(err, &ee) || ee.code != result.ExitUsage {
						return err
					}
					// Not in history: it may be a run only its journal knows about.
					if runs = journalHistory(a, path, f, runID, nil); len(runs) == 0 {
						return err
					}
				} else {
					runs = journalHistory(a, path, f, runID, runs)
				}
			}

			if asJSON {
				if runs == nil {
					runs = []*result.Result{}
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(runs)
			}
			if len(runs) == 0 {
				fmt.Fprintf(a.stderr, "drill: no runs recorded in %s match\n", where)
				return nil
			}
			return writeHistoryTable(a, runs)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&source, "source", "local", "where to read: `local` (the history store) or dynamodb")
	addDynamoFlags(cmd, &dyn)
	fl.StringVar(&f.System, "system", "", "only runs of this `SYSTEM`")
	fl.StringVar(&f.Scenario, "scenario", "", "only runs of this scenario `NAME`")
	fl.StringVar(&since, "since", "", "only runs started on or after `DATE` (2026-07-01 or RFC 3339)")
	fl.StringVar(&until, "until", "", "only runs started before the end of `DATE` (a date includes that day)")
	fl.StringVar(&runID, "run", "", "only the run with this `ID`")
	fl.IntVar(&f.Limit, "limit", 0, "show at most `N` runs, newest first (0: all)")
	fl.BoolVar(&asJSON, "json", false, "print the full drill.result/v1 documents as a JSON array")
	fl.StringVar(&path, "history", "", "history store `PATH` (default $DRILL_HISTORY or ~/.local/state/drill/history.db)")
	cmd.AddCommand(newHistoryVerifyCmd(a), newHistoryImportCmd(a))
	return cmd
}

func newHistoryVerifyCmd(a *app) *cobra.Command {
	var (
		path   string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the history store's hash chain: has any stored record changed?",
		Long: `Verify recomputes the hash chain of the history store. Every run, sign-off and finding
update appended a link holding the SHA-256 of the record's JSON and of the previous link;
verify checks every link, every stored record against its newest link, and that no
record was added, removed or reordered outside drill. It names the first broken link.

The chain shows tampering with part of the file; someone able to rewrite the whole file
could rebuild it. Publish the head hash it prints (in a ticket, a signed evidence bundle,
an external log) to pin the state as of today.

A store written by a drill without the chain opens as before; its first write starts
the chain and adopts the runs already stored ("adopted": protected from then on, with no
proof about earlier edits).

Exit code: 0 intact, 1 broken, 3 the store could not be read.`,
		Example: `  drill history verify
  drill history verify --history /srv/drill/history.db --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openHistoryReadOnly(a, path)
			if err != nil {
				return err
			}
			defer store.Close()
			v, err := store.Verify(cmd.Context())
			if err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(v); err != nil {
					return &exitError{code: result.ExitError, msg: err.Error()}
				}
			} else {
				writeVerification(a, store.Path(), v)
			}
			if !v.Intact() {
				return &exitError{code: result.ExitFail}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "history", "", "history store `PATH` (default $DRILL_HISTORY or ~/.local/state/drill/history.db)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the verification as JSON")
	return cmd
}

func writeVerification(a *app, path string, v history.Verification) {
	if v.Note != "" {
		fmt.Fprintf(a.stdout, "%s: %s\n", path, v.Note)
		return
	}
	if !v.Intact() {
		fmt.Fprintf(a.stdout, "BROKEN: %s: %s\n", path, v.Broken)
		return
	}
	fmt.Fprintf(a.stdout, "intact: %s: %d links, head %s\n", path, v.Links, v.Head)
	if v.Adopted > 0 {
		fmt.Fprintf(a.stdout, "note: %s stored before the chain started on %s; they are protected since then, not before\n",
			english.Count(v.Adopted, "record was", "records were"), compliance.DateTime(v.Since))
	}
}

// localHistory lists runs from the local store. The table (full false) of a whole history is
// read from the row index, a few hundred bytes per run instead of the documents.
func localHistory(ctx context.Context, store *history.Store, f history.Filter, runID string, full bool) ([]*result.Result, error) {
	if runID == "" && !full && f.Limit == 0 {
		var runs []*result.Result
		err := store.Rows(ctx, f, func(row history.Row) error {
			runs = append(runs, row.Summary())
			return nil
		})
		if err != nil {
			return nil, &exitError{code: result.ExitError, msg: err.Error()}
		}
		slices.Reverse(runs) // newest first, as List
		return runs, nil
	}
	if runID == "" {
		runs, err := store.List(ctx, f)
		if err != nil {
			return nil, &exitError{code: result.ExitError, msg: err.Error()}
		}
		return runs, nil
	}
	r, ok, err := store.Get(ctx, runID)
	if err != nil {
		return nil, &exitError{code: result.ExitError, msg: err.Error()}
	}
	if !ok {
		return nil, usageErrorf("no run %q in history %s", runID, store.Path())
	}
	if !f.Match(r) {
		return nil, nil
	}
	return []*result.Result{r}, nil
}

// journalHistory adds the runs only a journal knows about (killed, or running now) to runs from
// the store, newest first. The journal is drill's own state beside the store, so reading it
// here needs no change to the store's format; a journal that cannot be read is skipped with a
// warning, since history is a report and must not fail for it.
func journalHistory(a *app, historyFlag string, f history.Filter, runID string, runs []*result.Result) []*result.Result {
	dir, err := stateDir(a, historyFlag)
	if err != nil {
		return runs
	}
	jruns, err := journal.List(journal.Dir(dir))
	if err != nil {
		fmt.Fprintf(a.stderr, "drill: warning: %v\n", err)
		return runs
	}
	known := map[string]bool{}
	for _, r := range runs {
		known[r.RunID] = true
	}
	added := false
	for _, jr := range jruns {
		if known[jr.RunID] || (runID != "" && jr.RunID != runID) {
			continue
		}
		h, held := journal.Held(dir, jr.System)
		res := killedResult(jr, held && h.RunID == jr.RunID)
		if !f.Match(res) {
			continue
		}
		runs, added = append(runs, res), true
	}
	if !added {
		return runs
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].StartedAt.After(runs[j].StartedAt) })
	if f.Limit > 0 && len(runs) > f.Limit {
		runs = runs[:f.Limit]
	}
	return runs
}

// dynamoHistory queries the DynamoDB results table by system, else by scenario, newest first.
func dynamoHistory(ctx context.Context, a *app, o dynamoOptions, f history.Filter, runID string) ([]*result.Result, error) {
	if f.System == "" && f.Scenario == "" {
		return nil, usageErrorf("--source dynamodb needs --system or --scenario: DynamoDB history is a Query per system or scenario, never a table Scan")
	}
	o, err := o.resolve(a)
	if err != nil {
		return nil, err
	}
	api, err := o.client(ctx)
	if err != nil {
		return nil, &exitError{code: result.ExitError, msg: fmt.Sprintf("DynamoDB client: %v", err)}
	}
	var all []*result.Result
	if f.System != "" {
		all, err = resultstore.BySystem(ctx, api, o.table, f.System, 0)
	} else {
		all, err = resultstore.ByScenario(ctx, api, o.table, f.Scenario, 0)
	}
	if err != nil {
		return nil, &exitError{code: result.ExitError, msg: fmt.Sprintf("query DynamoDB table %s: %v", o.table, err)}
	}
	var runs []*result.Result
	for _, r := range all {
		if f.Match(r) && (runID == "" || r.RunID == runID) {
			runs = append(runs, r)
		}
		if f.Limit > 0 && len(runs) == f.Limit {
			break
		}
	}
	return runs, nil
}

func writeHistoryTable(a *app, runs []*result.Result) error {
	t := newTable(a)
	header := []string{"WHEN (UTC)", "SCENARIO", "SYSTEM", "VERDICT", "RTO / TARGET", "RPO / TARGET", "LOST", "RUN ID"}
	t.Header(header)
	var rows [][]string
	for _, r := range runs {
		o := r.Objectives
		rto := "not recovered"
		switch {
		case o.RTO.MeasuredMs != nil:
			rto = compliance.Millis(*o.RTO.MeasuredMs)
		case r.Verdict != result.VerdictFail:
			rto = "-"
		}
		rpo := "-"
		if o.RPO.MeasuredMs != nil {
			rpo = compliance.Millis(*o.RPO.MeasuredMs)
		}
		rpoTarget := "none"
		if o.RPO.TargetMs != nil {
			rpoTarget = compliance.Millis(*o.RPO.TargetMs)
		}
		verdict := r.Verdict
		rtoTarget := compliance.Millis(o.RTO.TargetMs)
		if o.RTO.TargetMs == 0 && o.RTO.MeasuredMs == nil {
			// Older drills stored no target when they stopped before the fault.
			rtoTarget = "not recorded"
		}
		switch {
		case r.Abort == result.AbortKilled:
			verdict, rto, rtoTarget = "interrupted", "-", "-"
		case r.Verdict == "" && r.Reason == "running":
			verdict, rto, rtoTarget = "running", "-", "-"
		case r.DryRun:
			verdict += " (dry run)"
		case r.IsUnproven():
			verdict += " (UNPROVEN)"
		}
		lost := "-" // only a data probe counts writes; "0" would claim none were lost
		if o.RPO.Source == result.RPOSourceDataProbe {
			lost = fmt.Sprint(o.RPO.LostWrites)
		}
		rows = append(rows, []string{
			r.StartedAt.UTC().Format("2006-01-02 15:04"), r.Scenario, r.System, string(verdict),
			rto + " / " + rtoTarget, rpo + " / " + rpoTarget, lost, r.RunID,
		})
	}
	// The run id is what signoff and findings take, so it is never wrapped.
	for _, row := range textwrap.Fit(header, rows, tableWidth, minColumnWidth, 1, 2, 0, 3, 4, 5, 6) {
		if err := t.Append(row); err != nil {
			return &exitError{code: result.ExitError, msg: fmt.Sprintf("history table: %v", err)}
		}
	}
	if err := t.Render(); err != nil {
		return &exitError{code: result.ExitError, msg: fmt.Sprintf("history table: %v", err)}
	}
	return nil
}

// tableWidth is the terminal width the verbs' tables fit; minColumnWidth keeps a wrapped
// column readable when that cannot be met.
const (
	tableWidth     = 120
	minColumnWidth = 8
)

// newTable is the table style of the console summary: ASCII borders for every CI log viewer,
// headers left-aligned and written as given.
func newTable(a *app) *tablewriter.Table {
	return tablewriter.NewTable(a.stdout,
		tablewriter.WithSymbols(tw.NewSymbols(tw.StyleASCII)),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithHeaderAutoFormat(tw.Off),
	)
}

// historyPath is where the store lives: the --history flag, else DRILL_HISTORY, XDG_STATE_HOME
// or ~/.local/state (history.DefaultPath). The run verb appends to the same path.
func historyPath(a *app, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	p, err := history.DefaultPath(a.getenv)
	if err != nil {
		return "", usageErrorf("%v", err)
	}
	return p, nil
}

// openHistoryReadOnly opens the store for the reporting verbs; a store that does not exist
// yet reads as empty, so a first 'drill due' works before any drill ran.
func openHistoryReadOnly(a *app, flag string) (*history.Store, error) {
	p, err := historyPath(a, flag)
	if err != nil {
		return nil, err
	}
	s, err := history.OpenReadOnly(p)
	if err != nil {
		return nil, &exitError{code: result.ExitError, msg: err.Error()}
	}
	return s, nil
}

// dateFlag parses a --since/--until value. A date-only --until includes that whole day.
func dateFlag(name, v string, endOfDay bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, dateOnly, err := compliance.ParseDate(v)
	if err != nil {
		return time.Time{}, usageErrorf("%s: %v", name, err)
	}
	if dateOnly && endOfDay {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}
