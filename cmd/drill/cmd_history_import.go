package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/internal/english"
	"github.com/drillhq/drill/result"
)

func newHistoryImportCmd(a *app) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "import FILE...",
		Short: "Merge drill.result/v1 JSON files (e.g. CI artifacts) into the history store",
		Long: `Import merges drill results into the history store: each FILE holds one
drill.result/v1 document or a JSON array of them, as 'drill run --json' or
'drill history --json' print them, e.g. the artifacts of many CI runners.

Runs already stored (same runId, same content) are skipped, so importing the same files
twice changes nothing. A run whose id is stored with different content is skipped with a
warning: stored evidence is never rewritten. Dry runs are no evidence and are skipped.
Imported runs enter the hash chain like any appended run ('drill history verify').

Every file is checked whole before any of it is written: a file that is not valid JSON,
or holds a document with another schema or no runId, is reported with its position and
nothing from it is imported; the other files still are.

Exit code: 0 every file imported, 2 a file was unreadable or invalid, 3 the store failed.`,
		Example: `  drill history import artifacts/*/result.json
  drill history import --history /srv/drill/history.db runner-a.json runner-b.json
  drill history --json --history old.db > all.json && drill history import all.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			p, err := historyPath(a, path)
			if err != nil {
				return err
			}
			store, err := history.Open(p)
			if err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			defer store.Close()
			var (
				total history.ImportStats
				bad   []string
			)
			// One file at a time, so memory holds one artifact however many are imported.
			for _, f := range files {
				data, err := os.ReadFile(f)
				var runs []*result.Result
				if err == nil {
					runs, err = history.ParseResults(data)
				}
				if err != nil {
					fmt.Fprintf(a.stderr, "drill: %s: %v; nothing imported from it\n", f, err)
					bad = append(bad, f)
					continue
				}
				// One transaction per file: a file is imported whole or not at all.
				st, err := store.Import(cmd.Context(), runs)
				if err != nil {
					return &exitError{code: result.ExitError, msg: fmt.Sprintf("%s: %v", f, err)}
				}
				for _, id := range st.Conflicts {
					fmt.Fprintf(a.stderr, "drill: warning: %s: run %s is stored with different content; kept the stored one\n", f, id)
				}
				fmt.Fprintf(a.stderr, "drill: %s: %s imported, %d already present, %s skipped\n",
					f, english.Count(st.Added, "run", "runs"), st.Present, english.Count(st.DryRuns, "dry run", "dry runs"))
				total.Added += st.Added
				total.Present += st.Present
				total.DryRuns += st.DryRuns
				total.Conflicts = append(total.Conflicts, st.Conflicts...)
			}
			fmt.Fprintf(a.stdout, "imported %s into %s (%d already present, %d conflicting, %s skipped)\n",
				english.Count(total.Added, "run", "runs"), store.Path(), total.Present, len(total.Conflicts), english.Count(total.DryRuns, "dry run", "dry runs"))
			if err := store.Close(); err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			if len(bad) > 0 {
				return usageErrorf("%s not imported: %s", english.Count(len(bad), "file", "files"), strings.Join(bad, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "history", "", "history store `PATH` (default $DRILL_HISTORY or ~/.local/state/drill/history.db)")
	return cmd
}
