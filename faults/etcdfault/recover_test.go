package etcdfault

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drillhq/drill/backends/etcdenv"
	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/etcdlab/labtest"
	"github.com/drillhq/drill/journal"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// etcd-kill-member journals the drill's lab before killing; Recover, from the record alone,
// leaves no member process and no lab dir, and a second Recover is a no-op.
//
// The drill runs through the runner with a real journal; its own revert restarts the member,
// so the lab is up with every member when Recover runs: more to remove than after a real
// SIGKILL, where the members died with drill (Pdeathsig) and only the directory is left.
func TestKillMemberRecoverRemovesLab(t *testing.T) {
	lab := labtest.Start(t, etcdlab.Options{Members: 3})
	env := runner.NewEnv(&scenarios.Scenario{Name: "kill"}, nil)
	etcdenv.WithCluster(env, &etcdenv.Cluster{Endpoints: lab.Endpoints(), Lab: lab})

	reg := runner.NewRegistry()
	typ := KillMemberType()
	reg.AddFault(typ)
	s := &scenarios.Scenario{
		Name: "kill", System: "sys", File: "kill.yaml",
		Objectives: scenarios.Objectives{RTO: time.Second},
		Faults:     []scenarios.StepSpec{{Name: "k", Type: typ.Name, With: &KillMemberConfig{Member: "m2", Signal: "SIGKILL"}}},
		Limits:     scenarios.Limits{Timeout: 30 * time.Second, Observe: 10 * time.Millisecond, Rollback: time.Minute},
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
		t.Fatalf("journal faults %+v, want k with a record", run.Faults)
	}
	rec := run.Faults[0].Record
	if len(etcdlab.MembersUnder(lab.Dir())) == 0 {
		t.Fatal("no member running before recover: the test would prove nothing")
	}

	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), time.Minute)
	defer cancel()
	for i := range 2 {
		if err := typ.Recover(ctx, runner.NewEnv(nil, nil), rec); err != nil {
			t.Fatalf("recover #%d: %v", i+1, err)
		}
		labtest.AssertNoMembers(t, lab.Dir())
		if _, err := os.Stat(lab.Dir()); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("recover #%d left the lab dir: %v", i+1, err)
		}
	}
}

// A record naming a lab that now belongs to another process is refused, and the lab survives.
func TestKillMemberRecoverRefusesAnotherOwnersLab(t *testing.T) {
	lab := labtest.Start(t, etcdlab.Options{Members: 1})
	rec := []byte(`{"labDir":"` + lab.Dir() + `","ownerPid":1,"member":"m1"}`)
	if err := KillMemberType().Recover(t.Context(), runner.NewEnv(nil, nil), rec); err == nil {
		t.Fatal("recover took down a lab the record's drill did not own")
	}
	if len(etcdlab.MembersUnder(lab.Dir())) == 0 {
		t.Fatal("the lab's member is gone")
	}
}

// etcd-kill-quorum journals the drill's lab and the majority before killing; Recover, from the
// record alone, leaves no member process and no lab dir, and a second Recover is a no-op.
// As for kill-member, the drill's own revert has brought the members back before Recover runs.
func TestKillQuorumRecoverRemovesLab(t *testing.T) {
	lab := labtest.Start(t, etcdlab.Options{Members: 3})
	env := runner.NewEnv(&scenarios.Scenario{Name: "quorum"}, nil)
	etcdenv.WithCluster(env, &etcdenv.Cluster{Endpoints: lab.Endpoints(), Lab: lab})

	reg := runner.NewRegistry()
	typ := KillQuorumType()
	reg.AddFault(typ)
	s := &scenarios.Scenario{
		Name: "quorum", System: "sys", File: "quorum.yaml",
		Objectives: scenarios.Objectives{RTO: time.Second},
		Faults:     []scenarios.StepSpec{{Name: "q", Type: typ.Name, With: &KillQuorumConfig{Signal: "SIGKILL"}}},
		Limits:     scenarios.Limits{Timeout: 30 * time.Second, Observe: 10 * time.Millisecond, Rollback: time.Minute},
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
		t.Fatalf("journal faults %+v, want q with a record", run.Faults)
	}
	rec := run.Faults[0].Record
	var got killQuorumRecord
	if err := json.Unmarshal(rec, &got); err != nil {
		t.Fatalf("record %s: %v", rec, err)
	}
	if got.LabDir != lab.Dir() || got.OwnerPID == 0 || len(got.Members) != 2 {
		t.Fatalf("record %+v, want lab %s, an owner pid and 2 members", got, lab.Dir())
	}
	if len(etcdlab.MembersUnder(lab.Dir())) == 0 {
		t.Fatal("no member running before recover: the test would prove nothing")
	}

	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), time.Minute)
	defer cancel()
	for i := range 2 {
		if err := typ.Recover(ctx, runner.NewEnv(nil, nil), rec); err != nil {
			t.Fatalf("recover #%d: %v", i+1, err)
		}
		labtest.AssertNoMembers(t, lab.Dir())
		if _, err := os.Stat(lab.Dir()); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("recover #%d left the lab dir: %v", i+1, err)
		}
	}
}

// A kill-quorum record naming a lab that now belongs to another process is refused.
func TestKillQuorumRecoverRefusesAnotherOwnersLab(t *testing.T) {
	lab := labtest.Start(t, etcdlab.Options{Members: 1})
	rec := []byte(`{"labDir":"` + lab.Dir() + `","ownerPid":1,"members":["m1"]}`)
	if err := KillQuorumType().Recover(t.Context(), runner.NewEnv(nil, nil), rec); err == nil {
		t.Fatal("recover took down a lab the record's drill did not own")
	}
	if len(etcdlab.MembersUnder(lab.Dir())) == 0 {
		t.Fatal("the lab's member is gone")
	}
}
