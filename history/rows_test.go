package history

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/drillhq/drill/result"
)

// rowsOf walks src with f and collects the rows.
func rowsOf(t *testing.T, src RowSource, f Filter) []Row {
	t.Helper()
	var out []Row
	if err := src.Rows(context.Background(), f, func(r Row) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantRows is the reference: List (newest first) reversed, each run's row computed from the
// whole document.
func wantRows(t *testing.T, s *Store, f Filter) []Row {
	t.Helper()
	runs, err := s.List(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	var out []Row
	for i := len(runs) - 1; i >= 0; i-- {
		out = append(out, RowOf(runs[i]))
	}
	return out
}

// TestRowsMatchTheRuns: the row index returns, for any filter, exactly the rows of the runs List
// returns, oldest first, whether it is read from the index, rebuilt by Open, or computed from
// the documents by a read-only reader of a store without it.
func TestRowsMatchTheRuns(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 40 {
		v := []result.Verdict{result.VerdictPass, result.VerdictFail, result.VerdictError}[i%3]
		r := run(fmt.Sprintf("r%02d", i), fmt.Sprintf("sc-%d", i%4), fmt.Sprintf("sys-%d", i%2), base.Add(time.Duration(i*7%40)*time.Hour), v)
		r.Objectives.RTO.TargetMs = 5000
		if v != result.VerdictError {
			r.Objectives.RTO.MeasuredMs = result.Int64(int64(100 * i))
		}
		r.Probes = []result.Probe{{Name: "h", NoDisruption: i%5 == 0}, {Name: "w", Role: result.RoleData}}
		if i%7 == 0 {
			r.Faults = []result.Fault{{Name: "f", Error: "boom"}}
		}
		if err := s.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	filters := []Filter{
		{},
		{System: "sys-1"},
		{Scenario: "sc-2"},
		{Since: base.Add(10 * time.Hour), Until: base.Add(30 * time.Hour)},
		{System: "sys-0", Until: base.Add(20 * time.Hour)},
		{Scenario: "none"},
	}
	check := func(t *testing.T, s *Store) {
		for _, f := range filters {
			got, want := rowsOf(t, s, f), wantRows(t, s, f)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("filter %+v:\n got %+v\nwant %+v", f, got, want)
			}
		}
	}
	check(t, s)
	if n := len(rowsOf(t, s, Filter{})); n != 40 {
		t.Fatalf("%d rows, want 40", n)
	}
	// A store written before the index existed: a read-only reader decodes the runs, Open
	// rebuilds it.
	if err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketRows); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Delete(rowsRunsKey)
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.db.View(func(tx *bolt.Tx) error {
		if rowIndex.current(tx) {
			t.Error("rows current without the index")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	check(t, ro)
	ro.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.db.View(func(tx *bolt.Tx) error {
		if !rowIndex.current(tx) {
			t.Error("Open did not rebuild the row index")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	check(t, s)
}

// TestRowOf: the facts a row derives from the document.
func TestRowOf(t *testing.T) {
	t.Parallel()
	r := run("a", "sc", "sys", time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), result.VerdictPass)
	r.T0 = "2026-07-01T00:00:01Z"
	r.Probes = []result.Probe{{Name: "h", NoDisruption: true}, {Name: "g", Role: result.RoleAvailability, NoDisruption: true}, {Name: "w", Role: result.RoleData, NoDisruption: true}}
	r.Faults = []result.Fault{{Name: "ok"}, {Name: "bad", Error: "denied"}}
	row := RowOf(r)
	if !row.HasT0 || row.AvailProbes != 2 || row.QuietProbes != 2 || !row.FaultError || row.Unproven != r.IsUnproven() {
		t.Errorf("row %+v", row)
	}
	doc, err := json.Marshal(row)
	if err != nil {
		t.Fatal(err)
	}
	var back Row
	if err := json.Unmarshal(doc, &back); err != nil || !reflect.DeepEqual(back, row) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}
