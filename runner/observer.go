package runner

import (
	"time"

	"github.com/drillhq/drill/result"
)

// Observer receives a drill's progress as it happens (the console progress on stderr).
// Calls come from the runner's goroutines and must not block for long.
type Observer interface {
	// Event is called for every timeline event, in order.
	Event(scenario string, e result.Event)
	// Status is called every StatusEvery while probes run, and on every probe up/down change.
	Status(s Status)
}

// StatusEvery is how often the runner reports a Status while probes run. A terminal redraws
// its status line from these, so it must be short enough (10 Hz) that a one-second outage is
// seen as one; state changes are reported at once in addition.
const StatusEvery = 100 * time.Millisecond

// T0Observer is an Observer that is told the moment t0 is fixed (the first fault is injected).
// Event times are relative to the run's start until then and relative to t0 after, while the
// result rebases every event on t0 at the end; t0 cannot be predicted (steady-state checks and
// prepare steps take as long as they take), so an observer that shows times must know which
// base an event uses. T0 is called before the first event relative to t0.
type T0Observer interface {
	Observer
	T0(scenario string)
}

// Status is a snapshot of a running drill.
type Status struct {
	Scenario string
	Phase    string
	// SinceT0 is the time since t0; nil before any fault was injected.
	SinceT0 *time.Duration
	Probes  []ProbeStatus
}

// ProbeStatus is one probe's latest state.
type ProbeStatus struct {
	Name    string
	Role    string
	Known   bool // false until the first sample completed
	Up      bool
	Samples int
	Fails   int
}

// Phases, in order (docs/DESIGN.md §1). Each change is an EventPhase event whose message is the
// phase name.
const (
	PhaseLoad      = "load"
	PhaseConnect   = "connect"
	PhaseSteady    = "steady-state"
	PhaseProbes    = "probes-start"
	PhasePrepare   = "prepare"
	PhaseInject    = "inject"
	PhaseRecovery  = "recovery"
	PhaseObserve   = "observe"
	PhaseRollback  = "rollback"
	PhaseDataCheck = "data-check"
	PhaseSteadyAft = "steady-state-after"
	PhaseVerdict   = "verdict"
)
