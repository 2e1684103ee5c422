package etcdfault

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/drillhq/drill/backends/etcdenv"
	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/etcdlab/labtest"
	"github.com/drillhq/drill/internal/recovertest"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// etcd-kill-member and etcd-kill-quorum journal the drill's lab (and, for the quorum, the
// majority) before killing; Recover, from the record alone, leaves no member process and no lab
// dir, and a second Recover is a no-op.
//
// Each drill runs through the runner with a real journal; its own revert restarts the members,
// so the lab is up with every member when Recover runs: more to remove than after a real
// SIGKILL, where the members died with drill (Pdeathsig) and only the directory is left.
func TestKillRecoverRemovesLab(t *testing.T) {
	for _, tc := range []struct {
		typ   runner.FaultType
		cfg   any
		check func(t *testing.T, rec json.RawMessage, labDir string)
	}{
		{typ: KillMemberType(), cfg: &KillMemberConfig{Member: "m2", Signal: "SIGKILL"}},
		{typ: KillQuorumType(), cfg: &KillQuorumConfig{Signal: "SIGKILL"}, check: func(t *testing.T, rec json.RawMessage, labDir string) {
			var got killQuorumRecord
			if err := json.Unmarshal(rec, &got); err != nil {
				t.Fatalf("record %s: %v", rec, err)
			}
			if got.LabDir != labDir || got.OwnerPID == 0 || len(got.Members) != 2 {
				t.Fatalf("record %+v, want lab %s, an owner pid and 2 members", got, labDir)
			}
		}},
	} {
		t.Run(tc.typ.Name, func(t *testing.T) {
			lab := labtest.Start(t, etcdlab.Options{Members: 3})
			env := runner.NewEnv(&scenarios.Scenario{Name: "kill"}, nil)
			etcdenv.WithCluster(env, &etcdenv.Cluster{Endpoints: lab.Endpoints(), Lab: lab})
			res, run := recovertest.Run(t, recovertest.Drill{Type: tc.typ, With: tc.cfg, Env: env})
			if !res.Rollback.Clean {
				t.Fatalf("rollback %+v", res.Rollback)
			}
			rec := recovertest.Record(t, run)
			if tc.check != nil {
				tc.check(t, rec, lab.Dir())
			}
			if len(etcdlab.MembersUnder(lab.Dir())) == 0 {
				t.Fatal("no member running before recover: the test would prove nothing")
			}
			recovertest.RecoverTwice(t, tc.typ, rec, time.Minute, func(round int) {
				labtest.AssertNoMembers(t, lab.Dir())
				if _, err := os.Stat(lab.Dir()); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("recover #%d left the lab dir: %v", round, err)
				}
			})
		})
	}
}

// A record naming a lab that now belongs to another process is refused, and the lab survives.
func TestKillRecoverRefusesAnotherOwnersLab(t *testing.T) {
	for _, tc := range []struct {
		typ    runner.FaultType
		record string // after the lab dir and owner pid
	}{
		{KillMemberType(), `"member":"m1"`},
		{KillQuorumType(), `"members":["m1"]`},
	} {
		t.Run(tc.typ.Name, func(t *testing.T) {
			lab := labtest.Start(t, etcdlab.Options{Members: 1})
			rec := []byte(`{"labDir":"` + lab.Dir() + `","ownerPid":1,` + tc.record + `}`)
			if err := tc.typ.Recover(t.Context(), runner.NewEnv(nil, nil), rec); err == nil {
				t.Fatal("recover took down a lab the record's drill did not own")
			}
			if len(etcdlab.MembersUnder(lab.Dir())) == 0 {
				t.Fatal("the lab's member is gone")
			}
		})
	}
}
