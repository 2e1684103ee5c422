package etcdfault

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/runner"
)

// ReplaceMemberType is the etcd-replace-member step (lab only): the rejoin path for a member whose
// data is lost. It stops the member if needed, removes it from the cluster, wipes its data dir,
// adds it back (etcd assigns a new member ID) and starts it empty to catch up from the leader.
func ReplaceMemberType() runner.StepType {
	return runner.NewStepType("etcd-replace-member", "Remove a member, wipe it and add it back as a new member with clean state (lab only)",
		func() *MemberConfig { return &MemberConfig{} },
		func(c *MemberConfig, env *runner.Env) (runner.Step, error) {
			ref, lab, err := newMemberStep(c, env, "etcd-replace-member")
			if err != nil {
				return nil, err
			}
			return &replaceMember{ref: ref, lab: lab, log: env.Log}, nil
		})
}

type replaceMember struct {
	ref memberRef
	lab *etcdlab.Lab
	log *slog.Logger
}

func (s *replaceMember) Run(ctx context.Context) error {
	names, err := s.ref.resolve()
	if err != nil {
		return err
	}
	for _, n := range names {
		old, _ := s.lab.Member(n)
		id, err := s.lab.Replace(ctx, n)
		if err != nil {
			return fmt.Errorf("replace member %s: %w", n, err)
		}
		s.log.Info("etcd member replaced", "member", n, "oldID", old.ID, "newID", etcdlab.FormatID(id))
	}
	return nil
}
