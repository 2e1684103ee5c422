// Package recovertest runs a fault the way a drill does, with a real journal, and replays its
// record the way `drill recover` does: the setup every backend's journal-recover tests share.
package recovertest

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/drillhq/drill/journal"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// Drill is a scenario of one fault, named "f".
type Drill struct {
	Type runner.FaultType
	With any // the fault's config; nil for the type's defaults
	// Env is the environment connect built (targets, clients); nil for none. Its scenario's
	// environment block, if any, becomes the drill's.
	Env *runner.Env
	// Limits default to a 30 s timeout, 10 ms observation and a minute of rollback.
	Limits scenarios.Limits
}

// Run runs the drill through the runner with a journal in a temporary directory and returns
// the result and the journal as a later `drill recover` reads it.
func Run(t testing.TB, d Drill) (*result.Result, journal.Run) {
	t.Helper()
	reg := runner.NewRegistry()
	reg.AddFault(d.Type)
	limits := d.Limits
	if limits == (scenarios.Limits{}) {
		limits = scenarios.Limits{Timeout: 30 * time.Second, Observe: 10 * time.Millisecond, Rollback: time.Minute}
	}
	s := &scenarios.Scenario{
		Name: "recover", System: "sys", File: "recover.yaml",
		Objectives: scenarios.Objectives{RTO: time.Second},
		Faults:     []scenarios.StepSpec{{Name: "f", Type: d.Type.Name, With: d.With}},
		Limits:     limits,
	}
	if d.Env != nil && d.Env.Scenario != nil {
		s.Name, s.Environment = d.Env.Scenario.Name, d.Env.Scenario.Environment
	}
	w, err := journal.Create(filepath.Join(t.TempDir(), "journal"), journal.RunInfo{RunID: "r1", System: "sys"})
	if err != nil {
		t.Fatal(err)
	}
	res := runner.Run(t.Context(), s, runner.Options{Registry: reg, Journal: w, RunID: "r1", Env: d.Env})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	run, err := journal.Read(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	return res, run
}

// Record is the record of the drill's only fault, failing the test when there is none.
func Record(t testing.TB, run journal.Run) json.RawMessage {
	t.Helper()
	if len(run.Faults) != 1 || run.Faults[0].Record == nil {
		t.Fatalf("journal faults %+v, want f with a record", run.Faults)
	}
	return run.Faults[0].Record
}

// RecoverTwice calls typ's Recover as `drill recover` does (a fresh Env, no connector, a ctx
// the test's end does not cancel, bounded by timeout) and then check; twice, because a second
// recover must find nothing left to do.
func RecoverTwice(t testing.TB, typ runner.FaultType, rec json.RawMessage, timeout time.Duration, check func(round int)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), timeout)
	defer cancel()
	for i := range 2 {
		if err := typ.Recover(ctx, runner.NewEnv(nil, nil), rec); err != nil {
			t.Fatalf("recover #%d: %v", i+1, err)
		}
		check(i + 1)
	}
}
