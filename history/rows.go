package history

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/drillhq/drill/result"
)

// The row index lets the compliance report fold over every run of a period without decoding
// the run documents: a row is the ~250 bytes of a run the report's figures are computed from,
// against ~4 KB for the document with its probes, faults and timeline.
//
//	rows            timeKey(startedAt) + runId -> Row JSON (same keys as by-time)
//	meta            "row-runs-v2" -> number of runs indexed (big-endian uint64)
//
// Like the summary it is written in the same transaction as each run, rebuilt by Open when the
// count differs from the number of runs (a store from a drill without it, or appended to by
// one), and a read-only reader of such a store falls back to decoding the runs.
var (
	bucketRows = []byte("rows")
	// The key names the row format: a store indexed by an older one counts as out of date and
	// is re-indexed (v2 added the RPO source).
	rowsRunsKey = []byte("row-runs-v2")
)

// Row is what the compliance report needs of every run: identity, verdict, the judged
// objectives and the raw facts the report's labels are derived from. Runs it cites in full
// are read with Get.
type Row struct {
	RunID     string             `json:"id"`
	Scenario  string             `json:"sc"`
	System    string             `json:"sys"`
	StartedAt time.Time          `json:"at"`
	Verdict   result.Verdict     `json:"v"`
	Reason    string             `json:"why,omitempty"`
	Abort     result.AbortReason `json:"abort,omitempty"`
	DryRun    bool               `json:"dry,omitempty"`
	// HasT0: a fault was injected (the result has a t0).
	HasT0 bool `json:"t0,omitempty"`
	// Unproven is result.IsUnproven of the whole run.
	Unproven bool `json:"unp,omitempty"`
	// AvailProbes and QuietProbes count the availability probes and those of them that saw no
	// disruption.
	AvailProbes int `json:"avail,omitempty"`
	QuietProbes int `json:"quiet,omitempty"`
	// FaultError: a fault failed to inject, so the measured RTO is not a recovery time.
	FaultError    bool   `json:"ferr,omitempty"`
	RTOTargetMs   int64  `json:"rtoT,omitempty"`
	RTOMeasuredMs *int64 `json:"rto,omitempty"`
	RTOMet        bool   `json:"rtoOk,omitempty"`
	ResolutionMs  int64  `json:"res,omitempty"`
	RPOTargetMs   *int64 `json:"rpoT,omitempty"`
	RPOMeasuredMs *int64 `json:"rpo,omitempty"`
	RPOMet        bool   `json:"rpoOk,omitempty"`
	LostWrites    int    `json:"lost,omitempty"`
	// RPOSource says how RPO was measured: a lost-write count means something only from a
	// data probe.
	RPOSource string `json:"rpoSrc,omitempty"`
}

// RowOf is the row of r.
func RowOf(r *result.Result) Row {
	o := r.Objectives
	row := Row{
		RunID: r.RunID, Scenario: r.Scenario, System: r.System, StartedAt: r.StartedAt,
		Verdict: r.Verdict, Reason: r.Reason, Abort: r.Abort, DryRun: r.DryRun, HasT0: r.T0 != "", Unproven: r.IsUnproven(),
		RTOTargetMs: o.RTO.TargetMs, RTOMeasuredMs: o.RTO.MeasuredMs, RTOMet: o.RTO.Met, ResolutionMs: o.RTO.ResolutionMs,
		RPOTargetMs: o.RPO.TargetMs, RPOMeasuredMs: o.RPO.MeasuredMs, RPOMet: o.RPO.Met, LostWrites: o.RPO.LostWrites,
		RPOSource: o.RPO.Source,
	}
	for _, p := range r.Probes {
		if p.IsAvailability() {
			row.AvailProbes++
			if p.NoDisruption {
				row.QuietProbes++
			}
		}
	}
	for _, f := range r.Faults {
		if f.Error != "" {
			row.FaultError = true
		}
	}
	return row
}

// RowSource is a history that can walk the rows of its runs. Store implements it.
type RowSource interface {
	// Rows calls fn with the row of every run f matches, oldest first (by start time, then run
	// id); f.Limit is ignored.
	Rows(ctx context.Context, f Filter, fn func(Row) error) error
	// Get returns one full run.
	Get(ctx context.Context, runID string) (*result.Result, bool, error)
}

func (row Row) match(f Filter) bool {
	return (f.System == "" || row.System == f.System) && (f.Scenario == "" || row.Scenario == f.Scenario) &&
		(f.Since.IsZero() || !row.StartedAt.Before(f.Since)) && (f.Until.IsZero() || row.StartedAt.Before(f.Until))
}

// putRow adds r's row to the index in tx (rowIndex.put counts it).
func putRow(tx *bolt.Tx, r *result.Result, key []byte) error {
	doc, err := json.Marshal(RowOf(r))
	if err != nil {
		return fmt.Errorf("encode row of %s: %w", r.RunID, err)
	}
	b := tx.Bucket(bucketRows)
	// Runs arrive in time order almost always (a run is appended when it ends), so pages are
	// filled before they split instead of half: the report reads every row page, and half-empty
	// pages double what it maps.
	b.FillPercent = 0.9
	return b.Put(key, doc)
}

// Rows implements RowSource. It reads the row index, or decodes every run when the index is
// out of date and the store is open read-only.
func (s *Store) Rows(ctx context.Context, f Filter, fn func(Row) error) (err error) {
	if s.db == nil {
		return nil
	}
	defer recoverCorrupt("read history rows", s.path, &err)
	err = s.db.View(func(tx *bolt.Tx) error {
		current := rowIndex.current(tx)
		rows, runs := tx.Bucket(bucketRows), tx.Bucket(bucketRuns)
		if runs == nil {
			return nil
		}
		idx := narrowestIndex(tx, f) // its keys are the row keys
		if idx == nil {
			return nil
		}
		// Without a system or scenario, the row bucket itself is the time index.
		whole := current && f.System == "" && f.Scenario == ""
		if whole {
			idx = rows
		}
		c := idx.Cursor()
		k, v := c.First()
		if !f.Since.IsZero() {
			k, v = c.Seek(timePrefix(f.Since))
		}
		until := timePrefix(f.Until)
		for ; k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !f.Until.IsZero() && bytes.Compare(k[:8], until) >= 0 {
				break
			}
			var row Row
			if current {
				doc := v
				if !whole {
					doc = rows.Get(k)
				}
				if doc == nil {
					return fmt.Errorf("index names run %s but it has no row", k[8:])
				}
				if err := json.Unmarshal(doc, &row); err != nil {
					return fmt.Errorf("decode row of run %s: %w", k[8:], err)
				}
			} else {
				r, err := indexedRun(runs, k)
				if err != nil {
					return err
				}
				row = RowOf(r)
			}
			if !row.match(f) {
				continue
			}
			if err := fn(row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read history rows %s: %w", s.path, err)
	}
	return nil
}

// Summary is the row as a result holding only what the row has (no probes, faults, steps or
// events; Unproven set from the whole run): enough for a table of runs.
func (row Row) Summary() *result.Result {
	r := &result.Result{
		Schema: result.Schema, RunID: row.RunID, Scenario: row.Scenario, System: row.System, StartedAt: row.StartedAt,
		Verdict: row.Verdict, Reason: row.Reason, Abort: row.Abort, DryRun: row.DryRun, Unproven: row.Unproven,
	}
	r.Objectives.RTO = result.RTO{TargetMs: row.RTOTargetMs, MeasuredMs: row.RTOMeasuredMs, Met: row.RTOMet, ResolutionMs: row.ResolutionMs}
	r.Objectives.RPO = result.RPO{TargetMs: row.RPOTargetMs, MeasuredMs: row.RPOMeasuredMs, Met: row.RPOMet, LostWrites: row.LostWrites, Source: row.RPOSource}
	return r
}
