package etcdfault

import (
	"context"
	"fmt"

	"github.com/drillhq/drill/backends/etcdenv"
	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/runner"
)

// MemberConfig is the `with:` block of etcd-restart-member and etcd-replace-member.
type MemberConfig struct {
	Member string `yaml:"member" doc:"a fault's name (the members it chose) or a member name (m1, m2, ...)"`
}

// RestartMemberType is the etcd-restart-member step (lab only): resume a frozen member or start a
// dead one again from its data dir, and wait until it has rejoined (answers, knows a leader).
// Several members (a quorum fault's targets) are started together.
func RestartMemberType() runner.StepType {
	return runner.NewStepType("etcd-restart-member", "Resume a frozen member or restart a dead one from its data dir (lab only)",
		func() *MemberConfig { return &MemberConfig{} },
		func(c *MemberConfig, env *runner.Env) (runner.Step, error) {
			ref, lab, err := newMemberStep(c, env, "etcd-restart-member")
			if err != nil {
				return nil, err
			}
			return &restartMember{ref: ref, lab: lab}, nil
		})
}

func newMemberStep(c *MemberConfig, env *runner.Env, typ string) (memberRef, *etcdlab.Lab, error) {
	lab, err := etcdenv.LabFrom(env, typ)
	if err != nil {
		return memberRef{}, nil, err
	}
	ref, err := newMemberRef(c.Member, env, lab)
	return ref, lab, err
}

type restartMember struct {
	ref memberRef
	lab *etcdlab.Lab
}

func (s *restartMember) Run(ctx context.Context) error {
	names, err := s.ref.resolve()
	if err != nil {
		return err
	}
	if err := s.lab.Start(ctx, names...); err != nil {
		return fmt.Errorf("restart members %v: %w", names, err)
	}
	return nil
}
