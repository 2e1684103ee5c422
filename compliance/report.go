// Package compliance builds the compliance report of a drill programme (which systems were proven
// recoverable, when, against which targets) from stored drill results, and renders it as a
// self-contained HTML page, Markdown or JSON.
package compliance

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/suite"
)

// Schema identifies the JSON report format.
const Schema = "drill.report/v1"

// Status is a system's or scenario's compliance state at the report's AsOf instant.
type Status string

const (
	// StatusCompliant: the newest drill passed and is within its cadence.
	StatusCompliant Status = "compliant"
	// StatusOverdue: the newest drill passed, but longer ago than the cadence allows.
	StatusOverdue Status = "overdue"
	// StatusFailing: the newest drill did not pass (fail, error or aborted).
	StatusFailing Status = "failing"
	// StatusNeverDrilled: no drill on record.
	StatusNeverDrilled Status = "never-drilled"
	// StatusUnproven: drills passed, but none of them disturbed the system (no availability
	// probe saw the faults), so there is no evidence that it recovers.
	StatusUnproven Status = "unproven"
)

// severity orders statuses for rolling scenarios up to a system: the worst wins. No evidence at
// all ranks above stale evidence.
func severity(s Status) int {
	switch s {
	case StatusFailing:
		return 3
	case StatusNeverDrilled, StatusUnproven:
		return 2
	case StatusOverdue:
		return 1
	}
	return 0
}

// Label is the status as people read it.
func (s Status) Label() string {
	if s == StatusNeverDrilled {
		return "never drilled"
	}
	return string(s)
}

// Input is what a report is built from.
type Input struct {
	Period Period
	// Now is when the report is generated; compliance is judged at min(Now, Period.Until).
	Now time.Time
	// Entries is the programme (from a suite file). Nil means every scenario found in Runs.
	Entries   []suite.Entry
	SuiteFile string
	SuiteName string
	// Runs is the history: every run up to the end of the period, including those before it
	// (they hold the last passing drill). Runs of scenarios outside Entries are ignored.
	Runs        []*result.Result
	ToolVersion string
	// SignOffs by run id and Findings, from the history store; nil when not kept.
	SignOffs map[string][]history.SignOff
	Findings []history.Finding
}

// Report is the document; its JSON form is the `--format json` output.
type Report struct {
	Schema      string    `json:"schema"`
	GeneratedAt time.Time `json:"generatedAt"`
	ToolVersion string    `json:"toolVersion"`
	Period      Period    `json:"period"`
	// AsOf is the instant compliance is judged at: the end of the period, or now if earlier.
	AsOf     time.Time  `json:"asOf"`
	Suite    *SuiteRef  `json:"suite,omitempty"`
	Summary  Summary    `json:"summary"`
	Systems  []System   `json:"systems"`
	Ladder   LadderInfo `json:"ladder"`
	Runs     []Run      `json:"runs"`     // runs in the period, oldest first
	Evidence []Evidence `json:"evidence"` // every run the report cites, oldest first
	// AwaitingSignOff lists the runs in the period nobody has signed off yet, oldest first.
	AwaitingSignOff []string `json:"awaitingSignOff"`
	// Findings of the programme's scenarios: every open one, and those closed in the period.
	Findings []FindingRow `json:"findings"`
	// Controls and ControlEvidence map framework controls to each system's evidence.
	Controls        []Control         `json:"controls"`
	ControlEvidence []ControlEvidence `json:"controlEvidence"`
	Notes           []string          `json:"notes,omitempty"`
}

// FindingRow is a finding as the report shows it.
type FindingRow struct {
	history.Finding
	AgeDays int  `json:"ageDays"` // since it was opened, at AsOf (or until closed)
	Overdue bool `json:"overdue"`
}

// SuiteRef names the programme the report covers.
type SuiteRef struct {
	File string `json:"file"`
	Name string `json:"name,omitempty"`
}

// Summary counts systems by status and runs in the period by verdict.
type Summary struct {
	Systems      int `json:"systems"`
	Compliant    int `json:"compliant"`
	Overdue      int `json:"overdue"`
	Failing      int `json:"failing"`
	NeverDrilled int `json:"neverDrilled"`
	Unproven     int `json:"unproven"`
	Runs         int `json:"runs"`
	Passed       int `json:"passed"`
	// PassedUnproven counts the passes in Passed that disturbed nothing and so prove nothing.
	PassedUnproven int `json:"passedUnproven"`
	Failed         int `json:"failed"`
	Errored        int `json:"errored"` // error or aborted
}

// LadderInfo documents the DR strategy thresholds used.
type LadderInfo struct {
	Source string `json:"source"`
	Rungs  []Rung `json:"rungs"`
	Policy string `json:"policy"`
}

// System groups the scenarios that drill one system.
type System struct {
	Name        string `json:"name"`
	Owner       string `json:"owner,omitempty"`
	Criticality string `json:"criticality,omitempty"` // highest of its entries
	// Cadences lists the distinct cadences of its scenarios, most frequent first.
	Cadences []string `json:"cadences"`
	// RTOTargetMs and RPOTargetMs are the strictest targets among its scenarios.
	RTOTargetMs  int64      `json:"rtoTargetMs"`
	RPOTargetMs  *int64     `json:"rpoTargetMs"`
	Status       Status     `json:"status"`
	StatusReason string     `json:"statusReason"`
	LastPass     *RunRef    `json:"lastPass"`
	RunsInPeriod int        `json:"runsInPeriod"`
	Scenarios    []Scenario `json:"scenarios"`
}

// Scenario is one drill of the programme.
type Scenario struct {
	Name         string    `json:"name"`
	File         string    `json:"file,omitempty"`
	SHA256       string    `json:"sha256,omitempty"` // of the file now (suite) or at its last run
	Cadence      string    `json:"cadence,omitempty"`
	Criticality  string    `json:"criticality,omitempty"`
	RTOTargetMs  int64     `json:"rtoTargetMs"`
	RPOTargetMs  *int64    `json:"rpoTargetMs"`
	Status       Status    `json:"status"`
	StatusReason string    `json:"statusReason"`
	LastPass     *RunRef   `json:"lastPass"`
	LastRun      *RunRef   `json:"lastRun"`
	DueAt        time.Time `json:"dueAt,omitzero"`
	// Ladder is the DR strategy check: per scenario, because each scenario carries its own RTO
	// target (losing one member and losing a region are judged against different targets).
	Ladder LadderCheck `json:"ladder"`
	Runs   []RunRow    `json:"runs"` // in the period, oldest first
}

// RunRef cites one run with its headline numbers.
type RunRef struct {
	RunID         string         `json:"runId"`
	StartedAt     time.Time      `json:"startedAt"`
	Verdict       result.Verdict `json:"verdict"`
	RTOMeasuredMs *int64         `json:"rtoMeasuredMs"`
	RPOMeasuredMs *int64         `json:"rpoMeasuredMs"`
}

// RunRow is one run in a scenario's table.
type RunRow struct {
	RunID         string         `json:"runId"`
	StartedAt     time.Time      `json:"startedAt"`
	Verdict       result.Verdict `json:"verdict"`
	Reason        string         `json:"reason,omitempty"`
	RTOTargetMs   int64          `json:"rtoTargetMs"`
	RTOMeasuredMs *int64         `json:"rtoMeasuredMs"`
	RTOMet        bool           `json:"rtoMet"`
	ResolutionMs  int64          `json:"resolutionMs"`
	RPOTargetMs   *int64         `json:"rpoTargetMs"`
	RPOMeasuredMs *int64         `json:"rpoMeasuredMs"`
	RPOMet        bool           `json:"rpoMet"`
	LostWrites    int            `json:"lostWrites"`
	// NoDisruption: no availability probe saw the fault; the drill may not have tested anything.
	NoDisruption bool `json:"noDisruption,omitempty"`
	// Unproven: a pass with NoDisruption. It is shown, but never counts as a passing drill.
	Unproven bool `json:"unproven,omitempty"`
}

// Run is one run in the period with its timeline.
type Run struct {
	RunRow
	Scenario   string            `json:"scenario"`
	System     string            `json:"system"`
	FinishedAt time.Time         `json:"finishedAt"`
	T0         string            `json:"t0"`
	Timeline   Timeline          `json:"timeline"`
	SignOffs   []history.SignOff `json:"signOffs"`
}

// Timeline is what happened around t0, in ms relative to t0.
type Timeline struct {
	Faults []Span  `json:"faults"`
	Steps  []Span  `json:"steps"`
	Probes []Lane  `json:"probes"`
	EndMs  int64   `json:"endMs"` // the last instant the result accounts for
	Marks  []Event `json:"marks,omitempty"`
}

// Span is a fault (injected → reverted) or a step (start → end).
type Span struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Phase  string `json:"phase,omitempty"` // steps: prepare | recovery | rollback
	FromMs *int64 `json:"fromMs"`
	ToMs   *int64 `json:"toMs"`
	Error  string `json:"error,omitempty"`
}

// Lane is a probe's down intervals.
type Lane struct {
	Name         string            `json:"name"`
	Role         string            `json:"role"`
	RecoveredMs  *int64            `json:"recoveredMs"`
	DowntimeMs   *int64            `json:"downtimeMs"`
	NoDisruption bool              `json:"noDisruption,omitempty"`
	Down         []result.Interval `json:"down"`
	// Lost is a data probe's count of acknowledged writes missing after recovery.
	Lost *int `json:"lostWrites,omitempty"`
}

// Event is a timeline mark worth showing (phase changes are left out).
type Event struct {
	AtMs    int64  `json:"atMs"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// Evidence traces a claim to a stored result.
type Evidence struct {
	RunID          string         `json:"runId"`
	Scenario       string         `json:"scenario"`
	System         string         `json:"system"`
	StartedAt      time.Time      `json:"startedAt"`
	FinishedAt     time.Time      `json:"finishedAt"`
	T0             string         `json:"t0"`
	Verdict        result.Verdict `json:"verdict"`
	ToolVersion    string         `json:"toolVersion"`
	ScenarioFile   string         `json:"scenarioFile"`
	ScenarioSHA256 string         `json:"scenarioSha256"`
	InPeriod       bool           `json:"inPeriod"`
	// ScenarioChanged: the scenario file hashes differently today than when this run used it.
	ScenarioChanged bool `json:"scenarioChanged,omitempty"`
	// Who ran it, where, and under which change ticket (empty for runs recorded before drill
	// kept them).
	result.Provenance
}

// Build computes the report. It is pure: the same input gives the same report.
func Build(in Input) *Report {
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
	}
	if in.SuiteFile != "" {
		rep.Suite = &SuiteRef{File: in.SuiteFile, Name: in.SuiteName}
	}

	// Evidence is what happened up to AsOf; dry runs changed nothing and prove nothing.
	var runs []*result.Result
	dry := 0
	for _, r := range in.Runs {
		switch {
		case r.StartedAt.After(asOf) || r.StartedAt.Equal(asOf):
		case r.DryRun:
			dry++
		default:
			runs = append(runs, r)
		}
	}
	sort.SliceStable(runs, func(i, j int) bool { return older(runs[i], runs[j]) })
	if dry > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d dry run(s) excluded: a dry run injects nothing and is not evidence.", dry))
	}

	entries := in.Entries
	if entries == nil {
		entries = suite.EntriesFromHistory(runs)
	}
	known := map[string]suite.Entry{}
	for _, e := range entries {
		known[e.Name] = e
	}
	outside := map[string]bool{}
	byScenario := map[string][]*result.Result{}
	for _, r := range runs {
		if _, ok := known[r.Scenario]; !ok {
			outside[r.Scenario] = true
			continue
		}
		byScenario[r.Scenario] = append(byScenario[r.Scenario], r)
	}
	if len(outside) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("History holds runs of %d scenario(s) outside this suite (%s); they are not part of this report.", len(outside), strings.Join(sortedKeys(outside), ", ")))
	}

	due := suite.Due(asOf, entries, runs)
	inPeriod := func(r *result.Result) bool {
		return !r.StartedAt.Before(in.Period.Since) && r.StartedAt.Before(in.Period.Until)
	}
	cited := map[string]*result.Result{}
	systems := map[string]*System{}
	var order []string
	for i, e := range entries {
		sc := scenarioOf(e, due[i], byScenario[e.Name], inPeriod)
		for _, r := range byScenario[e.Name] {
			if inPeriod(r) || (sc.LastPass != nil && r.RunID == sc.LastPass.RunID) {
				cited[r.RunID] = r
			}
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
		rollUp(sys, byScenario, inPeriod)
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

	for _, r := range runs {
		if _, ok := known[r.Scenario]; !ok || !inPeriod(r) {
			continue
		}
		run := runOf(r)
		if run.RTOTargetMs == 0 {
			// Stored by an older drill that recorded no target when it stopped early.
			run.RTOTargetMs = known[r.Scenario].RTO.Milliseconds()
		}
		run.SignOffs = in.SignOffs[r.RunID]
		if run.SignOffs == nil {
			run.SignOffs = []history.SignOff{}
			rep.AwaitingSignOff = append(rep.AwaitingSignOff, r.RunID)
		}
		rep.Runs = append(rep.Runs, run)
		rep.Summary.Runs++
		switch r.Verdict {
		case result.VerdictPass:
			rep.Summary.Passed++
			if r.IsUnproven() {
				rep.Summary.PassedUnproven++
			}
		case result.VerdictFail:
			rep.Summary.Failed++
		default:
			rep.Summary.Errored++
		}
	}
	for _, r := range runs {
		c, ok := cited[r.RunID]
		if !ok {
			continue
		}
		ev := Evidence{
			RunID: c.RunID, Scenario: c.Scenario, System: c.System, StartedAt: c.StartedAt.UTC(),
			FinishedAt: c.FinishedAt.UTC(), T0: c.T0, Verdict: c.Verdict, ToolVersion: c.ToolVersion,
			ScenarioFile: c.ScenarioFile, ScenarioSHA256: c.ScenarioSHA256, InPeriod: inPeriod(c),
			Provenance: c.Provenance,
		}
		if now := known[c.Scenario].SHA256; in.Entries != nil && now != "" && c.ScenarioSHA256 != "" && now != c.ScenarioSHA256 {
			ev.ScenarioChanged = true
		}
		rep.Evidence = append(rep.Evidence, ev)
	}
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
	byID := map[string]*result.Result{}
	for _, r := range runs {
		byID[r.RunID] = r
	}
	rep.Controls, rep.ControlEvidence = Controls(), controlEvidence(rep.Systems, rep.Findings, byID)
	if changed := countChanged(rep.Evidence); changed > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d cited run(s) used a different version of their scenario file than the one in the suite today (marked in the evidence appendix).", changed))
	}
	return rep
}

func scenarioOf(e suite.Entry, d suite.Item, runs []*result.Result, inPeriod func(*result.Result) bool) Scenario {
	sc := Scenario{
		Name: e.Name, File: e.Path, SHA256: e.SHA256, Cadence: e.Cadence, Criticality: e.Criticality,
		RTOTargetMs: e.RTO.Milliseconds(), DueAt: d.DueAt, Runs: []RunRow{},
	}
	if e.RPO != nil {
		sc.RPOTargetMs = result.Int64(e.RPO.Milliseconds())
	}
	var lastRun, lastPass *result.Result
	for _, r := range runs { // oldest first
		lastRun = r
		if r.Verdict == result.VerdictPass && !r.IsUnproven() {
			lastPass = r
		}
		if inPeriod(r) {
			row := rowOf(r)
			if row.RTOTargetMs == 0 {
				row.RTOTargetMs = sc.RTOTargetMs // an older drill's early stop recorded no target
			}
			sc.Runs = append(sc.Runs, row)
		}
	}
	sc.LastRun, sc.LastPass = refOf(lastRun), refOf(lastPass)
	// Runs that errored or were aborted measured nothing about recovery; a failed run without
	// a measurement never recovered, and counts against the strategy.
	var measured []*int64
	for _, r := range sc.Runs {
		if (r.Verdict == result.VerdictPass && !r.Unproven) || r.Verdict == result.VerdictFail {
			measured = append(measured, r.RTOMeasuredMs)
		}
	}
	sc.Ladder = CheckLadder(sc.RTOTargetMs, sc.Criticality, measured)
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
	if lastRun != nil && lastPass != nil && lastRun != lastPass && lastRun.IsUnproven() {
		sc.StatusReason += fmt.Sprintf("; the latest drill (%s) is unproven: no disruption observed", Date(lastRun.StartedAt))
	}
	return sc
}

func rollUp(sys *System, byScenario map[string][]*result.Result, inPeriod func(*result.Result) bool) {
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
		sys.RunsInPeriod += len(sc.Runs)
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

func rowOf(r *result.Result) RunRow {
	o := r.Objectives
	row := RunRow{
		RunID: r.RunID, StartedAt: r.StartedAt.UTC(), Verdict: r.Verdict, Reason: r.Reason,
		RTOTargetMs: o.RTO.TargetMs, RTOMeasuredMs: judgedRTO(r), RTOMet: o.RTO.Met && judgedRTO(r) != nil, ResolutionMs: o.RTO.ResolutionMs,
		RPOTargetMs: o.RPO.TargetMs, RPOMeasuredMs: o.RPO.MeasuredMs, RPOMet: o.RPO.Met, LostWrites: o.RPO.LostWrites,
	}
	avail, quiet := 0, 0
	for _, p := range r.Probes {
		if p.IsAvailability() {
			avail++
			if p.NoDisruption {
				quiet++
			}
		}
	}
	row.NoDisruption = avail > 0 && quiet == avail && r.T0 != ""
	row.Unproven = r.IsUnproven()
	return row
}

func runOf(r *result.Result) Run {
	run := Run{RunRow: rowOf(r), Scenario: r.Scenario, System: r.System, FinishedAt: r.FinishedAt.UTC(), T0: r.T0}
	tl := &run.Timeline
	tl.Faults, tl.Steps, tl.Probes = []Span{}, []Span{}, []Lane{}
	end := int64(0)
	grow := func(v *int64) {
		if v != nil && *v > end {
			end = *v
		}
	}
	for _, f := range r.Faults {
		tl.Faults = append(tl.Faults, Span{Name: f.Name, Type: f.Type, FromMs: f.InjectedAtMs, ToMs: f.RevertedAtMs, Error: joinNonEmpty(f.Error, f.RevertError)})
		grow(f.InjectedAtMs)
		grow(f.RevertedAtMs)
	}
	for _, s := range r.Steps {
		sp := Span{Name: s.Name, Type: s.Type, Phase: s.Phase, FromMs: s.StartedAtMs, Error: s.Error}
		if s.StartedAtMs != nil {
			sp.ToMs = result.Int64(*s.StartedAtMs + s.DurationMs)
		}
		tl.Steps = append(tl.Steps, sp)
		grow(sp.ToMs)
	}
	for _, p := range r.Probes {
		down := p.Down
		if down == nil {
			down = []result.Interval{}
		}
		lane := Lane{Name: p.Name, Role: p.RoleOrDefault(), RecoveredMs: p.RecoveredMs, DowntimeMs: p.DowntimeMs, NoDisruption: p.NoDisruption, Down: down}
		if p.Data != nil {
			lost := p.Data.Lost
			lane.Lost = &lost
		}
		tl.Probes = append(tl.Probes, lane)
		grow(p.RecoveredMs)
		for _, d := range down {
			grow(&d.ToMs)
		}
	}
	for _, e := range r.Events {
		switch e.Kind {
		case result.EventSignal, result.EventError, result.EventDataLoss, result.EventNote:
			tl.Marks = append(tl.Marks, Event(e))
		}
		grow(&e.AtMs)
	}
	grow(run.RTOMeasuredMs)
	tl.EndMs = end
	return run
}

func refOf(r *result.Result) *RunRef {
	if r == nil {
		return nil
	}
	return &RunRef{RunID: r.RunID, StartedAt: r.StartedAt.UTC(), Verdict: r.Verdict,
		RTOMeasuredMs: judgedRTO(r), RPOMeasuredMs: r.Objectives.RPO.MeasuredMs}
}

// judgedRTO is the run's measured RTO, or nil when a fault failed to inject: older versions
// stored what the probes saw of the undisturbed system as "RTO 0 s".
func judgedRTO(r *result.Result) *int64 {
	for _, f := range r.Faults {
		if f.Error != "" {
			return nil
		}
	}
	return r.Objectives.RTO.MeasuredMs
}

func older(a, b *result.Result) bool {
	if !a.StartedAt.Equal(b.StartedAt) {
		return a.StartedAt.Before(b.StartedAt)
	}
	return a.RunID < b.RunID
}

func countChanged(ev []Evidence) int {
	n := 0
	for _, e := range ev {
		if e.ScenarioChanged {
			n++
		}
	}
	return n
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func containsWord(list, w string) bool {
	for _, p := range strings.Split(list, ", ") {
		if p == w {
			return true
		}
	}
	return false
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ", " + b
}
