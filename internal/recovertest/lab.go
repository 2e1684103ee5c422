package recovertest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/drillhq/drill/journal"
	"github.com/drillhq/drill/runner"
)

// LabRecordCases runs a lab resource type's Recover, twice (it must be idempotent), on what a
// killed drill can leave without a running process: a lab dir its manager had only begun
// (made: the entries the manager creates before its state file), a lab already removed, a
// kept lab (--keep-lab), and a begun dir holding a file of someone else's. record builds the
// journaled record for a dir. Taking down a started lab needs real servers: the built-binary
// tests in cmd/drill cover it.
func LabRecordCases(t *testing.T, typ runner.ResourceType, made []string, record func(dir string, keep bool) any) {
	t.Helper()
	tests := []struct {
		name     string
		keep     bool
		create   []string
		wantGone bool
		wantErr  bool
	}{
		{name: "unstarted", create: made, wantGone: true},
		{name: "already removed", wantGone: true},
		{name: "kept with --keep-lab", keep: true, create: made[:1]},
		{name: "unstarted with a stranger's file", create: append([]string{made[0]}, "mine.txt"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "drill-lab-x")
			for _, c := range tc.create {
				if err := os.MkdirAll(filepath.Join(dir, c), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			raw, err := json.Marshal(record(dir, tc.keep))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				err = typ.Recover(t.Context(), runner.NewEnv(nil, nil), raw)
				if (err != nil) != tc.wantErr {
					t.Fatalf("recover #%d: %v, want error %v", i+1, err, tc.wantErr)
				}
			}
			_, serr := os.Stat(dir)
			if gone := os.IsNotExist(serr); gone != tc.wantGone {
				t.Errorf("lab dir gone %v, want %v", gone, tc.wantGone)
			}
		})
	}
}

// AssertLabRemoved checks the journal w of a clean drill with a lab of type typ: the lab was
// journaled and marked removed by the drill, and nothing is left for `drill recover` (the
// journal finishes and is deleted).
func AssertLabRemoved(t *testing.T, w *journal.Writer, typ string) {
	t.Helper()
	run, err := journal.Read(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(run.Faults, func(f journal.Fault) bool { return f.Resource }); i < 0 || run.Faults[i].Type != typ || run.Faults[i].Note != "removed by the drill" {
		t.Errorf("journaled lab: %+v, want %s marked removed by the drill", run.Faults, typ)
	}
	if removed, err := w.Finish(); err != nil || !removed {
		t.Errorf("journal kept after a clean drill (pending %v): %v", run.Pending(), err)
	}
}
