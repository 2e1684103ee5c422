package etcdfault

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

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
	return runner.StepType{
		Name:      "etcd-restore-cluster",
		Summary:   "restore every member from one snapshot (latest, a file or a dir) as a new cluster (lab only)",
		NewConfig: func() any { return &RestoreClusterConfig{From: "latest"} },
		New: func(cfg any, env *runner.Env) (runner.Step, error) {
			c, ok := cfg.(*RestoreClusterConfig)
			if !ok || c == nil {
				return nil, fmt.Errorf("etcd-restore-cluster: want *RestoreClusterConfig, got %T", cfg)
			}
			if err := c.Validate(); err != nil {
				return nil, err
			}
			lab, err := labFrom(env, "etcd-restore-cluster")
			if err != nil {
				return nil, err
			}
			return &restoreCluster{from: c.From, lab: lab, log: env.Log}, nil
		},
	}
}

type restoreCluster struct {
	from string
	lab  *etcdlab.Lab
	log  *slog.Logger
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
	s.log.Info("restoring etcd from snapshot", "path", latest.Path, "takenAt", latest.TakenAt, "age", time.Since(latest.TakenAt).Round(time.Millisecond))
	return latest.Path, nil
}

func (s *restoreCluster) Run(ctx context.Context) error {
	snap, err := s.snapshot()
	if err != nil {
		return fmt.Errorf("restore cluster: %w", err)
	}
	return s.lab.Restore(ctx, snap)
}
