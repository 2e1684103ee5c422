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
	// Status is called about every 250ms while probes run, and on every probe up/down change.
	Status(s Status)
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
