package sqlfault

import (
	"testing"
	"time"

	"github.com/drillhq/drill/backends/sqlenv"
	"github.com/drillhq/drill/internal/recovertest"
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
			res, run := recovertest.Run(t, recovertest.Drill{Type: typ, Env: env, Limits: scenarios.Limits{Timeout: time.Minute, Observe: 10 * time.Millisecond, Rollback: time.Minute}})
			if !res.Rollback.Clean {
				t.Fatalf("rollback %+v", res.Rollback)
			}
			rec := recovertest.Record(t, run)
			if len(pglab.ProcessesUnder(lab.Dir())) == 0 {
				t.Fatal("no server running before recover: the test would prove nothing")
			}
			recovertest.RecoverTwice(t, typ, rec, 2*time.Minute, func(int) { pglabtest.AssertRemoved(t, lab.Dir()) })
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
