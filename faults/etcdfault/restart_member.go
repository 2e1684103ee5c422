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
	return runner.StepType{
		Name:      "etcd-restart-member",
		Summary:   "resume a frozen member or restart a dead one from its data dir (lab only)",
		NewConfig: func() any { return &MemberConfig{} },
		New: func(cfg any, env *runner.Env) (runner.Step, error) {
			ref, lab, err := newMemberStep(cfg, env, "etcd-restart-member")
			if err != nil {
				return nil, err
			}
			return &restartMember{ref: ref, lab: lab}, nil
		},
	}
}

func newMemberStep(cfg any, env *runner.Env, typ string) (memberRef, *etcdlab.Lab, error) {
	c, ok := cfg.(*MemberConfig)
	if !ok || c == nil {
		return memberRef{}, nil, fmt.Errorf("%s: want *MemberConfig, got %T", typ, cfg)
	}
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
