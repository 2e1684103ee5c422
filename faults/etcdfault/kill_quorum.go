package etcdfault

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

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

// KillQuorumType is the etcd-kill-quorum fault (lab only): a random majority of members goes, the
// cluster can no longer commit. Its revert restarts them together (or, if their data was wiped,
// restores the newest snapshot), unless a recovery step already brought the cluster back.
func KillQuorumType() runner.FaultType {
	return runner.NewFaultType("etcd-kill-quorum", "kill or freeze a majority of members: the cluster loses quorum (lab only)",
		func() *KillQuorumConfig { return &KillQuorumConfig{Signal: "SIGKILL"} },
		func(c *KillQuorumConfig, env *runner.Env) (runner.Fault, error) {
			lab, err := etcdenv.LabFrom(env, "etcd-kill-quorum")
			if err != nil {
				return nil, err
			}
			return &killQuorum{cfg: *c, lab: lab}, nil
		})
}

type killQuorum struct {
	cfg KillQuorumConfig
	lab *etcdlab.Lab
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
	return inj, nil
}
