package etcdenv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/drillhq/drill/runner"
)

// Recover of the etcd lab record, on what a killed drill can leave without a running member: a
// lab dir Up had only begun (no state file), a lab already removed, a kept lab (--keep-lab).
// Taking down a started lab is covered on the built binary (cmd/drill).
func TestRecoverLabRecord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		keep     bool
		create   []string
		wantGone bool
		wantErr  bool
	}{
		{name: "unstarted", create: []string{"members", "logs", "snapshots"}, wantGone: true},
		{name: "already removed", wantGone: true},
		{name: "kept with --keep-lab", keep: true, create: []string{"members"}},
		{name: "unstarted with a stranger's file", create: []string{"members", "mine.txt"}, wantErr: true},
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
			raw, err := json.Marshal(LabRecord{Dir: dir, OwnerPID: 4242, Keep: tc.keep})
			if err != nil {
				t.Fatal(err)
			}
			typ := LabResourceType()
			for i := range 2 { // idempotent
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
