package suite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/result"
)

// summaryRun is a run with probes, so an undisturbed pass is recognised from its probes (as
// for results written before the Unproven field existed), not from a flag.
func summaryRun(id, scenario string, at time.Time, v result.Verdict, disturbed bool, rtoTarget int64) *result.Result {
	return &result.Result{
		Schema: result.Schema, RunID: id, Scenario: scenario, System: "sys-" + scenario, Cadence: "weekly",
		ScenarioFile: scenario + ".yaml", StartedAt: at, FinishedAt: at.Add(time.Minute),
		T0: at.Add(time.Second).Format(result.T0Layout), Verdict: v,
		Objectives: result.Objectives{RTO: result.RTO{TargetMs: rtoTarget}},
		Probes:     []result.Probe{{Name: "up", NoDisruption: !disturbed}},
	}
}

// TestSummaryAnswersAsTheRuns: due dates and programme entries computed from the store's
// summary equal those computed from every run.
func TestSummaryAnswersAsTheRuns(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name     string
		runs     []*result.Result
		summary  bool // whether the summary can answer at now
		wantPass string
	}{
		{"fail after pass", []*result.Result{
			summaryRun("a1", "a", now.Add(-10*day), result.VerdictPass, true, 5000),
			summaryRun("a2", "a", now.Add(-2*day), result.VerdictFail, true, 5000),
		}, true, "a1"},
		{"undisturbed pass proves nothing", []*result.Result{
			summaryRun("b1", "b", now.Add(-20*day), result.VerdictPass, true, 5000),
			summaryRun("b2", "b", now.Add(-1*day), result.VerdictPass, false, 5000),
		}, true, "b1"},
		{"same start time: higher run id is newer", []*result.Result{
			summaryRun("c1", "c", now.Add(-3*day), result.VerdictPass, true, 5000),
			summaryRun("c2", "c", now.Add(-3*day), result.VerdictPass, true, 5000),
		}, true, "c2"},
		{"newest run stored no RTO target", []*result.Result{
			summaryRun("d1", "d", now.Add(-9*day), result.VerdictPass, true, 7000),
			summaryRun("d2", "d", now.Add(-1*day), result.VerdictError, true, 0),
		}, true, "d1"},
		{"never passed", []*result.Result{
			summaryRun("e1", "e", now.Add(-1*day), result.VerdictFail, true, 5000),
		}, true, ""},
		{"run after now: only the runs can answer", []*result.Result{
			summaryRun("f1", "f", now.Add(-5*day), result.VerdictPass, true, 5000),
			summaryRun("f2", "f", now.Add(day), result.VerdictPass, true, 5000),
		}, false, "f1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, err := history.Open(filepath.Join(t.TempDir(), "h.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Import(ctx, tt.runs); err != nil {
				t.Fatal(err)
			}
			all, err := s.List(ctx, history.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			sum, ok, err := s.Summary(ctx, now)
			if err != nil || ok != tt.summary {
				t.Fatalf("Summary: ok %v, err %v; want ok %v", ok, err, tt.summary)
			}
			want := EntriesFromHistory(all)
			if ok {
				if diff := cmp.Diff(want, EntriesFromHistory(sum)); diff != "" {
					t.Errorf("entries from the summary differ (-runs +summary):\n%s", diff)
				}
			}
			got, err := DueFromHistory(ctx, now, want, s)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(Due(now, want, all), got); diff != "" {
				t.Errorf("due from the store differs from due over every run (-runs +store):\n%s", diff)
			}
			pass := ""
			if got[0].LastPass != nil {
				pass = got[0].LastPass.RunID
			}
			if pass != tt.wantPass {
				t.Errorf("last pass %q, want %q", pass, tt.wantPass)
			}
		})
	}
}
