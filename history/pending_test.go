package history

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/drillhq/drill/result"
)

// TestFindingsRetestedThroughPendingIndex: a pass retests the open findings of its scenario
// opened before it, whatever order runs arrive in, also on a store whose pending index is
// missing (written before it existed) or behind (an older drill added a finding).
func TestFindingsRetestedThroughPendingIndex(t *testing.T) {
	t.Parallel()
	at := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }
	dropIndex := func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketPending) }
	// As an older drill would leave it: a finding added (the sequence moved) without its entry.
	behind := func(tx *bolt.Tx) error {
		if _, err := tx.Bucket(bucketFindings).NextSequence(); err != nil {
			return err
		}
		return tx.Bucket(bucketPending).Delete(append(pendingPrefix("A"), "F-0001"...))
	}
	tests := []struct {
		name    string
		corrupt func(tx *bolt.Tx) error // applied between the failures and the passes
	}{
		{"index kept up to date", nil},
		{"index missing", dropIndex},
		{"index behind the findings", behind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "h.db")
			s, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Import(ctx, []*result.Result{
				run("a1", "A", "sys", at(1), result.VerdictFail), // F-0001
				run("b1", "B", "sys", at(2), result.VerdictFail), // F-0002
				run("a5", "A", "sys", at(5), result.VerdictFail), // F-0003, opened after the pass below
			}); err != nil {
				t.Fatal(err)
			}
			if tt.corrupt != nil {
				if err := s.db.Update(tt.corrupt); err != nil {
					t.Fatal(err)
				}
				s.Close()
				if s, err = Open(path); err != nil {
					t.Fatal(err)
				}
			}
			defer s.Close()
			if err := s.Append(ctx, run("a3", "A", "sys", at(3), result.VerdictPass)); err != nil {
				t.Fatal(err)
			}
			fs, err := s.Findings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"F-0001": "a3", "F-0002": "", "F-0003": ""}
			for _, f := range fs {
				got := ""
				if f.Retest != nil {
					got = f.Retest.RunID
				}
				if w, ok := want[f.ID]; !ok || got != w {
					t.Errorf("%s (run %s) retested by %q, want %q", f.ID, f.RunID, got, w)
				}
			}
			if len(fs) != len(want) {
				t.Errorf("%d findings, want %d", len(fs), len(want))
			}
			// A later pass retests the remaining finding of A, not B's.
			if err := s.Append(ctx, run("a9", "A", "sys", at(9), result.VerdictPass)); err != nil {
				t.Fatal(err)
			}
			fs, err = s.Findings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				if (f.ID == "F-0003") != (f.Retest != nil && f.Retest.RunID == "a9") {
					t.Errorf("after a9: %s retest %+v", f.ID, f.Retest)
				}
			}
		})
	}
}
