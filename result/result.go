// Package result is the drill.result/v1 document (docs/DESIGN.md §5): what a drill measured,
// written as JSON, rendered by the reporters and kept in history.
package result

import "time"

// Schema identifies the document format.
const Schema = "drill.result/v1"

// Verdict is a run's outcome (docs/DESIGN.md §4).
type Verdict string

// Verdicts.
const (
	VerdictPass    Verdict = "pass"
	VerdictFail    Verdict = "fail"
	VerdictError   Verdict = "error"
	VerdictAborted Verdict = "aborted"
)

// AbortReason says why an aborted run stopped early, so callers act on a type, never on the
// prose of Reason.
type AbortReason string

// Abort reasons.
const (
	AbortInterrupted AbortReason = "interrupted" // a signal (Ctrl-C, SIGTERM...) stopped the drill
	AbortGuard       AbortReason = "guard"       // a guard probe failed
	// AbortKilled: the drill process died mid-run (SIGKILL, OOM, a lost CI runner) and only its
	// journal said so; `drill history` shows such runs as interrupted.
	AbortKilled AbortReason = "killed"
)

// Probe roles (docs/DESIGN.md §3); an empty role is availability.
const (
	RoleAvailability = "availability"
	RoleData         = "data"
	RoleGuard        = "guard"
)

// IsAvailability reports whether the probe's recovery counts towards RTO.
func (p Probe) IsAvailability() bool { return p.Role == "" || p.Role == RoleAvailability }

// IsData reports whether the probe measures RPO.
func (p Probe) IsData() bool { return p.Role == RoleData }

// RoleOrDefault is the probe's role with the default spelled out, for display.
func (p Probe) RoleOrDefault() string {
	if p.Role == "" {
		return RoleAvailability
	}
	return p.Role
}

// Exit codes (docs/DESIGN.md §4).
const (
	ExitPass  = 0
	ExitFail  = 1
	ExitUsage = 2
	ExitError = 3
)

// ExitCode maps a verdict to the process exit code.
func ExitCode(verdict Verdict) int {
	switch verdict {
	case VerdictPass:
		return ExitPass
	case VerdictFail:
		return ExitFail
	default:
		return ExitError
	}
}

// T0Layout is RFC 3339 with a fixed nanosecond fraction, so t0 is always stored to the ns.
const T0Layout = "2006-01-02T15:04:05.000000000Z07:00"

// Result is one drill run. All *Ms fields are milliseconds relative to t0 (the instant the first
// fault's injection started), negative before it. When no fault was injected, T0 is empty and
// times are relative to the start of the run.
type Result struct {
	Schema         string    `json:"schema"`
	RunID          string    `json:"runId"`
	Scenario       string    `json:"scenario"`
	ScenarioFile   string    `json:"scenarioFile"`
	ScenarioSHA256 string    `json:"scenarioSha256"`
	Description    string    `json:"description,omitempty"`
	System         string    `json:"system"`
	Owner          string    `json:"owner,omitempty"`
	Tags           []string  `json:"tags,omitempty"`
	Cadence        string    `json:"cadence,omitempty"`
	ToolVersion    string    `json:"toolVersion"`
	DryRun         bool      `json:"dryRun,omitempty"`
	StartedAt      time.Time `json:"startedAt"`
	FinishedAt     time.Time `json:"finishedAt"`
	T0             string    `json:"t0"` // RFC 3339 with ns (T0Layout); "" when nothing was injected
	Verdict        Verdict   `json:"verdict"`
	Reason         string    `json:"reason,omitempty"` // one line: why the verdict is not pass
	// Abort is set when the run stopped early, with verdict aborted, or error when rollback
	// then failed too (a fault was left in place).
	Abort       AbortReason `json:"abort,omitempty"`
	Objectives  Objectives  `json:"objectives"`
	SteadyState Steady      `json:"steadyState"`
	Rollback    Rollback    `json:"rollback"`
	Probes      []Probe     `json:"probes"`
	Faults      []Fault     `json:"faults"`
	Steps       []Step      `json:"steps"`
	Events      []Event     `json:"events"`

	// Provenance says who ran the drill, where and under which change; its fields are inline.
	Provenance
	// Unproven marks a pass that shows nothing: no availability probe saw the faults, so they
	// probably missed the system under test. The verdict stays pass (exit code, CI) but the run
	// is not evidence of recovery.
	Unproven       bool   `json:"unproven,omitempty"`
	UnprovenReason string `json:"unprovenReason,omitempty"`
}

// Provenance is the who and where of a run, for auditors. Every field is optional so that
// results written before it existed still decode.
type Provenance struct {
	Operator     string   `json:"operator,omitempty"`     // who ran it (--operator, default the OS user)
	Host         string   `json:"host,omitempty"`         // the machine drill ran on
	ToolCommit   string   `json:"toolCommit,omitempty"`   // VCS revision drill was built from
	Environment  string   `json:"environment,omitempty"`  // e.g. production, staging (--environment)
	Participants []string `json:"participants,omitempty"` // people present (--participant)
	Ticket       string   `json:"ticket,omitempty"`       // change ticket authorising the drill (--ticket)
}

// Undisturbed reports whether the run injected its faults and every availability probe it has
// saw no disruption: then a passing RTO proves nothing. It reads the typed probe fields, so it
// also judges results stored before the Unproven field existed.
func (r *Result) Undisturbed() bool {
	if r.T0 == "" {
		return false
	}
	avail := 0
	for _, p := range r.Probes {
		if !p.IsAvailability() {
			continue
		}
		avail++
		if !p.NoDisruption {
			return false
		}
	}
	return avail > 0
}

// IsUnproven reports whether a passing run is not evidence of recovery (see Unproven); it also
// covers results written before the field existed.
func (r *Result) IsUnproven() bool {
	return r.Verdict == VerdictPass && !r.DryRun && (r.Unproven || r.Undisturbed())
}

// UnprovenText explains an unproven pass for reports.
const UnprovenText = "no availability probe observed any disruption: the faults may have missed the system under test, so this pass proves nothing about recovery"

// Objectives holds the RTO and RPO judgements.
type Objectives struct {
	RTO RTO `json:"rto"`
	RPO RPO `json:"rpo"`
}

// RTO: MeasuredMs is nil when recovery was not observed (unbounded).
type RTO struct {
	TargetMs     int64  `json:"targetMs"`
	MeasuredMs   *int64 `json:"measuredMs"`
	Met          bool   `json:"met"`
	ResolutionMs int64  `json:"resolutionMs"`
	// Probe is the availability probe that recovered last and so set the RTO.
	Probe string `json:"probe,omitempty"`
}

// RPO: TargetMs is nil when the scenario sets no RPO objective; MeasuredMs is nil when it could
// not be measured (no data probe, or the read-back failed).
type RPO struct {
	TargetMs          *int64 `json:"targetMs"`
	MeasuredMs        *int64 `json:"measuredMs"`
	Met               bool   `json:"met"`
	LostWrites        int    `json:"lostWrites"`
	RecoveredWrites   int    `json:"recoveredWrites"`
	UnexpectedWrites  int    `json:"unexpectedWrites"`
	AcknowledgedTotal int    `json:"acknowledgedWrites"`
	DataProbes        int    `json:"dataProbes"`
	// Source says what measured the RPO: RPOSourceDataProbe (lost acknowledged writes) or
	// RPOSourceRestorePoint (t0 minus the recovery point a restore step reported, when no data
	// probe ran); empty when nothing measured it.
	Source string `json:"source,omitempty"`
	// RestorePoint and RestoredFrom describe the oldest recovery point a restore step reported
	// (set when Source is RPOSourceRestorePoint).
	RestorePoint *time.Time `json:"restorePoint,omitempty"`
	RestoredFrom string     `json:"restoredFrom,omitempty"`
}

// Values of RPO.Source.
const (
	RPOSourceDataProbe    = "data-probe"
	RPOSourceRestorePoint = "restore-point"
)

// Steady records the steady-state checks before faults and after rollback.
type Steady struct {
	Before Check `json:"before"`
	After  Check `json:"after"`
}

// Check is the outcome of one steady-state check.
type Check struct {
	Ran     bool     `json:"ran"`
	Passed  bool     `json:"passed"`
	Failed  []string `json:"failed,omitempty"` // "probe: error"
	Skipped string   `json:"skipped,omitempty"`
}

// Rollback summarises the revert of faults and the rollback steps.
type Rollback struct {
	Ran    bool     `json:"ran"`
	Clean  bool     `json:"clean"`
	Errors []string `json:"errors,omitempty"`
}

// Probe is one probe's measurement.
type Probe struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Role       string `json:"role"`
	IntervalMs int64  `json:"intervalMs"`
	Samples    int    `json:"samples"`
	Failures   int    `json:"failures"` // failed samples from t0 on
	// RecoveredMs is the start of the earliest sample after t0 from which every sample succeeded
	// until the end of observation; nil when it never recovered.
	RecoveredMs *int64 `json:"recoveredMs"`
	// DowntimeMs = RecoveredMs - start of the first failing sample after t0.
	DowntimeMs     *int64     `json:"downtimeMs"`
	FirstFailureMs *int64     `json:"firstFailureMs,omitempty"`
	NoDisruption   bool       `json:"noDisruption"`
	LastError      string     `json:"lastError,omitempty"`
	Down           []Interval `json:"down,omitempty"` // failing intervals, for timelines
	Data           *Data      `json:"data,omitempty"` // data probes only
}

// Interval is [FromMs, ToMs) relative to t0.
type Interval struct {
	FromMs int64 `json:"fromMs"`
	ToMs   int64 `json:"toMs"`
}

// Data is a data probe's write accounting (docs/DESIGN.md §3).
type Data struct {
	Written      int    `json:"written"`
	Acknowledged int    `json:"acknowledged"`
	Lost         int    `json:"lost"`
	Recovered    int    `json:"recovered"`
	Unexpected   int    `json:"unexpected"`
	RPOMs        *int64 `json:"rpoMs"`
	Error        string `json:"error,omitempty"`
}

// Fault is one injected fault.
type Fault struct {
	Name         string `json:"name"`
	Type         string `json:"type"`
	InjectedAtMs *int64 `json:"injectedAtMs"`
	// InjectedUntilMs is when the fault's Inject call returned: a fault that takes time to act
	// (a shell command, an API call) puts the real start of the outage somewhere in between.
	InjectedUntilMs *int64   `json:"injectedUntilMs,omitempty"`
	RevertedAtMs    *int64   `json:"revertedAtMs"`
	Targets         []string `json:"targets"`
	Error           string   `json:"error"`
	RevertError     string   `json:"revertError,omitempty"`
}

// Step is one prepare, recovery or rollback step.
type Step struct {
	Phase       string `json:"phase"` // prepare | recovery | rollback
	Name        string `json:"name"`
	Type        string `json:"type"`
	StartedAtMs *int64 `json:"startedAtMs"`
	DurationMs  int64  `json:"durationMs"`
	Error       string `json:"error,omitempty"`
}

// Event is one timeline entry.
type Event struct {
	AtMs    int64  `json:"atMs"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// Event kinds. Phase changes use "phase"; the rest describe what happened.
const (
	EventPhase    = "phase"
	EventFault    = "fault"
	EventRevert   = "revert"
	EventStep     = "step"
	EventProbe    = "probe" // a probe went down or up
	EventSignal   = "signal"
	EventError    = "error"
	EventVerdict  = "verdict"
	EventDataLoss = "data"
	EventNote     = "note" // evidence a step recorded, e.g. which snapshot a restore used
)

// Int64 returns a pointer to v, for the optional fields.
func Int64(v int64) *int64 { return &v }

// Ms converts a duration to whole milliseconds, rounding to nearest.
func Ms(d time.Duration) int64 { return (d + time.Millisecond/2*sign(d)).Milliseconds() }

func sign(d time.Duration) time.Duration {
	if d < 0 {
		return -1
	}
	return 1
}
