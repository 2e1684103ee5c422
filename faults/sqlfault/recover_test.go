package sqlfault

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/drillhq/drill/backends/sqlenv"
	"github.com/drillhq/drill/journal"
	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/pglab/pglabtest"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// The PostgreSQL lab faults journal the drill's lab before their change; Recover, from the
// record alone, leaves no server process, no shared memory and no lab dir (AssertRemoved checks
// processes and the dir; Remove releases the segments), and a second Recover is a no-op.
//
// Each drill runs through the runner with a real journal; its own revert undoes the fault, so
// the lab is up when Recover runs: more to remove than after a real SIGKILL, where the servers
// died with drill (Pdeathsig) and the directory and shared memory are what is left.
func TestLabFaultsRecoverRemoveLab(t *testing.T) {
	for _, typ := range []runner.FaultType{KillPrimaryType(), StallReplicationType()} {
		t.Run(typ.Name, func(t *testing.T) {
			lab := pglabtest.Start(t, pglab.Options{Standbys: 1})
			env := runner.NewEnv(&scenarios.Scenario{Name: "recover"}, nil)
			sqlenv.WithPostgresTarget(env, &sqlenv.PostgresTarget{DSN: lab.DSN(), Lab: lab})
			reg := runner.NewRegistry()
			reg.AddFault(typ)
			s := &scenarios.Scenario{
				Name: "recover", System: "sys", File: "recover.yaml",
				Objectives: scenarios.Objectives{RTO: time.Second},
				Faults:     []scenarios.StepSpec{{Name: "f", Type: typ.Name}},
				Limits:     scenarios.Limits{Timeout: time.Minute, Observe: 10 * time.Millisecond, Rollback: time.Minute},
			}
			w, err := journal.Create(filepath.Join(t.TempDir(), "journal"), journal.RunInfo{RunID: "r1", System: "sys"})
			if err != nil {
				t.Fatal(err)
			}
			res := runner.Run(t.Context(), s, runner.Options{Registry: reg, Journal: w, RunID: "r1", Env: env})
			if !res.Rollback.Clean {
				t.Fatalf("rollback %+v", res.Rollback)
			}
			w.Close()
			run, err := journal.Read(w.Path())
			if err != nil {
				t.Fatal(err)
			}
			if len(run.Faults) != 1 || run.Faults[0].Record == nil {
				t.Fatalf("journal faults %+v, want f with a record", run.Faults)
			}
			if len(pglab.ProcessesUnder(lab.Dir())) == 0 {
				t.Fatal("no server running before recover: the test would prove nothing")
			}
			ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 2*time.Minute)
			defer cancel()
			for i := range 2 {
				if err := typ.Recover(ctx, runner.NewEnv(nil, nil), run.Faults[0].Record); err != nil {
					t.Fatalf("recover #%d: %v", i+1, err)
				}
				pglabtest.AssertRemoved(t, lab.Dir())
			}
		})
	}
}

// A record naming a lab that now belongs to another process is refused, and the lab survives.
func TestLabRecoverRefusesAnotherOwnersLab(t *testing.T) {
	lab := pglabtest.Start(t, pglab.Options{})
	rec := []byte(`{"labDir":"` + lab.Dir() + `","ownerPid":1,"primary":"pg1"}`)
	if err := KillPrimaryType().Recover(t.Context(), runner.NewEnv(nil, nil), rec); err == nil {
		t.Fatal("recover removed a lab the record's drill did not own")
	}
	if len(pglab.ProcessesUnder(lab.Dir())) == 0 {
		t.Fatal("the lab's servers are gone")
	}
}
