package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drillhq/drill/compliance"
	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/internal/textwrap"
	"github.com/drillhq/drill/result"
)

func newFindingsCmd(a *app) *cobra.Command {
	var (
		path   string
		asJSON bool
		all    bool
	)
	cmd := &cobra.Command{
		Use:   "findings",
		Short: "List what failed drills left to fix, with owners and due dates",
		Long: `Every drill run that does not pass (fail, error or aborted) opens a finding in the
history store: the system, scenario and run, and what failed. Assign it an owner and a
due date, and close it with a note once fixed. When a later run of the same scenario
passes, the finding is marked "retested: passed" (it stays open until closed, so a
person confirms the fix).

Findings are listed oldest first; open ones by default, --all includes closed ones.
Overdue findings (open past their due date) are marked OVERDUE. The compliance report
has the same list.`,
		Example: `  drill findings
  drill findings --all --json
  drill findings assign F-0003 --owner payments-team --due 2026-11-30
  drill findings close F-0003 --note "failover timeout raised; retested in run 20261102T...-ab12cd34"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openHistoryReadOnly(a, path)
			if err != nil {
				return err
			}
			defer store.Close()
			fs, err := store.Findings(cmd.Context())
			if err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			shown := []history.Finding{}
			for _, f := range fs {
				if all || f.Status == history.FindingOpen {
					shown = append(shown, f)
				}
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(shown)
			}
			if len(shown) == 0 {
				fmt.Fprintf(a.stderr, "drill: no %sfindings in %s\n", map[bool]string{false: "open ", true: ""}[all], store.Path())
				return nil
			}
			return writeFindingsTable(a, shown, time.Now())
		},
	}
	fl := cmd.PersistentFlags()
	fl.StringVar(&path, "history", "", "history store `PATH` (default $DRILL_HISTORY or ~/.local/state/drill/history.db)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the findings as a JSON array")
	cmd.Flags().BoolVar(&all, "all", false, "include closed findings")
	cmd.AddCommand(newFindingsAssignCmd(a, &path), newFindingsCloseCmd(a, &path))
	return cmd
}

func newFindingsAssignCmd(a *app, path *string) *cobra.Command {
	var owner, due string
	cmd := &cobra.Command{
		Use:     "assign ID --owner OWNER --due DATE",
		Short:   "Give a finding an owner and a due date",
		Example: `  drill findings assign F-0003 --owner payments-team --due 2026-11-30`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("name the finding: drill findings assign ID --owner OWNER --due DATE (ids: 'drill findings')")
			}
			if strings.TrimSpace(owner) == "" && due == "" {
				return usageErrorf("give --owner, --due or both")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var dueAt time.Time
			if due != "" {
				t, _, err := compliance.ParseDate(due)
				if err != nil {
					return usageErrorf("--due: %v", err)
				}
				dueAt = t
			}
			f, err := updateFinding(cmd, a, *path, args[0], func(f *history.Finding) error {
				if f.Status == history.FindingClosed {
					return errClosed
				}
				if o := strings.TrimSpace(owner); o != "" {
					f.Owner = o
				}
				if !dueAt.IsZero() {
					f.Due = dueAt
				}
				return nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s assigned to %s, due %s\n", f.ID, orDashText(f.Owner), compliance.Date(f.Due))
			return nil
		},
	}
	cmd.Flags().StringVar(&owner, "owner", "", "who fixes it: a person or team `OWNER`")
	cmd.Flags().StringVar(&due, "due", "", "due `DATE` (2026-11-30)")
	return cmd
}

func newFindingsCloseCmd(a *app, path *string) *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:     "close ID --note TEXT",
		Short:   "Close a finding, saying how it was resolved",
		Example: `  drill findings close F-0003 --note "failover timeout raised; retest passed"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("name the finding: drill findings close ID --note TEXT (ids: 'drill findings')")
			}
			if strings.TrimSpace(note) == "" {
				return usageErrorf("--note is required: say how the finding was resolved")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := updateFinding(cmd, a, *path, args[0], func(f *history.Finding) error {
				if f.Status == history.FindingClosed {
					return errClosed
				}
				f.Status, f.ClosedAt, f.CloseNote = history.FindingClosed, time.Now().UTC(), strings.TrimSpace(note)
				return nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s closed: %s\n", f.ID, f.CloseNote)
			return nil
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "how it was resolved (`TEXT`, required)")
	return cmd
}

var errClosed = errors.New("finding is already closed")

func updateFinding(cmd *cobra.Command, a *app, path, id string, change func(*history.Finding) error) (history.Finding, error) {
	p, err := historyPath(a, path)
	if err != nil {
		return history.Finding{}, err
	}
	store, err := history.Open(p)
	if err != nil {
		return history.Finding{}, &exitError{code: result.ExitError, msg: err.Error()}
	}
	defer store.Close()
	f, err := store.UpdateFinding(cmd.Context(), id, change)
	switch {
	case errors.Is(err, history.ErrNotFound):
		return f, usageErrorf("no finding %q in history %s (ids: 'drill findings --all')", id, store.Path())
	case errors.Is(err, errClosed):
		return f, usageErrorf("finding %s is already closed", id)
	case err != nil:
		return f, &exitError{code: result.ExitError, msg: err.Error()}
	}
	return f, nil
}

func writeFindingsTable(a *app, fs []history.Finding, now time.Time) error {
	t := newTable(a)
	header := []string{"ID", "OPENED (UTC)", "SYSTEM", "SCENARIO", "WHAT FAILED", "OWNER", "DUE", "STATUS", "RUN ID"}
	t.Header(header)
	var rows [][]string
	for _, f := range fs {
		status := string(f.Status)
		switch {
		case f.Overdue(now):
			status = "OVERDUE"
		case f.Status == history.FindingOpen && f.Retest != nil:
			status = "open, retested: passed"
		}
		due := "-"
		if !f.Due.IsZero() {
			due = compliance.Date(f.Due)
		}
		rows = append(rows, []string{f.ID, f.OpenedAt.UTC().Format("2006-01-02 15:04"), f.System, f.Scenario, f.What, orDashText(f.Owner), due, status, f.RunID})
	}
	// What failed wraps rather than being cut: it is the finding. Ids are never wrapped.
	for _, row := range textwrap.Fit(header, rows, tableWidth, minColumnWidth, 4, 1, 2, 3, 5) {
		if err := t.Append(row); err != nil {
			return &exitError{code: result.ExitError, msg: fmt.Sprintf("findings table: %v", err)}
		}
	}
	if err := t.Render(); err != nil {
		return &exitError{code: result.ExitError, msg: fmt.Sprintf("findings table: %v", err)}
	}
	return nil
}

func orDashText(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
