package etcdfault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/drillhq/drill/backends/etcdenv"
	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// SnapshotSaveConfig is the `with:` block of etcd-snapshot-save.
type SnapshotSaveConfig struct {
	Dir string `yaml:"dir" doc:"directory for the snapshot file; empty: the lab's snapshot dir (required for external endpoints)"`
}

// SnapshotSaveType is the etcd-snapshot-save step: stream a snapshot from one live member into a
// file. The Snapshot RPC is served from the member's own data, so it works without quorum: the
// emergency backup an operator takes from a survivor. Works against external endpoints too.
func SnapshotSaveType() runner.StepType {
	return runner.NewStepType("etcd-snapshot-save", "Save a snapshot from one live member (works without quorum)",
		func() *SnapshotSaveConfig { return &SnapshotSaveConfig{} },
		func(c *SnapshotSaveConfig, env *runner.Env) (runner.Step, error) {
			cl, err := etcdenv.ClusterFrom(env)
			if err != nil {
				return nil, err
			}
			if c.Dir == "" && cl.Lab == nil {
				return nil, scenarios.FieldErrorf("dir", "required when the scenario uses external endpoints")
			}
			return &snapshotSave{dir: c.Dir, cluster: cl, log: env.Log, now: func() time.Time { return env.Clock.Wall(env.Clock.Now()) }}, nil
		})
}

type snapshotSave struct {
	dir     string
	cluster *etcdenv.Cluster
	log     *slog.Logger
	now     func() time.Time // the run clock, as for periodic snapshots
}

func (s *snapshotSave) Run(ctx context.Context) error {
	if s.cluster.Lab != nil {
		path, err := s.cluster.Lab.SaveSnapshot(ctx, s.dir)
		if err != nil {
			return err
		}
		s.log.Info("etcd snapshot saved", "path", path)
		return nil
	}
	var errs []error
	for _, ep := range s.cluster.Endpoints {
		info, err := etcdlab.SaveSnapshot(ctx, ep, s.dir, etcdlab.KindSaved, s.now)
		if err == nil {
			s.log.Info("etcd snapshot saved", "path", info.Path, "endpoint", ep)
			return nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("save snapshot: no endpoint could serve one: %w", errors.Join(errs...))
}
