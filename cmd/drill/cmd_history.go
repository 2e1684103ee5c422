package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/drillhq/drill/compliance"
	"github.com/drillhq/drill/history"
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
				if runs, err = localHistory(cmd.Context(), store, f, runID); err != nil {
					return err
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
	return cmd
}

// localHistory lists runs from the local store.
func localHistory(ctx context.Context, store *history.Store, f history.Filter, runID string) ([]*result.Result, error) {
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
	t.Header("WHEN (UTC)", "SCENARIO", "SYSTEM", "VERDICT", "RTO MEASURED/TARGET", "RPO MEASURED/TARGET", "LOST WRITES", "RUN ID")
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
		if r.DryRun {
			verdict += " (dry run)"
		}
		if err := t.Append(
			r.StartedAt.UTC().Format("2006-01-02 15:04"), r.Scenario, r.System, verdict,
			rto+" / "+compliance.Millis(o.RTO.TargetMs), rpo+" / "+rpoTarget, fmt.Sprint(o.RPO.LostWrites), r.RunID,
		); err != nil {
			return &exitError{code: result.ExitError, msg: fmt.Sprintf("history table: %v", err)}
		}
	}
	if err := t.Render(); err != nil {
		return &exitError{code: result.ExitError, msg: fmt.Sprintf("history table: %v", err)}
	}
	return nil
}

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
