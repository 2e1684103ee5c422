package etcdfault

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/drillhq/drill/backends/etcdenv"
	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/runner"
)

// KillQuorumConfig is the `with:` block of etcd-kill-quorum.
type KillQuorumConfig struct {
	Signal string `yaml:"signal" doc:"SIGKILL, SIGTERM, or SIGSTOP (freeze)"`
	Wipe   bool   `yaml:"wipe" doc:"delete the killed members' data dirs: only a snapshot restore brings the cluster back"`
}

// Validate implements scenarios.Validator.
func (c *KillQuorumConfig) Validate() error { return errors.Join(validateSignal(c.Signal, c.Wipe)...) }

// Enums implements scenarios.Enumer.
func (*KillQuorumConfig) Enums() map[string][]string { return signalEnums() }

// KillQuorumType is the etcd-kill-quorum fault (lab only): a random majority of members goes, the
// cluster can no longer commit. Its revert restarts them together (or, if their data was wiped,
// restores the newest snapshot), unless a recovery step already brought the cluster back.
func KillQuorumType() runner.FaultType {
	return runner.NewFaultType("etcd-kill-quorum", "Kill or freeze a majority of members: the cluster loses quorum (lab only)",
		func() *KillQuorumConfig { return &KillQuorumConfig{Signal: "SIGKILL"} },
		func(c *KillQuorumConfig, env *runner.Env) (runner.Fault, error) {
			lab, err := etcdenv.LabFrom(env, "etcd-kill-quorum")
			if err != nil {
				return nil, err
			}
			return &killQuorum{cfg: *c, lab: lab, env: env}, nil
		},
		runner.WithRecover(recoverKillQuorum))
}

// killQuorumRecord is what etcd-kill-quorum journals before signalling: the lab and the
// majority. It has the shape of killMemberRecord with the members listed; see there for why
// recover removes a drill-owned lab and revives the members of a kept one.
type killQuorumRecord struct {
	LabDir   string   `json:"labDir"`
	OwnerPID int      `json:"ownerPid,omitempty"`
	Members  []string `json:"members"`
}

// recoverKillQuorum removes the drill's lab (or revives the majority of a kept lab). A lab
// already gone is a no-op, so recovering twice is harmless.
func recoverKillQuorum(ctx context.Context, env *runner.Env, rec *killQuorumRecord) error {
	return recoverLab(ctx, env, rec.LabDir, rec.OwnerPID, rec.Members)
}

type killQuorum struct {
	cfg KillQuorumConfig
	lab *etcdlab.Lab
	env *runner.Env
}

// majority picks floor(n/2)+1 running members at random.
func (f *killQuorum) majority() ([]string, error) {
	names := f.lab.Names()
	need := len(names)/2 + 1
	var running []string
	for _, n := range names {
		if f.lab.Running(n) {
			running = append(running, n)
		}
	}
	if len(running) < need {
		return nil, fmt.Errorf("only %d of %d members running, need %d to take quorum down", len(running), len(names), need)
	}
	rand.Shuffle(len(running), func(i, j int) { running[i], running[j] = running[j], running[i] })
	return running[:need], nil
}

// Plan implements runner.Planner; the majority injected is drawn again at random.
func (f *killQuorum) Plan(context.Context) ([]string, error) { return f.majority() }

func (f *killQuorum) Inject(ctx context.Context) (runner.Injection, error) {
	names, err := f.majority()
	if err != nil {
		return runner.Injection{}, err
	}
	rec := killQuorumRecord{LabDir: f.lab.Dir(), OwnerPID: f.lab.State().OwnerPID, Members: names}
	if err := f.env.Journal(ctx, names, rec); err != nil {
		return runner.Injection{}, err
	}
	inj := runner.Injection{
		Targets: names,
		Revert: func(ctx context.Context) error {
			if err := revive(ctx, f.lab, names); err != nil {
				return fmt.Errorf("bring back members %v: %w", names, err)
			}
			return nil
		},
	}
	if err := signalMembers(ctx, f.lab, names, signals[f.cfg.Signal], f.cfg.Wipe); err != nil {
		return inj, fmt.Errorf("%s members %v: %w", f.cfg.Signal, names, err)
	}
	f.noteQuorumLost(names)
	return inj, nil
}

// QuorumLostLayout is the time layout of the "quorum lost at" note.
const QuorumLostLayout = time.RFC3339Nano

// noteQuorumLost puts on the timeline when the cluster stopped committing: when the last of the
// majority was gone (signalMembers returns once each process has exited or stopped). That, not
// t0, ends what a restore can lose: t0 is when the injection started, and the cluster keeps
// committing until the last of the majority is gone, which on a busy machine can be hundreds
// of milliseconds later (a periodic backup may even be taken in between). The time is read
// from the clock the lab names snapshots by, so the two compare.
func (f *killQuorum) noteQuorumLost(names []string) {
	at := f.lab.Now()
	msg := fmt.Sprintf("quorum lost at %s: %s %s (%d of %d members)", at.UTC().Format(QuorumLostLayout),
		f.cfg.Signal, strings.Join(names, ", "), len(names), len(f.lab.Names()))
	if t0, ok := f.env.T0(); ok {
		msg += fmt.Sprintf(", %v after t0", at.Sub(t0).Round(time.Millisecond))
	}
	f.env.Note("%s", msg)
}
