package etcdfault

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

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

// Enums implements scenarios.Enumer.
func (*KillMemberConfig) Enums() map[string][]string { return signalEnums() }

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
	return runner.NewFaultType("etcd-kill-member", "Kill (SIGKILL/SIGTERM) or freeze (SIGSTOP) one member: the leader, a follower, any, or by name (lab only)",
		func() *KillMemberConfig { return &KillMemberConfig{Member: SelectFollower, Signal: "SIGKILL"} },
		func(c *KillMemberConfig, env *runner.Env) (runner.Fault, error) {
			lab, err := etcdenv.LabFrom(env, "etcd-kill-member")
			if err != nil {
				return nil, err
			}
			return &killMember{cfg: *c, lab: lab, env: env}, nil
		},
		runner.WithRecover(recoverKillMember))
}

// killMemberRecord is what etcd-kill-member journals before signalling: the lab and the member.
//
// The lab is always one the etcd connector started for this drill (the type is lab only, and
// environment.etcd.lab always starts a fresh lab in its own directory), so what a killed drill
// leaves behind is that whole lab, not just a dead member. Recover therefore removes the lab
// when the drill owned it (OwnerPID set: members tied to the drill, the directory the drill's),
// which is what the drill's own cleanup would have done after reverting; with --keep-lab
// (OwnerPID 0) the user asked for the lab to outlive the drill, and recover brings the member
// back instead, as the drill's revert would have.
type killMemberRecord struct {
	LabDir   string `json:"labDir"`
	OwnerPID int    `json:"ownerPid,omitempty"`
	Member   string `json:"member"`
}

// recoverKillMember removes the drill's lab (or revives the member of a kept lab). A lab already
// gone is a no-op, so recovering twice is harmless.
func recoverKillMember(ctx context.Context, env *runner.Env, rec *killMemberRecord) error {
	return recoverLab(ctx, env, rec.LabDir, rec.OwnerPID, []string{rec.Member})
}

// recoverLab is the lab part of recovering an etcd lab fault: see killMemberRecord.
func recoverLab(ctx context.Context, env *runner.Env, dir string, ownerPID int, members []string) error {
	lab, err := etcdlab.Open(dir, env.Log)
	if errors.Is(err, fs.ErrNotExist) {
		// The lab's state file is gone: the drill's cleanup or an earlier recover took it down.
		// Without the state there are no pids to check, so look for any etcd whose data dir was
		// inside the lab dir: one left running is not something to call recovered.
		if left := etcdlab.MembersUnder(dir); len(left) > 0 {
			return fmt.Errorf("recover etcd lab %s: no lab state, but etcd processes still run there: %v (kill them by hand)", dir, left)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("recover etcd lab %s: %w", dir, err)
	}
	if st := lab.State(); st.OwnerPID != ownerPID {
		return fmt.Errorf("recover etcd lab %s: it belongs to process %d now, the drill's was %d: not touching it", dir, st.OwnerPID, ownerPID)
	}
	if ownerPID == 0 {
		if err := revive(ctx, lab, members); err != nil {
			return fmt.Errorf("recover etcd lab %s: bring back members %v: %w", dir, members, err)
		}
		return nil
	}
	if err := lab.Down(ctx); err != nil {
		return fmt.Errorf("recover etcd lab %s: take it down: %w", dir, err)
	}
	return nil
}

type killMember struct {
	cfg KillMemberConfig
	lab *etcdlab.Lab
	env *runner.Env
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
	rec := killMemberRecord{LabDir: f.lab.Dir(), OwnerPID: f.lab.State().OwnerPID, Member: name}
	if err := f.env.Journal(ctx, []string{name}, rec); err != nil {
		return runner.Injection{}, err
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
