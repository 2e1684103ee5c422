package history

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/drillhq/drill/result"
)

// The per-scenario summary lets `drill due` read one small record per scenario instead of
// decoding every stored run (tens of thousands after a few years of CI drills).
//
//	summary         scenario -> scenarioSummary JSON
//	meta            "summary-runs" -> number of runs summarised (big-endian uint64)
//
// It is written in the same transaction as each run, so it never disagrees with the runs.
// A store written by a drill without it (or by an older drill after it, which appends runs
// without updating it) is recognised by the count differing from the number of runs: Open
// rebuilds it, and a read-only reader falls back to reading every run.
var (
	bucketSummary  = []byte("summary")
	summaryRunsKey = []byte("summary-runs")
)

// scenarioSummary holds trimmed copies (see trim) of the runs due dates are computed from.
type scenarioSummary struct {
	Latest *result.Result `json:"latest,omitempty"` // newest run of any verdict
	Target *result.Result `json:"target,omitempty"` // newest run that recorded an RTO target
	Pass   *result.Result `json:"pass,omitempty"`   // newest pass that proves recovery
}

// Summarizer is a history that can answer due-date questions from its summary.
type Summarizer interface {
	// Summary returns, for every scenario, its newest run, newest run with an RTO target and
	// newest proven pass (trimmed to the fields due dates and programme entries need).
	// ok is false when the summary cannot answer for now (missing, out of date, or runs
	// started after now): the caller must then read the runs themselves.
	Summary(ctx context.Context, now time.Time) (runs []*result.Result, ok bool, err error)
}

// trim keeps what suite.Due and suite.EntriesFromHistory read. Unproven is set from the whole
// run, since the probes it was judged from are dropped.
func trim(r *result.Result) *result.Result {
	t := &result.Result{
		Schema: r.Schema, RunID: r.RunID, Scenario: r.Scenario, ScenarioFile: r.ScenarioFile,
		ScenarioSHA256: r.ScenarioSHA256, System: r.System, Owner: r.Owner, Cadence: r.Cadence,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Verdict: r.Verdict, Unproven: r.IsUnproven(),
	}
	t.Objectives.RTO.TargetMs = r.Objectives.RTO.TargetMs
	t.Objectives.RPO.TargetMs = r.Objectives.RPO.TargetMs
	return t
}

// newer orders runs as List does: by start time, then run id.
func newer(a, b *result.Result) bool {
	if !a.StartedAt.Equal(b.StartedAt) {
		return a.StartedAt.After(b.StartedAt)
	}
	return a.RunID > b.RunID
}

func (s *scenarioSummary) add(r *result.Result) {
	if s.Latest == nil || newer(r, s.Latest) {
		s.Latest = trim(r)
	}
	if r.Objectives.RTO.TargetMs > 0 && (s.Target == nil || newer(r, s.Target)) {
		s.Target = trim(r)
	}
	if r.Verdict == result.VerdictPass && !r.IsUnproven() && (s.Pass == nil || newer(r, s.Pass)) {
		s.Pass = trim(r)
	}
}

func summaryKey(scenario string) []byte {
	if scenario == "" {
		return []byte("\x00")
	}
	return []byte(scenario)
}

// summarise adds r to the summary in tx (summaryIndex.put counts it).
func summarise(tx *bolt.Tx, r *result.Result) error {
	b := tx.Bucket(bucketSummary)
	if !r.DryRun { // due dates ignore dry runs; older drills may have stored some
		var sum scenarioSummary
		key := summaryKey(r.Scenario)
		if v := b.Get(key); v != nil {
			if err := json.Unmarshal(v, &sum); err != nil {
				return fmt.Errorf("decode summary of %s: %w", r.Scenario, err)
			}
		}
		sum.add(r)
		doc, err := json.Marshal(sum)
		if err != nil {
			return fmt.Errorf("encode summary of %s: %w", r.Scenario, err)
		}
		if err := b.Put(key, doc); err != nil {
			return err
		}
	}
	return nil
}

// Summary implements Summarizer.
func (s *Store) Summary(ctx context.Context, now time.Time) (runs []*result.Result, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("read history summary: %w", err)
	}
	if s.db == nil {
		return nil, true, nil // no store yet: no runs
	}
	defer recoverCorrupt("read history summary", s.path, &err)
	err = s.db.View(func(tx *bolt.Tx) error {
		if ok = summaryIndex.current(tx); !ok {
			return nil
		}
		return tx.Bucket(bucketSummary).ForEach(func(k, v []byte) error {
			var sum scenarioSummary
			if err := json.Unmarshal(v, &sum); err != nil {
				return fmt.Errorf("decode summary of %s: %w", k, err)
			}
			// Due dates at now ignore runs started later; only the runs can answer then.
			if sum.Latest != nil && sum.Latest.StartedAt.After(now) {
				ok = false
				return nil
			}
			for _, r := range []*result.Result{sum.Latest, sum.Target, sum.Pass} {
				if r != nil {
					runs = append(runs, r)
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, false, fmt.Errorf("read history summary %s: %w", s.path, err)
	}
	if !ok {
		return nil, false, nil
	}
	return runs, true, nil
}
