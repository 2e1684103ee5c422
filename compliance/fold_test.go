package compliance

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/suite"
)

// manyRuns is a seeded history of n runs over six scenarios on three systems, spread from two
// months before q3 to after the report is generated, with every verdict, unmeasured and
// unrecovered RTOs, unproven passes, failed injections, dry runs and sign-offs.
func manyRuns(t testing.TB, n int) ([]*result.Result, map[string][]history.SignOff) {
	rng := rand.New(rand.NewPCG(14, 2026))
	from := q3.Since.AddDate(0, -2, 0)
	span := reportAt.Add(48 * time.Hour).Sub(from)
	signOffs := map[string][]history.SignOff{}
	var runs []*result.Result
	for i := range n {
		sc := i % 6
		at := from.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
		if i%97 == 0 && i > 0 {
			at = runs[i-1].StartedAt // same start: the run id breaks the tie
		}
		r := &result.Result{
			Schema: result.Schema, RunID: fmt.Sprintf("run-%05d", i), Scenario: fmt.Sprintf("scenario-%d", sc),
			System: fmt.Sprintf("system-%d", sc%3), Owner: "team", Cadence: []string{"weekly", "monthly", "quarterly"}[sc%3],
			ScenarioFile: fmt.Sprintf("drills/s%d.yaml", sc), ScenarioSHA256: strings.Repeat("ab", 32), ToolVersion: "test",
			StartedAt: at, FinishedAt: at.Add(time.Minute), T0: at.Add(time.Second).Format(result.T0Layout),
			Verdict: result.VerdictPass,
		}
		r.Objectives.RTO = result.RTO{TargetMs: 30000, ResolutionMs: 50}
		if sc%2 == 0 {
			r.Objectives.RPO.TargetMs = result.Int64(1000)
		}
		rto := rng.Int64N(60000)
		r.Objectives.RTO.MeasuredMs, r.Objectives.RTO.Met = result.Int64(rto), rto <= 30000
		r.Probes = []result.Probe{{Name: "health", Role: result.RoleAvailability}}
		switch k := rng.IntN(20); {
		case k < 4:
			r.Verdict = result.VerdictFail
			if k == 0 { // never recovered
				r.Objectives.RTO.MeasuredMs, r.Objectives.RTO.Met = nil, false
			}
		case k < 6:
			r.Verdict, r.Objectives.RTO.MeasuredMs, r.T0 = result.VerdictError, nil, ""
		case k == 6:
			r.Verdict = result.VerdictAborted
		case k == 7: // unproven: no availability probe saw anything
			r.Probes[0].NoDisruption = true
			r.Objectives.RTO.MeasuredMs = result.Int64(0)
		case k == 8: // a fault failed to inject: the RTO measured nothing
			r.Faults = []result.Fault{{Name: "f", Error: "denied"}}
			r.Verdict = result.VerdictError
		case k == 9:
			r.DryRun = true
		}
		if sc%2 == 0 && rng.IntN(3) > 0 {
			rpo := rng.Int64N(2000)
			r.Objectives.RPO.MeasuredMs, r.Objectives.RPO.Met = result.Int64(rpo), rpo <= 1000
		}
		if rng.IntN(10) == 0 {
			signOffs[r.RunID] = []history.SignOff{{RunID: r.RunID, By: "alice", At: at.Add(time.Hour)}}
		}
		runs = append(runs, r)
	}
	return runs, signOffs
}

// refScenario is what the old report computed by holding and scanning every run.
type refScenario struct {
	Stats            ScenarioStats
	Ladder           LadderCheck
	LastRun, LastPas string
	RTOTrend         []TrendPoint
}

// refTrend bins every run of the period at once: the worst of each of maxTrendPoints equal
// slices of the period, or every run when there are few.
func refTrend(rs []*result.Result) []TrendPoint {
	judgedPoint := func(r *result.Result) TrendPoint {
		row := rowOf(history.RowOf(r))
		return TrendPoint{At: row.StartedAt, RunID: r.RunID, Verdict: r.Verdict, Ms: row.RTOMeasuredMs, Met: row.RTOMet, Runs: 1}
	}
	out := []TrendPoint{}
	if len(rs) <= maxTrendPoints {
		for _, r := range rs {
			out = append(out, judgedPoint(r))
		}
		return out
	}
	bins := map[int][]*result.Result{}
	for _, r := range rs {
		b := int(float64(r.StartedAt.Sub(q3.Since)) / float64(q3.Until.Sub(q3.Since)) * maxTrendPoints)
		bins[b] = append(bins[b], r)
	}
	for b := range maxTrendPoints {
		var worst *TrendPoint
		for _, r := range bins[b] {
			p := judgedPoint(r)
			rank := func(p TrendPoint) int64 {
				switch {
				case p.Ms == nil && p.Verdict == result.VerdictFail:
					return 1 << 62
				case p.Ms != nil:
					return *p.Ms
				}
				return -1
			}
			if worst == nil || rank(p) > rank(*worst) {
				worst = &p
			}
		}
		if worst != nil {
			worst.Runs = len(bins[b])
			out = append(out, *worst)
		}
	}
	return out
}

// reference folds the figures the brute-force way: every run decoded, filtered and sorted,
// as Build did before the report scaled.
func reference(runs []*result.Result, signOffs map[string][]history.SignOff, asOf time.Time, entries []suite.Entry) (map[string]refScenario, Summary, []string) {
	var kept []*result.Result
	for _, r := range runs {
		if r.StartedAt.Before(asOf) && !r.DryRun {
			kept = append(kept, r)
		}
	}
	slices.SortStableFunc(kept, func(a, b *result.Result) int {
		if older(a, b) {
			return -1
		}
		if older(b, a) {
			return 1
		}
		return 0
	})
	inPeriod := func(r *result.Result) bool { return !r.StartedAt.Before(q3.Since) && r.StartedAt.Before(q3.Until) }
	judged := func(r *result.Result) *int64 {
		for _, f := range r.Faults {
			if f.Error != "" {
				return nil
			}
		}
		return r.Objectives.RTO.MeasuredMs
	}
	out := map[string]refScenario{}
	var sum Summary
	var awaiting []string
	for _, e := range entries {
		var ref refScenario
		var measured []*int64
		var values []int64
		var period []*result.Result
		for _, r := range kept {
			if r.Scenario != e.Name {
				continue
			}
			ref.LastRun = r.RunID
			proven := r.Verdict == result.VerdictPass && !r.IsUnproven()
			if proven {
				ref.LastPas = r.RunID
			}
			if !inPeriod(r) {
				continue
			}
			ref.Stats.Runs++
			period = append(period, r)
			switch r.Verdict {
			case result.VerdictPass:
				ref.Stats.Passed++
				if r.IsUnproven() {
					ref.Stats.PassedUnproven++
				}
			case result.VerdictFail:
				ref.Stats.Failed++
			default:
				ref.Stats.Errored++
			}
			if proven || r.Verdict == result.VerdictFail {
				measured = append(measured, judged(r))
				if m := judged(r); m != nil {
					values = append(values, *m)
				} else {
					ref.Stats.Unrecovered++
				}
			}
			if len(signOffs[r.RunID]) == 0 {
				awaiting = append(awaiting, r.RunID)
			}
		}
		if len(values) > 0 {
			slices.Sort(values)
			ref.Stats.WorstRTOMs = result.Int64(values[len(values)-1])
			ref.Stats.MedianRTOMs = result.Int64(values[(len(values)-1)/2])
		}
		if ref.Stats.Runs > 0 {
			ref.Stats.PassRate = float64(ref.Stats.Passed-ref.Stats.PassedUnproven) / float64(ref.Stats.Runs)
		}
		ref.Ladder = CheckLadder(e.RTO.Milliseconds(), e.Criticality, measured)
		ref.RTOTrend = refTrend(period)
		out[e.Name] = ref
		sum.Runs += ref.Stats.Runs
		sum.Passed += ref.Stats.Passed
		sum.PassedUnproven += ref.Stats.PassedUnproven
		sum.Failed += ref.Stats.Failed
		sum.Errored += ref.Stats.Errored
	}
	// Awaiting sign-off is oldest first across scenarios; kept is already in that order.
	order := map[string]int{}
	for i, r := range kept {
		order[r.RunID] = i
	}
	slices.SortFunc(awaiting, func(a, b string) int { return order[a] - order[b] })
	return out, sum, awaiting
}

// TestFoldedFiguresMatchEveryRun: the figures folded from rows, through memory and through a
// real history store, equal those computed by holding every run; the report cites and lists
// a bounded number of runs however many there are.
func TestFoldedFiguresMatchEveryRun(t *testing.T) {
	t.Parallel()
	const n = 3000
	runs, signOffs := manyRuns(t, n)
	in := Input{Period: q3, Now: reportAt, Runs: runs, SignOffs: signOffs, ToolVersion: "test"}
	fromMemory := Build(in)

	store, err := history.Open(filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var stored []*result.Result
	for _, r := range runs {
		if !r.DryRun {
			stored = append(stored, r)
		}
	}
	if _, err := store.Import(context.Background(), stored); err != nil {
		t.Fatal(err)
	}
	in.Runs = nil
	fromStore, err := BuildFrom(context.Background(), in, store)
	if err != nil {
		t.Fatal(err)
	}
	// The store never holds dry runs, so only the note about them differs.
	withoutDryNote := func(rep *Report) Report {
		c := *rep
		c.Notes = slices.DeleteFunc(slices.Clone(c.Notes), func(s string) bool { return strings.Contains(s, "dry run") })
		if len(c.Notes) == 0 {
			c.Notes = nil
		}
		return c
	}
	if diff := cmp.Diff(withoutDryNote(fromMemory), withoutDryNote(fromStore)); diff != "" {
		t.Errorf("report from the store differs from the report from memory (-memory +store):\n%s", diff)
	}

	asOf := q3.Until
	var entries []suite.Entry
	for _, sys := range fromMemory.Systems {
		for _, sc := range sys.Scenarios {
			entries = append(entries, suite.Entry{Name: sc.Name, RTO: time.Duration(sc.RTOTargetMs) * time.Millisecond, Criticality: sc.Criticality})
		}
	}
	if len(entries) != 6 {
		t.Fatalf("%d scenarios in the report, want 6", len(entries))
	}
	want, wantSum, wantAwaiting := reference(runs, signOffs, asOf, entries)
	for _, rep := range []*Report{fromMemory, fromStore} {
		got := map[string]refScenario{}
		listed := 0
		for _, sys := range rep.Systems {
			for _, sc := range sys.Scenarios {
				g := refScenario{Stats: sc.Stats, Ladder: sc.Ladder, RTOTrend: sc.RTOTrend}
				if sc.LastRun != nil {
					g.LastRun = sc.LastRun.RunID
				}
				if sc.LastPass != nil {
					g.LastPas = sc.LastPass.RunID
				}
				got[sc.Name] = g
				if sc.RunsInPeriod != sc.Stats.Runs || sc.RunsNotListed != sc.RunsInPeriod-len(sc.Runs) {
					t.Errorf("%s: %d runs in period, %d listed, %d not listed", sc.Name, sc.RunsInPeriod, len(sc.Runs), sc.RunsNotListed)
				}
				listed += len(sc.Runs)
				total := 0
				for _, p := range sc.RTOTrend {
					total += p.Runs
				}
				if total != sc.Stats.Runs || len(sc.RTOTrend) > maxTrendPoints {
					t.Errorf("%s: RTO trend has %d points for %d runs; want every run counted in at most %d points", sc.Name, len(sc.RTOTrend), total, maxTrendPoints)
				}
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("per-scenario figures (-every run +folded):\n%s", diff)
		}
		sum := rep.Summary
		sum.Systems, sum.Compliant, sum.Overdue, sum.Failing, sum.NeverDrilled, sum.Unproven = 0, 0, 0, 0, 0, 0
		if diff := cmp.Diff(wantSum, sum); diff != "" {
			t.Errorf("summary (-every run +folded):\n%s", diff)
		}
		if diff := cmp.Diff(wantAwaiting, rep.AwaitingSignOff); diff != "" {
			t.Errorf("awaiting sign-off (-every run +folded):\n%s", diff)
		}
		// Bounded: per scenario at most its newest run, last pass, newest failures and
		// sign-offs are cited; the table adds at most the newest few.
		if max := 6 * (2 + citedFailures + citedSignedOff); len(rep.Runs) > max || len(rep.Evidence) > max+6*listedRecent {
			t.Errorf("%d runs in the evidence, %d timelines; want at most %d timelines", len(rep.Evidence), len(rep.Runs), max)
		}
		if listed > 6*(listedRecent+2+citedFailures+citedSignedOff) {
			t.Errorf("%d runs listed in the scenario tables", listed)
		}
		if rep.RunsWithoutTimeline != rep.Summary.Runs-len(rep.Runs) || rep.Summary.Runs < n/2 {
			t.Errorf("%d runs in period, %d timelines, %d without", rep.Summary.Runs, len(rep.Runs), rep.RunsWithoutTimeline)
		}
	}
}

// TestCitedRunsAreTheNewest: the failures and sign-offs cited for a scenario are its newest
// ones in the period.
func TestCitedRunsAreTheNewest(t *testing.T) {
	t.Parallel()
	runs, signOffs := manyRuns(t, 1200)
	rep := Build(Input{Period: q3, Now: reportAt, Runs: runs, SignOffs: signOffs})
	cited := map[string]bool{}
	for _, r := range rep.Runs {
		cited[r.RunID] = true
	}
	byScenario := map[string][]*result.Result{}
	for _, r := range runs {
		if !r.DryRun && !r.StartedAt.Before(q3.Since) && r.StartedAt.Before(q3.Until) {
			byScenario[r.Scenario] = append(byScenario[r.Scenario], r)
		}
	}
	for name, rs := range byScenario {
		slices.SortFunc(rs, func(a, b *result.Result) int {
			if older(a, b) {
				return 1
			}
			if older(b, a) {
				return -1
			}
			return 0
		}) // newest first
		if !cited[rs[0].RunID] {
			t.Errorf("%s: newest run %s not cited", name, rs[0].RunID)
		}
		fails, signed := 0, 0
		for _, r := range rs {
			if r.Verdict != result.VerdictPass && fails < citedFailures {
				fails++
				if !cited[r.RunID] {
					t.Errorf("%s: failure %s is among the newest %d but not cited", name, r.RunID, citedFailures)
				}
			}
			if len(signOffs[r.RunID]) > 0 && signed < citedSignedOff {
				signed++
				if !cited[r.RunID] {
					t.Errorf("%s: signed-off run %s is among the newest %d but not cited", name, r.RunID, citedSignedOff)
				}
			}
		}
	}
}

// TestManyRunsRenderBounded: with thousands of runs the HTML and Markdown list a bounded
// number of runs, sign-offs awaited and findings, say how many they leave out and where the
// rest is, and still count every run.
func TestManyRunsRenderBounded(t *testing.T) {
	t.Parallel()
	runs, signOffs := manyRuns(t, 3000)
	var findings []history.Finding
	for i := range 40 {
		f := history.Finding{ID: fmt.Sprintf("F-%04d", i), System: "system-0", Scenario: "scenario-0", RunID: fmt.Sprintf("run-%05d", i*6),
			Verdict: result.VerdictFail, What: "fail", OpenedAt: q3.Since.Add(time.Duration(i) * time.Hour), Status: history.FindingOpen}
		if i < 2 { // overdue ones are always listed
			f.Owner, f.Due = "team", q3.Since.Add(24*time.Hour)
		}
		findings = append(findings, f)
	}
	rep := Build(Input{Period: q3, Now: reportAt, Runs: runs, SignOffs: signOffs, Findings: findings})
	page := string(renderHTML(t, rep))
	var md bytes.Buffer
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.AwaitingSignOff) <= listedAwaiting || rep.RunsWithoutTimeline == 0 {
		t.Fatalf("fixture too small: %d awaiting, %d without timeline", len(rep.AwaitingSignOff), rep.RunsWithoutTimeline)
	}
	counts := []struct {
		what      string
		got, want int
	}{
		{"timelines", strings.Count(page, `<figure id="run-`), len(rep.Runs)},
		{"runs awaiting sign-off listed", strings.Count(between(page, `<ul class="awaiting">`, "</ul>"), "<li>"), listedAwaiting},
		{"findings listed", strings.Count(page, `<tr data-finding=`), 2 + listedFindings},
		{"tables saying runs are not listed", strings.Count(page, `data-not-listed=`), 6},
		{"markdown: runs awaiting sign-off listed", strings.Count(md.String(), "\n- `run-"), listedAwaiting},
	}
	for _, c := range counts {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
		}
	}
	for _, want := range []string{
		fmt.Sprintf(`data-without-timeline="%d"`, rep.RunsWithoutTimeline),
		fmt.Sprintf(`data-findings-not-listed="%d"`, 40-2-listedFindings),
		"<code>" + rep.RunList + "</code>",
		"<code>" + rep.RunList + " --scenario scenario-0</code>",
		fmt.Sprintf(`<div class="n">%d</div><div class="l">drill runs in period`, rep.Summary.Runs),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if !strings.Contains(md.String(), fmt.Sprintf("The other %d runs in the period are counted", rep.RunsWithoutTimeline)) {
		t.Error("Markdown does not say how many runs have no timeline")
	}
}

// between is the part of s after the first start and before the next end.
func between(s, start, end string) string {
	_, after, _ := strings.Cut(s, start)
	in, _, _ := strings.Cut(after, end)
	return in
}

// TestTrendAxisOfALongPeriod: a period starting decades before its runs charts from a day
// before the first run, with a handful of year ticks, not months of empty axis.
func TestTrendAxisOfALongPeriod(t *testing.T) {
	t.Parallel()
	runs, _ := manyRuns(t, 600)
	long := Period{Label: "2000-01-01 to 2026-10-01", Since: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), Until: q3.Until}
	rep := Build(Input{Period: long, Now: reportAt, Runs: runs})
	first := map[string]time.Time{}
	for _, r := range runs {
		if f, ok := first[r.Scenario]; !r.DryRun && r.StartedAt.Before(q3.Until) && (!ok || r.StartedAt.Before(f)) {
			first[r.Scenario] = r.StartedAt
		}
	}
	for _, sys := range rep.Systems {
		for _, sc := range sys.Scenarios {
			if want := first[sc.Name].Add(-24 * time.Hour); !sc.TrendFrom.Equal(want) || !sc.TrendUntil.Equal(long.Until) {
				t.Errorf("%s: trend axis %s to %s, want %s to %s", sc.Name, sc.TrendFrom, sc.TrendUntil, want, long.Until)
			}
		}
	}
	for _, tc := range []struct {
		from     time.Time
		max      int
		yearOnly bool
	}{
		{long.Since, 8, true},
		{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 8, true},
		{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 8, false},
		{q3.Since, 4, false},
	} {
		ticks := timeTicks(tc.from, q3.Until)
		if len(ticks) == 0 || len(ticks) > tc.max {
			t.Errorf("from %s: %d ticks, want 1 to %d", tc.from, len(ticks), tc.max)
		}
		for _, tk := range ticks {
			if tc.yearOnly && (tk.at.Month() != time.January || tk.at.Day() != 1 || len(tk.label) != 4) {
				t.Errorf("from %s: tick %q at %s is not a year", tc.from, tk.label, tk.at)
			}
		}
	}
}
