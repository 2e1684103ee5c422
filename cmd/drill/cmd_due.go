package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/drillhq/drill/compliance"
	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/internal/textwrap"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/suite"
)

func newDueCmd(a *app) *cobra.Command {
	var (
		suitePath, path string
		asJSON, exit1   bool
	)
	cmd := &cobra.Command{
		Use:   "due",
		Short: "Show which drills are overdue or fall due in the next 30 days",
		Long: `Due compares each drill's last passing run with its cadence (weekly = 7 days;
monthly, quarterly, semiannual, annual = 1, 3, 6, 12 calendar months) and lists, most
urgent first: drills overdue (and by how long), drills that never passed, drills due
within 30 days, and drills that are compliant.

With --suite the programme is the suite file (its cadence overrides and criticality);
without it, every scenario found in history, with the cadence of its latest run.
'drill run --suite FILE --due-only' runs exactly the overdue and never-passed drills:
that is the command a cron job, a Kubernetes CronJob or a CI schedule calls.`,
		Example: `  drill due --suite drills/production.yaml
  drill due                       # every scenario in history
  drill due --suite drills/production.yaml --exit-code || page-the-owner`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now()
			store, err := openHistoryReadOnly(a, path)
			if err != nil {
				return err
			}
			defer store.Close()

			var entries []suite.Entry
			if suitePath != "" {
				s, err := loadSuite(a, suitePath)
				if err != nil {
					return err
				}
				entries = s.Entries
			} else {
				// The summary names every scenario with its newest run; a store without a
				// current one (written by an older drill) is read whole.
				runs, ok, err := store.Summary(cmd.Context(), now)
				if err == nil && !ok {
					runs, err = store.List(cmd.Context(), history.Filter{})
				}
				if err != nil {
					return &exitError{code: result.ExitError, msg: err.Error()}
				}
				entries = suite.EntriesFromHistory(runs)
			}
			items, err := suite.DueFromHistory(cmd.Context(), now, entries, store)
			if err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			suite.SortByUrgency(items)

			if asJSON {
				err = writeDueJSON(a, now, items)
			} else if len(items) == 0 {
				fmt.Fprintf(a.stderr, "drill: no drills known: pass --suite FILE, or run drills so history (%s) knows them\n", store.Path())
			} else {
				err = writeDueTable(a, items)
			}
			if err != nil {
				return err
			}
			if exit1 {
				for _, it := range items {
					if it.NeedsRun() {
						return &exitError{code: result.ExitFail}
					}
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&suitePath, "suite", "", "suite `FILE` listing the programme's scenarios (default: every scenario in history)")
	fl.StringVar(&path, "history", "", "history store `PATH` (default $DRILL_HISTORY or ~/.local/state/drill/history.db)")
	fl.BoolVar(&asJSON, "json", false, "print the result as JSON")
	fl.BoolVar(&exit1, "exit-code", false, "exit 1 when a drill is overdue or has never passed")
	return cmd
}

func dueDetail(it suite.Item) string {
	switch it.Status {
	case suite.StatusOverdue:
		d := "overdue by " + compliance.Days(it.Overdue)
		if it.LastRun != nil && it.LastRun.Verdict != result.VerdictPass {
			d += "; last run " + string(it.LastRun.Verdict)
		}
		return d
	case suite.StatusNeverRun:
		if it.LastRun != nil {
			return "never passed (last run " + string(it.LastRun.Verdict) + ")"
		}
		return "never run"
	case suite.StatusDueSoon, suite.StatusCompliant:
		return "due in " + compliance.Days(it.DueIn)
	}
	return "no cadence set"
}

func writeDueTable(a *app, items []suite.Item) error {
	t := newTable(a)
	header := []string{"STATUS", "SCENARIO", "SYSTEM", "CRITICALITY", "CADENCE", "LAST PASS (UTC)", "DUE (UTC)", "DETAIL"}
	t.Header(header)
	var rows [][]string
	for _, it := range items {
		last := "-"
		if it.LastPass != nil {
			last = it.LastPass.StartedAt.UTC().Format(time.DateOnly)
		}
		due := "now"
		if !it.DueAt.IsZero() {
			due = it.DueAt.UTC().Format(time.DateOnly)
		} else if it.Status == suite.StatusUnscheduled {
			due = "-"
		}
		rows = append(rows, []string{string(it.Status), it.Entry.Name, it.Entry.System, orDashStr(it.Entry.Criticality),
			orDashStr(it.Entry.Cadence), last, due, dueDetail(it)})
	}
	for _, row := range textwrap.Fit(header, rows, tableWidth, minColumnWidth, 1, 2, 7) {
		if err := t.Append(row); err != nil {
			return &exitError{code: result.ExitError, msg: fmt.Sprintf("due table: %v", err)}
		}
	}
	if err := t.Render(); err != nil {
		return &exitError{code: result.ExitError, msg: fmt.Sprintf("due table: %v", err)}
	}
	return nil
}

type dueJSON struct {
	Scenario    string        `json:"scenario"`
	System      string        `json:"system"`
	File        string        `json:"file,omitempty"`
	Cadence     string        `json:"cadence,omitempty"`
	Criticality string        `json:"criticality,omitempty"`
	Status      suite.Status  `json:"status"`
	NeedsRun    bool          `json:"needsRun"`
	LastPass    *suite.RunRef `json:"lastPass"`
	LastRun     *suite.RunRef `json:"lastRun"`
	DueAt       *time.Time    `json:"dueAt"`
	OverdueMs   int64         `json:"overdueMs,omitempty"`
	DueInMs     int64         `json:"dueInMs,omitempty"`
}

func writeDueJSON(a *app, now time.Time, items []suite.Item) error {
	out := struct {
		Now   time.Time `json:"now"`
		Items []dueJSON `json:"drills"`
	}{Now: now.UTC(), Items: []dueJSON{}}
	for _, it := range items {
		d := dueJSON{
			Scenario: it.Entry.Name, System: it.Entry.System, File: it.Entry.Path, Cadence: it.Entry.Cadence,
			Criticality: it.Entry.Criticality, Status: it.Status, NeedsRun: it.NeedsRun(), LastPass: it.LastPass, LastRun: it.LastRun,
			OverdueMs: it.Overdue.Milliseconds(), DueInMs: it.DueIn.Milliseconds(),
		}
		if !it.DueAt.IsZero() {
			t := it.DueAt.UTC()
			d.DueAt = &t
		}
		out.Items = append(out.Items, d)
	}
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return &exitError{code: result.ExitError, msg: fmt.Sprintf("write due json: %v", err)}
	}
	return nil
}

// loadSuite loads a suite file, printing every problem (one per line, file:line:col) before
// failing with a usage error.
func loadSuite(a *app, path string) (*suite.Suite, error) {
	s, err := suite.Load(path)
	if err != nil {
		fmt.Fprintln(a.stderr, err.Error())
		return nil, &exitError{code: result.ExitUsage, msg: fmt.Sprintf("suite %s is invalid; nothing was done", path)}
	}
	return s, nil
}

func orDashStr(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
