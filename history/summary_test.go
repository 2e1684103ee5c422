package history

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/drillhq/drill/result"
)

// TestSummaryRebuiltForOlderStores: a store written without the summary (or by an older drill
// after it) is read whole by a read-only reader and gets its summary back on the next Open.
func TestSummaryRebuiltForOlderStores(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		corrupt func(tx *bolt.Tx) error
	}{
		{"no summary bucket (written before it existed)", func(tx *bolt.Tx) error {
			if err := tx.DeleteBucket(bucketSummary); err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Delete(summaryRunsKey)
		}},
		{"a run appended by an older drill", func(tx *bolt.Tx) error {
			r := run("late", "etcd-loss", "orders", base.Add(72*time.Hour), result.VerdictPass)
			doc, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketRuns).Put([]byte(r.RunID), doc); err != nil {
				return err
			}
			key := indexKey(r.StartedAt, r.RunID)
			if err := tx.Bucket(bucketTime).Put(key, nil); err != nil {
				return err
			}
			return putIndex(tx.Bucket(bucketScenario), r.Scenario, key)
		}},
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
			for i, v := range []result.Verdict{result.VerdictPass, result.VerdictFail} {
				if err := s.Append(ctx, run(string(rune('a'+i)), "etcd-loss", "orders", base.Add(time.Duration(i)*time.Hour), v)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.db.Update(tt.corrupt); err != nil {
				t.Fatal(err)
			}
			s.Close()

			ro, err := OpenReadOnly(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok, err := ro.Summary(ctx, base.Add(1000*time.Hour)); err != nil || ok {
				t.Errorf("read-only Summary of an out-of-date store: ok %v, err %v; want it to decline", ok, err)
			}
			ro.Close()

			s, err = Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			runs, ok, err := s.Summary(ctx, base.Add(1000*time.Hour))
			if err != nil || !ok {
				t.Fatalf("Summary after Open: ok %v, err %v", ok, err)
			}
			all, err := s.List(ctx, Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) == 0 || runs[0].RunID != all[0].RunID {
				t.Errorf("rebuilt summary's latest run is not the newest stored run %s: %v", all[0].RunID, ids(runs))
			}
		})
	}
}
