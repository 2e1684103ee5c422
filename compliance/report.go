// Package compliance builds the compliance report of a drill programme (which systems were proven
// recoverable, when, against which targets) from stored drill results, and renders it as a
// self-contained HTML page, Markdown or JSON.
package compliance

import (
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
	AsOf    time.Time  `json:"asOf"`
	Suite   *SuiteRef  `json:"suite,omitempty"`
	Summary Summary    `json:"summary"`
	Systems []System   `json:"systems"`
	Ladder  LadderInfo `json:"ladder"`
	// Runs are the runs in the period the report cites, with their timelines, oldest first:
	// per scenario its newest run, newest failures and sign-offs, and its last proven pass.
	// Every figure counts every run; RunList prints them all.
	Runs []Run `json:"runs"`
	// RunsWithoutTimeline counts the runs in the period that are counted but not in Runs.
	RunsWithoutTimeline int `json:"runsWithoutTimeline"`
	// RunList is the command that prints every run the report covers (drill.result/v1).
	RunList  string     `json:"runList"`
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
	// Stats are folded from every run of the scenario in the period.
	Stats        ScenarioStats `json:"stats"`
	RunsInPeriod int           `json:"runsInPeriod"`
	// Runs lists, oldest first, the runs in the period the report cites and the newest few;
	// RunsNotListed counts the others (Report.RunList prints them).
	Runs          []RunRow `json:"runs"`
	RunsNotListed int      `json:"runsNotListed"`
	// RTOTrend and RPOTrend are the trend charts' points: one per run in the period, or the
	// worst run of each equal slice of the period when there are many (Runs > 1). RPOTrend is
	// empty when the scenario has no RPO target and measured none.
	RTOTrend []TrendPoint `json:"rtoTrend"`
	RPOTrend []TrendPoint `json:"rpoTrend"`
	// TrendFrom and TrendUntil are the charts' time axis: the period, or from a day before
	// the first run when the period starts more than a year before it.
	TrendFrom  time.Time `json:"trendFrom"`
	TrendUntil time.Time `json:"trendUntil"`
}

// ScenarioStats are a scenario's figures over every run in the period.
type ScenarioStats struct {
	Runs           int `json:"runs"`
	Passed         int `json:"passed"` // including unproven passes
	PassedUnproven int `json:"passedUnproven"`
	Failed         int `json:"failed"`
	Errored        int `json:"errored"` // error or aborted
	// PassRate is the share of runs that passed and proved recovery (0 to 1; 0 with no runs).
	PassRate float64 `json:"passRate"`
	// WorstRTOMs and MedianRTOMs are over the RTOs measured by proven passes and failed runs
	// (the lower middle value for an even count); nil when none was measured.
	WorstRTOMs  *int64 `json:"worstRtoMs"`
	MedianRTOMs *int64 `json:"medianRtoMs"`
	// Unrecovered counts proven passes and failed runs with no measured RTO: never recovered.
	Unrecovered int `json:"unrecoveredRuns"`
}

// TrendPoint is a run on a trend chart, or the worst run of Runs runs in one slice of it.
type TrendPoint struct {
	At      time.Time      `json:"at"`
	RunID   string         `json:"runId"`
	Verdict result.Verdict `json:"verdict"`
	Ms      *int64         `json:"ms"`
	Met     bool           `json:"met"`
	Runs    int            `json:"runs"`
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

func rowOf(r history.Row) RunRow {
	row := RunRow{
		RunID: r.RunID, StartedAt: r.StartedAt.UTC(), Verdict: r.Verdict, Reason: r.Reason,
		RTOTargetMs: r.RTOTargetMs, RTOMeasuredMs: judgedRTO(r), RTOMet: r.RTOMet && judgedRTO(r) != nil, ResolutionMs: r.ResolutionMs,
		RPOTargetMs: r.RPOTargetMs, RPOMeasuredMs: r.RPOMeasuredMs, RPOMet: r.RPOMet, LostWrites: r.LostWrites,
	}
	row.NoDisruption = r.AvailProbes > 0 && r.QuietProbes == r.AvailProbes && r.HasT0
	row.Unproven = r.Unproven
	return row
}

func runOf(r *result.Result) Run {
	run := Run{RunRow: rowOf(history.RowOf(r)), Scenario: r.Scenario, System: r.System, FinishedAt: r.FinishedAt.UTC(), T0: r.T0}
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

func refOf(r *history.Row) *RunRef {
	if r == nil {
		return nil
	}
	return &RunRef{RunID: r.RunID, StartedAt: r.StartedAt.UTC(), Verdict: r.Verdict,
		RTOMeasuredMs: judgedRTO(*r), RPOMeasuredMs: r.RPOMeasuredMs}
}

// judgedRTO is the run's measured RTO, or nil when a fault failed to inject: older versions
// stored what the probes saw of the undisturbed system as "RTO 0 s".
func judgedRTO(r history.Row) *int64 {
	if r.FaultError {
		return nil
	}
	return r.RTOMeasuredMs
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
