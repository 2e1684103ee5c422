package etcdenv

// This file: the etcd lab as a journaled resource, so that a drill killed before any fault was
// journaled (in steady state, or while the lab was still starting) still leaves a record that
// `drill recover` removes the lab from, and `drill run` refuses the system until it has.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/internal/labdir"
	"github.com/drillhq/drill/runner"
)

// LabResource is the journal type of an etcd lab a drill started.
const LabResource = "etcd-lab"

// LabRecord is what the connector journals before creating the lab directory, then again once
// the members run (with their pids and ports).
type LabRecord struct {
	Dir string `json:"dir"`
	// OwnerPID is the drill process the members die with; the lab's state file must name the
	// same, or the directory now belongs to another lab and recover does not touch it.
	OwnerPID int `json:"ownerPid,omitempty"`
	// Keep is --keep-lab: the user asked for the lab to outlive the drill, so recover leaves it
	// running (`drill lab down --dir` removes it).
	Keep    bool        `json:"keep,omitempty"`
	Members []LabMember `json:"members,omitempty"`
}

// LabMember is one member as started: what `drill recover --list` shows and what the lab's
// own state file should agree with.
type LabMember struct {
	Name      string `json:"name"`
	PID       int    `json:"pid"`
	ClientURL string `json:"clientUrl"`
	PeerURL   string `json:"peerUrl"`
}

// LabResourceType declares the etcd lab to the registry, for `drill recover`.
func LabResourceType() runner.ResourceType {
	return runner.NewResourceType(LabResource, "a local etcd cluster started for a drill (environment.etcd.lab)", recoverLab)
}

func labRecordOf(dir string, keep bool, ownerPID int, lab *etcdlab.Lab) LabRecord {
	rec := LabRecord{Dir: dir, Keep: keep, OwnerPID: ownerPID}
	if lab != nil {
		for _, m := range lab.Members() {
			rec.Members = append(rec.Members, LabMember{Name: m.Name, PID: m.PID, ClientURL: m.ClientURL, PeerURL: m.PeerURL})
		}
	}
	return rec
}

// recoverLab takes the drill's lab down: pid-checked kills from the lab's state file, then its
// directory. It is a no-op on a lab already gone, so it is idempotent.
func recoverLab(ctx context.Context, env *runner.Env, rec *LabRecord) error {
	return labdir.Recovery{
		Kind: "etcd lab", Dir: rec.Dir, OwnerPID: rec.OwnerPID, Keep: rec.Keep,
		DownCmd: "drill lab down --dir " + rec.Dir,
		Open: func() (bool, int, func(context.Context) error, error) {
			lab, err := etcdlab.Open(rec.Dir, env.Log)
			if errors.Is(err, fs.ErrNotExist) {
				return false, 0, nil, nil
			}
			if err != nil {
				return false, 0, nil, err
			}
			return true, lab.State().OwnerPID, lab.Down, nil
		},
		Leftovers: func() string {
			if left := etcdlab.MembersUnder(rec.Dir); len(left) > 0 {
				return fmt.Sprint(left)
			}
			return ""
		},
		RemoveUnstarted: func() error { return etcdlab.RemoveUnstarted(rec.Dir) },
	}.Recover(ctx, env.Log)
}
