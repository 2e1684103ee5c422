package runner

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/scenarios"
)

// Fault breaks something on purpose. Inject returns what is needed to undo it.
//
// Crash safety: a fault whose type is registered WithRecover calls env.Journal(ctx, targets, rec)
// with the ctx Inject received, before each change it makes, and makes no change when Journal
// returns an error. The record is then on disk (fsync'd) when the change starts, so a drill
// killed at any later instant leaves what `drill recover` needs. The runner has already written
// an intent line (fault, type, planned targets) before Inject, and marks the fault reverted when
// its Revert succeeds; a fault with a Recover that returns a Revert without having journaled
// fails the run, so a forgotten Journal call shows in the first test.
type Fault interface {
	Inject(ctx context.Context) (Injection, error)
}

// Injection is what a fault did: the targets it chose (recorded in the result) and how to revert.
// Revert is nil for faults with nothing to undo. Revert is called with a context that Ctrl-C does
// not cancel and must be safe to call after a partial injection.
//
// Revert must be idempotent: a failed revert is retried with backoff until its budget (a share
// of limits.rollback, or the revert timeout the type's config declares with
// scenarios.RevertBounded) ends, and a revert still running when its share is used up may
// overlap the next fault's revert. So Revert must succeed, not fail, when the fault is already
// undone (the service already started, the rule already removed), and must honour ctx. A panic
// in Revert (or in Inject, Check, Run) is recovered and makes the drill an error; panics in
// goroutines the type starts itself are not, and end the process without rollback.
type Injection struct {
	Targets []string
	Revert  func(ctx context.Context) error
}

// Planner is implemented by faults that can resolve their targets without changing anything;
// `drill run --dry-run` prints what it returns.
type Planner interface {
	Plan(ctx context.Context) (targets []string, err error)
}

// Step is a prepare, recovery or rollback action: the runbook automation a team would run.
type Step interface {
	Run(ctx context.Context) error
}

// Probe takes one sample: nil means healthy. ctx carries the per-sample timeout.
type Probe interface {
	Check(ctx context.Context) error
}

// DataProbe is a probe with role data: its samples are sequenced writes, and after rollback it
// reads back what it wrote so the runner can compute RPO.
type DataProbe interface {
	Probe
	// Writes returns every write the probe attempted, with offsets on the given clock origin.
	// ReadBack returns the sequence numbers present in the system now.
	Writes() []measure.Write
	ReadBack(ctx context.Context) (present map[uint64]bool, err error)
}

// Closer is implemented by probes, faults or steps holding resources (clients, connections).
type Closer interface {
	Close() error
}

// Connector prepares the environment a scenario names (an etcd lab, AWS clients) during the
// connect phase, storing what types need in env with Env.Set. cleanup always runs at the end of
// the drill, after rollback, with a context Ctrl-C does not cancel.
type Connector interface {
	// Name identifies the connector in events and errors ("etcd", "aws").
	Name() string
	// Wants reports whether this scenario needs the connector.
	Wants(s *scenarios.Scenario) bool
	Connect(ctx context.Context, env *Env) (cleanup func(context.Context) error, err error)
}

// Journal durably records, before the change, what the fault being injected is about to do:
// targets (nil keeps the runner's planned ones) and record, the revert data its type's Recover
// decodes (see WithRecover). Call it from Inject with Inject's ctx; a later call for the same
// fault supersedes the earlier one, so a fault that changes several things journals the
// cumulative record before each. If it fails, do not make the change. Outside a drill (a
// fault's own unit test) it does nothing.
func (e *Env) Journal(ctx context.Context, targets []string, record any) error {
	sc, _ := ctx.Value(faultScopeKey{}).(*faultScope)
	if sc == nil {
		return nil
	}
	return sc.journal(ctx, targets, record)
}

// Env is handed to type constructors and connectors: the scenario, the logger, values set by
// connectors, and the targets chosen by faults that have already been injected.
type Env struct {
	Scenario *scenarios.Scenario
	Log      *slog.Logger
	DryRun   bool
	// Clock gives offsets on the run's monotonic timeline (set by the runner); data probes use it
	// to stamp writes so they line up with probe samples and t0.
	Clock *Clock

	mu      sync.Mutex
	values  map[any]any
	targets map[string][]string
	note    func(msg string) // set by the runner: records a timeline event
	t0      time.Time
	haveT0  bool
	points  []RestorePoint
}

// RestorePoint is a point in time a restore step brought data back to.
type RestorePoint struct {
	At   time.Time
	What string // what was restored from, e.g. "snapshot snap-0abc of vol-0def"
}

// RecoveryPoint is called by a step that restored data (declared with AsRestorePoint) with
// the point in time the restored data reflects: a snapshot's creation time, a point-in-time
// restore's target. Without a data probe, the runner measures RPO as t0 minus the oldest such
// point: everything written after it is lost, whatever the restore was for. It is also recorded
// as a note on the timeline.
func (e *Env) RecoveryPoint(at time.Time, what string) {
	e.mu.Lock()
	e.points = append(e.points, RestorePoint{At: at, What: what})
	t0, haveT0 := e.t0, e.haveT0
	e.mu.Unlock()
	age := ""
	if haveT0 {
		age = fmt.Sprintf(", %v before t0", t0.Sub(at).Round(time.Millisecond))
	}
	e.Note("restore point %s (%s%s)", at.UTC().Format(time.RFC3339Nano), what, age)
}

// RestorePoints returns the points recorded by RecoveryPoint, in call order.
func (e *Env) RestorePoints() []RestorePoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]RestorePoint(nil), e.points...)
}

// Note records evidence on the drill's timeline (it reaches the JSON result, JUnit and the
// compliance report), e.g. which snapshot a restore used and how old it was.
func (e *Env) Note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	e.mu.Lock()
	note := e.note
	e.mu.Unlock()
	if note != nil {
		note(msg)
		return
	}
	e.Log.Info(msg)
}

// T0 is the wall-clock instant the first fault's injection started, once it has.
func (e *Env) T0() (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.t0, e.haveT0
}

func (e *Env) setT0(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.t0, e.haveT0 = t, true
}

func (e *Env) setNote(f func(string)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.note = f
}

// NewEnv returns an Env for a scenario.
func NewEnv(s *scenarios.Scenario, log *slog.Logger) *Env {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Env{Scenario: s, Log: log, Clock: NewClock(), values: map[any]any{}, targets: map[string][]string{}}
}

// Set stores a value for types to find, keyed like context values (use an unexported key type).
func (e *Env) Set(key, value any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.values[key] = value
}

// Value returns what Set stored, or nil.
func (e *Env) Value(key any) any {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.values[key]
}

// FaultTargets returns the targets a named fault chose when it was injected, so a recovery step
// can act on "the member that fault killed".
func (e *Env) FaultTargets(fault string) ([]string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.targets[fault]
	return t, ok
}

func (e *Env) setFaultTargets(fault string, targets []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.targets[fault] = targets
}
