package etcdfault

import (
	"context"
	"errors"
	"fmt"

	"github.com/drillhq/drill/backends/etcdenv"
	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// KillMemberConfig is the `with:` block of etcd-kill-member.
type KillMemberConfig struct {
	Member string `yaml:"member" doc:"leader, follower, any, or a member name (m1, m2, ...)"`
	Signal string `yaml:"signal" doc:"SIGKILL, SIGTERM, or SIGSTOP (freezes the process: a hung member that keeps its sockets)"`
	Wipe   bool   `yaml:"wipe" doc:"delete the member's data dir once it is dead: it can only come back as a new member"`
}

// Validate implements scenarios.Validator.
func (c *KillMemberConfig) Validate() error {
	errs := validateSignal(c.Signal, c.Wipe)
	if c.Member == "" {
		errs = append(errs, scenarios.FieldErrorf("member", "required: leader, follower, any or a member name"))
	}
	return errors.Join(errs...)
}

// KillMemberType is the etcd-kill-member fault (lab only). Its revert resumes a frozen member,
// restarts a dead one, and replaces a wiped one, unless a recovery step already brought it back.
func KillMemberType() runner.FaultType {
	return runner.NewFaultType("etcd-kill-member", "kill (SIGKILL/SIGTERM) or freeze (SIGSTOP) one member: the leader, a follower, any, or by name (lab only)",
		func() *KillMemberConfig { return &KillMemberConfig{Member: SelectFollower, Signal: "SIGKILL"} },
		func(c *KillMemberConfig, env *runner.Env) (runner.Fault, error) {
			lab, err := etcdenv.LabFrom(env, "etcd-kill-member")
			if err != nil {
				return nil, err
			}
			return &killMember{cfg: *c, lab: lab}, nil
		})
}

type killMember struct {
	cfg KillMemberConfig
	lab *etcdlab.Lab
}

// Plan implements runner.Planner. A follower or any member is picked at random, so the member
// injected may differ from the one planned.
func (f *killMember) Plan(ctx context.Context) ([]string, error) {
	name, err := pickMember(ctx, f.lab, f.cfg.Member)
	if err != nil {
		return nil, fmt.Errorf("choose member %q: %w", f.cfg.Member, err)
	}
	return []string{name}, nil
}

func (f *killMember) Inject(ctx context.Context) (runner.Injection, error) {
	name, err := pickMember(ctx, f.lab, f.cfg.Member)
	if err != nil {
		return runner.Injection{}, fmt.Errorf("choose member %q: %w", f.cfg.Member, err)
	}
	inj := runner.Injection{
		Targets: []string{name},
		Revert: func(ctx context.Context) error {
			if err := revive(ctx, f.lab, []string{name}); err != nil {
				return fmt.Errorf("bring back member %s: %w", name, err)
			}
			return nil
		},
	}
	if err := signalMembers(ctx, f.lab, []string{name}, signals[f.cfg.Signal], f.cfg.Wipe); err != nil {
		return inj, fmt.Errorf("%s member %s: %w", f.cfg.Signal, name, err)
	}
	return inj, nil
}
