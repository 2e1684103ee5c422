package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drillhq/drill/history"
)

// realDrillJSON runs a tiny real drill (command probe and fault) with --json and returns the
// file it wrote: what a CI runner would upload as an artifact.
func realDrillJSON(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	scn := filepath.Join(dir, name+".yaml")
	body := fmt.Sprintf(`version: 1
name: %s
system: ci
cadence: weekly
objectives: { rto: 5s }
probes:
  - { name: up, type: command, interval: 50ms, with: { run: "true" } }
faults:
  - { name: f, type: command, with: { run: "true", revert: "true" } }
limits: { timeout: 10s, observe: 200ms }
`, name)
	if err := os.WriteFile(scn, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "result.json")
	// The runner's own history, not the one imported into.
	env := map[string]string{"DRILL_HISTORY": filepath.Join(dir, "runner.db")}
	code, stdout, stderr := runProgrammeCLI(t, env, "run", "-q", "--json", out, scn)
	if code > 1 {
		t.Fatalf("drill run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	return out
}

func storedIDs(t *testing.T, db string) []string {
	t.Helper()
	s, err := history.OpenReadOnly(db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.List(context.Background(), history.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.RunID)
	}
	return ids
}

func TestHistoryImport(t *testing.T) {
	t.Parallel()
	a, b := realDrillJSON(t, "drill-a"), realDrillJSON(t, "drill-b")
	several := filepath.Join("..", "..", "reporters", "testdata", "several.json")
	dry := filepath.Join("..", "..", "reporters", "testdata", "dry-run.json")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	valid, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	truncated := write("truncated.json", string(valid[:len(valid)/2]))
	wrongSchema := write("schema.json", strings.Replace(string(valid), "drill.result/v1", "drill.result/v0", 1))
	// An array whose second document lacks its runId: the first must not be imported either.
	noID := write("noid.json", "[\n"+string(valid)+",\n{\"schema\": \"drill.result/v1\", \"scenario\": \"x\"}\n]")
	notJSON := write("garbage.json", "{\n  \"schema\": \"drill.result/v1\",\n  oops\n}")

	tests := []struct {
		name      string
		files     []string
		wantCode  int
		wantAdded int      // new runs in the store after this import
		wantErr   []string // on stderr
	}{
		{"real drill output and a fixture array", []string{a, several}, 0, 0, nil},
		{"truncated file", []string{truncated}, 2, 0, []string{"truncated.json", "line ", "nothing imported"}},
		{"wrong schema", []string{wrongSchema}, 2, 0, []string{"schema.json", "drill.result/v0", "line 1, column 1"}},
		{"document without runId", []string{noID}, 2, 0, []string{"noid.json", "document 2 at line", "no runId"}},
		{"invalid JSON", []string{notJSON}, 2, 0, []string{"garbage.json", "line 3, column 3"}},
		{"bad file beside a good one", []string{truncated, b}, 2, 1, []string{"truncated.json", "1 file not imported"}},
		{"dry run is skipped", []string{dry}, 0, 0, []string{"1 dry run skipped"}},
		{"missing file", []string{filepath.Join(dir, "nope.json")}, 2, 0, []string{"nope.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "h.db")
			env := map[string]string{"DRILL_HISTORY": db}
			// Every case but the first starts from the first case's store.
			if tt.name != tests[0].name {
				if code, _, stderr := runProgrammeCLI(t, env, append([]string{"history", "import"}, tests[0].files...)...); code != 0 {
					t.Fatalf("seed import: exit %d\n%s", code, stderr)
				}
			}
			before := len(storedIDs(t, db))
			code, stdout, stderr := runProgrammeCLI(t, env, append([]string{"history", "import"}, tt.files...)...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			added := len(storedIDs(t, db)) - before
			if tt.name == tests[0].name {
				added = 0 // counted below
				if n := len(storedIDs(t, db)); n < 2 {
					t.Errorf("%d runs stored from the real drill and the fixture array, want several", n)
				}
			}
			if added != tt.wantAdded {
				t.Errorf("%d runs added, want %d", added, tt.wantAdded)
			}
			// Importing the same files again changes nothing, and the chain holds.
			ids := storedIDs(t, db)
			code, stdout, _ = runProgrammeCLI(t, env, append([]string{"history", "import"}, tt.files...)...)
			if code != tt.wantCode || !strings.Contains(stdout, "imported 0 runs") {
				t.Errorf("second import: exit %d, stdout %q", code, stdout)
			}
			if again := storedIDs(t, db); len(again) != len(ids) {
				t.Errorf("second import changed the store: %d runs, then %d", len(ids), len(again))
			}
			if code, out, _ := runProgrammeCLI(t, env, "history", "verify"); code != 0 {
				t.Errorf("history verify after import: exit %d\n%s", code, out)
			}
		})
	}
}

func TestHistoryImportReadsBack(t *testing.T) {
	t.Parallel()
	a := realDrillJSON(t, "readback")
	db := filepath.Join(t.TempDir(), "h.db")
	env := map[string]string{"DRILL_HISTORY": db}
	if code, _, stderr := runProgrammeCLI(t, env, "history", "import", a); code != 0 {
		t.Fatalf("import: exit %d\n%s", code, stderr)
	}
	code, stdout, _ := runProgrammeCLI(t, env, "due")
	if code != 0 || !strings.Contains(stdout, "readback") {
		t.Errorf("due does not know the imported drill: exit %d\n%s", code, stdout)
	}
}
