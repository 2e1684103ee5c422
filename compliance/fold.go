package compliance

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/internal/english"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/suite"
)

// How much of a period's runs the report shows in full. Every figure (counts, pass rates,
// worst and median RTO, statuses, the ladder) is folded from every run; these bound only what
// is listed, so a programme that drills on every merge gets a report of the same size as one
// that drills quarterly. The full list is `drill history --json` (Report.RunList).
const (
	// listedRecent is how many of a scenario's newest runs in the period its table lists,
	// besides the runs the report cites.
	listedRecent = 5
	// citedFailures is how many of a scenario's newest runs in the period that did not pass
	// are cited with their timelines.
	citedFailures = 3
	// citedSignedOff is how many of a scenario's newest signed-off runs in the period are
	// cited with their timelines.
	citedSignedOff = 3
	// maxTrendPoints bounds a trend chart: beyond it runs are grouped into as many equal
	// slices of the period, each drawn as its worst run.
	maxTrendPoints = 60
)

// Build computes the report from in.Runs. It is pure: the same input gives the same report.
func Build(in Input) *Report {
	// An in-memory source never fails and Background is never cancelled.
	rep, _ := BuildFrom(context.Background(), in, newSliceSource(in.Runs))
	return rep
}

// BuildFrom computes the report from src instead of in.Runs: one pass over the rows of every
// run up to the end of the period, folded per scenario without keeping them, then the few
// runs the report cites read in full. Memory and output grow with scenarios, not runs.
func BuildFrom(ctx context.Context, in Input, src history.RowSource) (*Report, error) {
	asOf := in.Period.Until
	if !in.Now.IsZero() && in.Now.Before(asOf) {
		asOf = in.Now
	}
	asOf = asOf.UTC()
	rep := &Report{
		Schema:      Schema,
		GeneratedAt: in.Now.UTC(),
		ToolVersion: in.ToolVersion,
		Period:      Period{Label: in.Period.Label, Since: in.Period.Since.UTC(), Until: in.Period.Until.UTC()},
		AsOf:        asOf,
		Ladder: LadderInfo{Source: LadderSource, Rungs: Ladder(),
			Policy: "Recommended = the least costly strategy whose typical RTO meets the RTO target. drill policy: a critical system is recommended at least pilot light."},
		Systems:         []System{},
		Runs:            []Run{},
		Evidence:        []Evidence{},
		AwaitingSignOff: []string{},
		Findings:        []FindingRow{},
		RunList:         runListCommand(in.Period, asOf),
	}
	if in.SuiteFile != "" {
		rep.Suite = &SuiteRef{File: in.SuiteFile, Name: in.SuiteName}
	}
	inPeriod := func(at time.Time) bool { return !at.Before(in.Period.Since) && at.Before(in.Period.Until) }

	// Evidence is what happened up to AsOf; dry runs changed nothing and prove nothing.
	folds := map[string]*scenarioFold{}
	dry := 0
	err := src.Rows(ctx, history.Filter{Until: asOf}, func(r history.Row) error {
		if r.DryRun {
			dry++
			return nil
		}
		f := folds[r.Scenario]
		if f == nil {
			f = &scenarioFold{trend: trendFold{period: rep.Period}}
			folds[r.Scenario] = f
		}
		f.add(r, inPeriod(r.StartedAt), len(in.SignOffs[r.RunID]) > 0)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	}
	if dry > 0 {
		rep.Notes = append(rep.Notes, english.Count(dry, "dry run", "dry runs")+" excluded: a dry run injects nothing and is not evidence.")
	}

	// full reads the runs the report cites, once each.
	docs := map[string]*result.Result{}
	full := func(id string) (*result.Result, error) {
		if r, ok := docs[id]; ok {
			return r, nil
		}
		r, ok, err := src.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("build report: %w", err)
		}
		if !ok {
			return nil, fmt.Errorf("build report: run %s is indexed but not stored", id)
		}
		docs[id] = r
		return r, nil
	}

	entries := in.Entries
	if entries == nil {
		// The programme is every scenario in history, described by its newest run (and the
		// newest that recorded an RTO target).
		var newest []*result.Result
		for _, name := range sortedFolds(folds) {
			f := folds[name]
			for _, row := range []*history.Row{f.target, f.lastRun} {
				if row == nil {
					continue
				}
				r, err := full(row.RunID)
				if err != nil {
					return nil, err
				}
				newest = append(newest, r)
			}
		}
		entries = suite.EntriesFromHistory(newest)
	}
	known := map[string]suite.Entry{}
	for _, e := range entries {
		known[e.Name] = e
	}
	outside := map[string]bool{}
	for name := range folds {
		if _, ok := known[name]; !ok {
			outside[name] = true
		}
	}
	if len(outside) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("History holds runs of %s outside this suite (%s); they are not part of this report.", english.Count(len(outside), "scenario", "scenarios"), strings.Join(sortedKeys(outside), ", ")))
	}

	// Due dates need only each scenario's newest run and newest proven pass.
	var latest []*result.Result
	for name, f := range folds {
		for _, row := range []*history.Row{f.lastRun, f.lastPass} {
			if row != nil {
				latest = append(latest, &result.Result{RunID: row.RunID, Scenario: name, StartedAt: row.StartedAt, Verdict: row.Verdict, Unproven: row.Unproven})
			}
		}
	}
	due := suite.Due(asOf, entries, latest)

	// cited runs get a timeline; every run the report names (cited or listed in a table) is
	// in the evidence appendix.
	cited, named := map[string]history.Row{}, map[string]history.Row{}
	systems := map[string]*System{}
	var order []string
	for i, e := range entries {
		f := folds[e.Name]
		if f == nil {
			f = &scenarioFold{trend: trendFold{period: rep.Period}}
		}
		sc := f.scenario(e, due[i], inPeriod)
		for _, row := range f.cited(inPeriod) {
			cited[row.RunID] = row
			named[row.RunID] = row
		}
		for _, row := range f.listed {
			named[row.RunID] = row
		}
		sys, ok := systems[e.System]
		if !ok {
			sys = &System{Name: e.System}
			systems[e.System] = sys
			order = append(order, e.System)
		}
		sys.Scenarios = append(sys.Scenarios, sc)
		if e.Owner != "" && !containsWord(sys.Owner, e.Owner) {
			sys.Owner = joinNonEmpty(sys.Owner, e.Owner)
		}
	}

	for _, name := range order {
		sys := systems[name]
		rollUp(sys)
		rep.Systems = append(rep.Systems, *sys)
		rep.Summary.Systems++
		switch sys.Status {
		case StatusCompliant:
			rep.Summary.Compliant++
		case StatusOverdue:
			rep.Summary.Overdue++
		case StatusFailing:
			rep.Summary.Failing++
		case StatusNeverDrilled:
			rep.Summary.NeverDrilled++
		case StatusUnproven:
			rep.Summary.Unproven++
		}
	}

	var awaiting []stamp
	lastUnproven := map[string]bool{}
	for _, e := range entries {
		f := folds[e.Name]
		if f == nil {
			continue
		}
		rep.Summary.Runs += f.stats.Runs
		rep.Summary.Passed += f.stats.Passed
		rep.Summary.PassedUnproven += f.stats.PassedUnproven
		rep.Summary.Failed += f.stats.Failed
		rep.Summary.Errored += f.stats.Errored
		awaiting = append(awaiting, f.awaiting...)
		if f.lastRun != nil {
			lastUnproven[f.lastRun.RunID] = f.lastRun.Unproven
		}
	}
	slices.SortFunc(awaiting, func(a, b stamp) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	for _, a := range awaiting {
		rep.AwaitingSignOff = append(rep.AwaitingSignOff, a.id)
	}

	citedRows := make([]history.Row, 0, len(named))
	for _, row := range named {
		citedRows = append(citedRows, row)
	}
	slices.SortFunc(citedRows, oldestFirst)
	for _, row := range citedRows {
		c, err := full(row.RunID)
		if err != nil {
			return nil, err
		}
		if _, ok := cited[c.RunID]; ok && inPeriod(c.StartedAt) {
			run := runOf(c)
			if run.RTOTargetMs == 0 {
				// Stored by an older drill that recorded no target when it stopped early.
				run.RTOTargetMs = known[c.Scenario].RTO.Milliseconds()
			}
			run.SignOffs = in.SignOffs[c.RunID]
			if run.SignOffs == nil {
				run.SignOffs = []history.SignOff{}
			}
			rep.Runs = append(rep.Runs, run)
		}
		ev := Evidence{
			RunID: c.RunID, Scenario: c.Scenario, System: c.System, StartedAt: c.StartedAt.UTC(),
			FinishedAt: c.FinishedAt.UTC(), T0: c.T0, Verdict: c.Verdict, ToolVersion: c.ToolVersion,
			ScenarioFile: c.ScenarioFile, ScenarioSHA256: c.ScenarioSHA256, InPeriod: inPeriod(c.StartedAt),
			Provenance: c.Provenance,
		}
		if now := known[c.Scenario].SHA256; in.Entries != nil && now != "" && c.ScenarioSHA256 != "" && now != c.ScenarioSHA256 {
			ev.ScenarioChanged = true
		}
		rep.Evidence = append(rep.Evidence, ev)
	}
	rep.RunsWithoutTimeline = rep.Summary.Runs - len(rep.Runs)

	for _, f := range in.Findings {
		if _, ok := known[f.Scenario]; !ok || f.OpenedAt.After(asOf) {
			continue
		}
		closedBefore := f.Status == history.FindingClosed && f.ClosedAt.Before(in.Period.Since)
		if closedBefore {
			continue
		}
		end := asOf
		if f.Status == history.FindingClosed && f.ClosedAt.Before(asOf) {
			end = f.ClosedAt
		}
		rep.Findings = append(rep.Findings, FindingRow{Finding: f, AgeDays: int(end.Sub(f.OpenedAt).Hours() / 24), Overdue: f.Overdue(asOf)})
	}
	rep.Controls, rep.ControlEvidence = Controls(), controlEvidence(rep.Systems, rep.Findings, lastUnproven)
	if changed := countChanged(rep.Evidence); changed > 0 {
		rep.Notes = append(rep.Notes, english.Count(changed, "cited run", "cited runs")+" used a different version of their scenario file than the one in the suite today (marked in the evidence appendix).")
	}
	return rep, nil
}

// runListCommand is the command that prints every run the report covers.
func runListCommand(p Period, asOf time.Time) string {
	cmd := "drill history --json"
	if !p.Since.IsZero() {
		cmd += " --since " + p.Since.UTC().Format(time.RFC3339)
	}
	return cmd + " --until " + asOf.UTC().Format(time.RFC3339)
}

// stamp orders runs without keeping them.
type stamp struct {
	at time.Time
	id string
}

// sample is one run's point on the trend charts.
type sample struct {
	at             time.Time
	runID          string
	verdict        result.Verdict
	rto, rpo       *int64
	rtoMet, rpoMet bool
}

// scenarioFold is what the report keeps of one scenario's runs while it walks them oldest
// first: the newest ones it may cite, counts and the figures of every run in the period.
type scenarioFold struct {
	lastRun, lastPass, target *history.Row // newest run, proven pass, run with an RTO target (any time before AsOf)
	stats                     ScenarioStats
	rtos                      []int64 // measured RTOs in the period, for the median
	anyRPO                    bool
	trend                     trendFold
	recent, failures, signed  []history.Row // newest few in the period
	listed                    []history.Row // the scenario table's runs, set by scenario
	awaiting                  []stamp
}

// keep appends row to a list that holds the newest n.
func keep(list []history.Row, row history.Row, n int) []history.Row {
	if len(list) < n {
		return append(list, row)
	}
	copy(list, list[1:])
	list[n-1] = row
	return list
}

func (f *scenarioFold) add(r history.Row, inPeriod, signed bool) {
	row := r
	f.lastRun = &row
	if r.Verdict == result.VerdictPass && !r.Unproven {
		f.lastPass = &row
	}
	if r.RTOTargetMs > 0 {
		f.target = &row
	}
	if !inPeriod {
		return
	}
	s := &f.stats
	s.Runs++
	switch r.Verdict {
	case result.VerdictPass:
		s.Passed++
		if r.Unproven {
			s.PassedUnproven++
		}
	case result.VerdictFail:
		s.Failed++
	default:
		s.Errored++
	}
	rr := rowOf(r)
	// Runs that errored or were aborted measured nothing about recovery; a failed run without
	// a measurement never recovered, and counts against the strategy.
	if (r.Verdict == result.VerdictPass && !r.Unproven) || r.Verdict == result.VerdictFail {
		if rr.RTOMeasuredMs == nil {
			s.Unrecovered++
		} else {
			f.rtos = append(f.rtos, *rr.RTOMeasuredMs)
		}
	}
	if rr.RPOMeasuredMs != nil {
		f.anyRPO = true
	}
	f.trend.add(sample{at: rr.StartedAt, runID: r.RunID, verdict: r.Verdict,
		rto: rr.RTOMeasuredMs, rtoMet: rr.RTOMet, rpo: rr.RPOMeasuredMs, rpoMet: rr.RPOMet})
	f.recent = keep(f.recent, r, listedRecent)
	if r.Verdict != result.VerdictPass {
		f.failures = keep(f.failures, r, citedFailures)
	}
	if signed {
		f.signed = keep(f.signed, r, citedSignedOff)
	} else {
		f.awaiting = append(f.awaiting, stamp{r.StartedAt, r.RunID})
	}
}

// cited is the runs of the scenario the report shows with their timelines: its last proven
// pass (perhaps before the period), and in the period its newest run, newest failures and
// newest sign-offs.
func (f *scenarioFold) cited(inPeriod func(time.Time) bool) []history.Row {
	var out []history.Row
	if f.lastPass != nil {
		out = append(out, *f.lastPass)
	}
	if f.lastRun != nil && inPeriod(f.lastRun.StartedAt) {
		out = append(out, *f.lastRun)
	}
	out = append(out, f.failures...)
	return append(out, f.signed...)
}

func (f *scenarioFold) scenario(e suite.Entry, d suite.Item, inPeriod func(time.Time) bool) Scenario {
	sc := Scenario{
		Name: e.Name, File: e.Path, SHA256: e.SHA256, Cadence: e.Cadence, Criticality: e.Criticality,
		RTOTargetMs: e.RTO.Milliseconds(), DueAt: d.DueAt, Runs: []RunRow{}, RTOTrend: []TrendPoint{}, RPOTrend: []TrendPoint{},
	}
	if e.RPO != nil {
		sc.RPOTargetMs = result.Int64(e.RPO.Milliseconds())
	}
	lastRun, lastPass := f.lastRun, f.lastPass
	sc.LastRun, sc.LastPass = refOf(lastRun), refOf(lastPass)
	sc.Stats = f.stats
	sc.RunsInPeriod = f.stats.Runs
	if n := len(f.rtos); n > 0 {
		sorted := slices.Clone(f.rtos)
		slices.Sort(sorted)
		sc.Stats.WorstRTOMs = result.Int64(sorted[n-1])
		sc.Stats.MedianRTOMs = result.Int64(sorted[(n-1)/2])
	}
	if sc.Stats.Runs > 0 {
		sc.Stats.PassRate = float64(sc.Stats.Passed-sc.Stats.PassedUnproven) / float64(sc.Stats.Runs)
	}
	sc.Ladder = ladderOf(sc.RTOTargetMs, sc.Criticality, sc.Stats.WorstRTOMs, sc.Stats.Unrecovered)

	// The table: the runs cited in the period and the newest few, oldest first.
	listed := map[string]history.Row{}
	for _, r := range f.recent {
		listed[r.RunID] = r
	}
	for _, r := range f.cited(inPeriod) {
		if inPeriod(r.StartedAt) {
			listed[r.RunID] = r
		}
	}
	rows := make([]history.Row, 0, len(listed))
	for _, r := range listed {
		rows = append(rows, r)
	}
	slices.SortFunc(rows, oldestFirst)
	f.listed = rows
	for _, r := range rows {
		row := rowOf(r)
		if row.RTOTargetMs == 0 {
			row.RTOTargetMs = sc.RTOTargetMs // an older drill's early stop recorded no target
		}
		sc.Runs = append(sc.Runs, row)
	}
	sc.RunsNotListed = sc.RunsInPeriod - len(sc.Runs)

	sc.TrendFrom, sc.TrendUntil = f.trend.from, f.trend.to
	if f.trend.n == 0 {
		sc.TrendFrom, sc.TrendUntil = trendSpan(f.trend.period, time.Time{})
	}
	sc.RTOTrend = f.trend.points(false)
	if sc.RPOTargetMs != nil || f.anyRPO {
		sc.RPOTrend = f.trend.points(true)
	}

	switch {
	case lastRun == nil:
		sc.Status = StatusNeverDrilled
		sc.StatusReason = "no drill on record"
	case lastRun.Verdict != result.VerdictPass:
		sc.Status = StatusFailing
		sc.StatusReason = fmt.Sprintf("latest drill %s: %s", Date(lastRun.StartedAt), lastRun.Verdict)
		if lastRun.Reason != "" {
			sc.StatusReason += " — " + lastRun.Reason
		}
	case lastPass == nil:
		sc.Status = StatusUnproven
		sc.StatusReason = fmt.Sprintf("latest drill %s passed but is unproven: %s", Date(lastRun.StartedAt), result.UnprovenText)
	case d.Status == suite.StatusOverdue:
		sc.Status = StatusOverdue
		sc.StatusReason = fmt.Sprintf("last passed %s; %s cadence: due %s, overdue by %s", Date(lastPass.StartedAt), e.Cadence, Date(d.DueAt), Days(d.Overdue))
	case d.Status == suite.StatusUnscheduled:
		sc.Status = StatusCompliant
		sc.StatusReason = fmt.Sprintf("passed %s; no cadence set", Date(lastPass.StartedAt))
	default:
		sc.Status = StatusCompliant
		sc.StatusReason = fmt.Sprintf("passed %s; next due %s", Date(lastPass.StartedAt), Date(d.DueAt))
	}
	if lastRun != nil && lastPass != nil && lastRun.RunID != lastPass.RunID && lastRun.Unproven {
		sc.StatusReason += fmt.Sprintf("; the latest drill (%s) is unproven: no disruption observed", Date(lastRun.StartedAt))
	}
	return sc
}

// ladderOf is CheckLadder from the folded figures: the worst measured RTO and the number of
// runs that never recovered.
func ladderOf(rtoTargetMs int64, criticality string, worst *int64, unrecovered int) LadderCheck {
	measured := make([]*int64, 0, unrecovered+1)
	if worst != nil {
		measured = append(measured, worst)
	}
	for range unrecovered {
		measured = append(measured, nil)
	}
	return CheckLadder(rtoTargetMs, criticality, measured)
}

// trendSpan is the time axis of a scenario's trend charts, given its first run in the period.
func trendSpan(p Period, first time.Time) (from, to time.Time) {
	from, to = p.Since, p.Until
	// A period far longer than its runs (--since 2000-01-01) would squeeze them all into the
	// chart's last pixels and one slice: start a day before the first run instead.
	if !first.IsZero() && (from.IsZero() || first.Sub(from) > 366*24*time.Hour) {
		from = first.Add(-24 * time.Hour)
	}
	if from.IsZero() {
		from = to.AddDate(0, -1, 0)
	}
	return from, to
}

// trendFold builds a scenario's trend points as its runs arrive, oldest first: one per run
// up to maxTrendPoints runs; beyond, the worst run of each of maxTrendPoints equal slices of
// the chart's span. Memory is bounded by maxTrendPoints whatever the number of runs.
type trendFold struct {
	period   Period
	from, to time.Time
	n        int
	raw      []sample // every run while n <= maxTrendPoints
	rto, rpo []TrendPoint
	bin      int // slice of the last binned point
}

func (t *trendFold) add(s sample) {
	if t.n == 0 {
		t.from, t.to = trendSpan(t.period, s.at)
	}
	t.n++
	if t.n <= maxTrendPoints {
		t.raw = append(t.raw, s)
		return
	}
	if t.raw != nil {
		t.bin = -1
		for _, r := range t.raw {
			t.binned(r)
		}
		t.raw = nil
	}
	t.binned(s)
}

// binned adds s to its slice of both charts.
func (t *trendFold) binned(s sample) {
	span := t.to.Sub(t.from)
	if span <= 0 {
		span = time.Nanosecond
	}
	b := int(float64(s.at.Sub(t.from)) / float64(span) * maxTrendPoints)
	b = max(0, min(b, maxTrendPoints-1))
	rto, rpo := pointOf(s, false), pointOf(s, true)
	if b != t.bin || len(t.rto) == 0 {
		t.rto, t.rpo, t.bin = append(t.rto, rto), append(t.rpo, rpo), b
		return
	}
	for _, c := range []struct {
		cur *TrendPoint
		p   TrendPoint
		rpo bool
	}{{&t.rto[len(t.rto)-1], rto, false}, {&t.rpo[len(t.rpo)-1], rpo, true}} {
		n := c.cur.Runs + 1
		if worse(c.p, *c.cur, c.rpo) {
			*c.cur = c.p
		}
		c.cur.Runs = n
	}
}

func pointOf(s sample, rpo bool) TrendPoint {
	if rpo {
		return TrendPoint{At: s.at, RunID: s.runID, Verdict: s.verdict, Ms: s.rpo, Met: s.rpoMet, Runs: 1}
	}
	return TrendPoint{At: s.at, RunID: s.runID, Verdict: s.verdict, Ms: s.rto, Met: s.rtoMet, Runs: 1}
}

// points is one metric's chart.
func (t *trendFold) points(rpo bool) []TrendPoint {
	out := []TrendPoint{}
	if t.n > maxTrendPoints {
		if rpo {
			return append(out, t.rpo...)
		}
		return append(out, t.rto...)
	}
	for _, s := range t.raw {
		out = append(out, pointOf(s, rpo))
	}
	return out
}

// worse ranks points for a slice of the trend: a run that never recovered, then the largest
// measurement, then a run with no measurement.
func worse(a, b TrendPoint, rpo bool) bool {
	rank := func(p TrendPoint) int {
		switch {
		case !rpo && p.Ms == nil && p.Verdict == result.VerdictFail:
			return 2
		case p.Ms != nil:
			return 1
		}
		return 0
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra > rb
	}
	return a.Ms != nil && b.Ms != nil && *a.Ms > *b.Ms
}

func sortedFolds(m map[string]*scenarioFold) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func rollUp(sys *System) {
	sys.Status = StatusCompliant
	cadences := map[string]bool{}
	var reasons []string
	for _, sc := range sys.Scenarios {
		if suite.CriticalityRank(sc.Criticality) > suite.CriticalityRank(sys.Criticality) {
			sys.Criticality = sc.Criticality
		}
		if sc.Cadence != "" {
			cadences[sc.Cadence] = true
		}
		if sys.RTOTargetMs == 0 || (sc.RTOTargetMs > 0 && sc.RTOTargetMs < sys.RTOTargetMs) {
			sys.RTOTargetMs = sc.RTOTargetMs
		}
		if sc.RPOTargetMs != nil && (sys.RPOTargetMs == nil || *sc.RPOTargetMs < *sys.RPOTargetMs) {
			sys.RPOTargetMs = result.Int64(*sc.RPOTargetMs)
		}
		if sc.LastPass != nil && (sys.LastPass == nil || sc.LastPass.StartedAt.After(sys.LastPass.StartedAt)) {
			p := *sc.LastPass
			sys.LastPass = &p
		}
		sys.RunsInPeriod += sc.RunsInPeriod
		if severity(sc.Status) > severity(sys.Status) {
			sys.Status = sc.Status
		}
		if sc.Status != StatusCompliant {
			reasons = append(reasons, sc.Name+": "+sc.StatusReason)
		}
	}
	for _, c := range suite.Cadences() {
		if cadences[c] {
			sys.Cadences = append(sys.Cadences, c)
		}
	}
	if sys.Cadences == nil {
		sys.Cadences = []string{}
	}
	switch {
	case len(reasons) > 0:
		sys.StatusReason = strings.Join(reasons, "; ")
	case len(sys.Scenarios) == 1:
		sys.StatusReason = sys.Scenarios[0].StatusReason
	default:
		sys.StatusReason = fmt.Sprintf("%d of %d drills passed within their cadence", len(sys.Scenarios), len(sys.Scenarios))
	}
}

// sliceSource serves Build: the rows of runs held in memory.
type sliceSource struct {
	runs []*result.Result // oldest first
	byID map[string]*result.Result
}

func newSliceSource(runs []*result.Result) *sliceSource {
	s := &sliceSource{runs: slices.Clone(runs), byID: make(map[string]*result.Result, len(runs))}
	sort.SliceStable(s.runs, func(i, j int) bool { return older(s.runs[i], s.runs[j]) })
	for _, r := range runs {
		s.byID[r.RunID] = r
	}
	return s
}

func (s *sliceSource) Rows(ctx context.Context, f history.Filter, fn func(history.Row) error) error {
	for _, r := range s.runs {
		if !f.Match(r) {
			continue
		}
		if err := fn(history.RowOf(r)); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *sliceSource) Get(_ context.Context, id string) (*result.Result, bool, error) {
	r, ok := s.byID[id]
	return r, ok, nil
}

// oldestFirst orders rows by start, then run id, so runs started in the same instant keep one
// order in every output.
func oldestFirst(a, b history.Row) int {
	if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
		return c
	}
	return strings.Compare(a.RunID, b.RunID)
}
