package etcdfault

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/drillhq/drill/backends/etcdenv"
	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// RestoreClusterConfig is the `with:` block of etcd-restore-cluster.
type RestoreClusterConfig struct {
	From string `yaml:"from" doc:"latest (newest snapshot in the lab's snapshot dir), a snapshot file, or a directory (its newest snapshot)"`
}

// Validate implements scenarios.Validator.
func (c *RestoreClusterConfig) Validate() error {
	if c.From == "" {
		return scenarios.FieldErrorf("from", "required: latest, a snapshot file or a directory")
	}
	return nil
}

// RestoreClusterType is the etcd-restore-cluster step (lab only): the disaster-recovery path
// after quorum or data loss. It stops what is left, restores every member from the same snapshot
// under a new cluster token (etcdutl snapshot restore), starts them and waits for a leader.
// Everything written after the snapshot is lost: that is the RPO the drill measures.
func RestoreClusterType() runner.StepType {
	return runner.NewStepType("etcd-restore-cluster", "restore every member from one snapshot (latest, a file or a dir) as a new cluster (lab only)",
		func() *RestoreClusterConfig { return &RestoreClusterConfig{From: "latest"} },
		func(c *RestoreClusterConfig, env *runner.Env) (runner.Step, error) {
			lab, err := etcdenv.LabFrom(env, "etcd-restore-cluster")
			if err != nil {
				return nil, err
			}
			return &restoreCluster{from: c.From, lab: lab, env: env}, nil
		})
}

type restoreCluster struct {
	from string
	lab  *etcdlab.Lab
	env  *runner.Env
}

// snapshot resolves `from` when the step runs, so "latest" means the newest snapshot then.
func (s *restoreCluster) snapshot() (string, error) {
	dir := s.from
	if s.from == "latest" {
		dir = s.lab.SnapshotDir()
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("snapshot %s: %w", s.from, err)
	}
	if !fi.IsDir() {
		return filepath.Abs(dir)
	}
	latest, err := etcdlab.LatestSnapshot(dir)
	if err != nil {
		return "", err
	}
	// The snapshot's age at t0 bounds the data a restore can lose: it is the evidence the
	// measured RPO is judged against, so it goes on the timeline.
	msg := fmt.Sprintf("restoring every member from snapshot %s taken %s", filepath.Base(latest.Path), latest.TakenAt.UTC().Format(time.RFC3339Nano))
	if t0, ok := s.env.T0(); ok {
		msg += fmt.Sprintf(" (%v before t0)", t0.Sub(latest.TakenAt).Round(time.Millisecond))
	}
	s.env.Note("%s", msg)
	return latest.Path, nil
}

func (s *restoreCluster) Run(ctx context.Context) error {
	snap, err := s.snapshot()
	if err != nil {
		return fmt.Errorf("restore cluster: %w", err)
	}
	return s.lab.Restore(ctx, snap)
}
