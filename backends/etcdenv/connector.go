package etcdenv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/internal/labdir"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// ConnectorOptions configure the etcd connector.
type ConnectorOptions struct {
	// KeepLab leaves a lab started for a drill running afterwards (--keep-lab); `drill lab down
	// --dir` removes it later.
	KeepLab bool
	// Binary and Etcdutl override the binary search (--etcd-binary).
	Binary, Etcdutl string
	// LabRoot is the parent of per-drill lab directories; empty: the system temp dir.
	LabRoot string
	// LabFsync runs lab members with fsync on (see etcdlab.Options.Fsync).
	LabFsync bool
}

// Connector starts a lab for scenarios with environment.etcd.lab, or connects to
// environment.etcd.endpoints.
type Connector struct{ opts ConnectorOptions }

// NewConnector returns the etcd connector.
func NewConnector(opts ConnectorOptions) *Connector { return &Connector{opts: opts} }

// Name implements runner.Connector.
func (*Connector) Name() string { return "etcd" }

// Wants implements runner.Connector.
func (*Connector) Wants(s *scenarios.Scenario) bool {
	return Of(s) != nil
}

// Connect implements runner.Connector.
func (k *Connector) Connect(ctx context.Context, env *runner.Env) (func(context.Context) error, error) {
	e := Of(env.Scenario)
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if e.Lab == nil {
		if len(e.Endpoints) == 0 {
			return nil, errors.New("environment.etcd: give lab or endpoints")
		}
		c := &Cluster{Endpoints: e.Endpoints}
		WithCluster(env, c)
		return func(context.Context) error { return c.close() }, nil
	}
	bin, err := etcdlab.FindEtcd(k.opts.Binary)
	if err != nil {
		return nil, err
	}
	root := k.opts.LabRoot
	if root != "" {
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, fmt.Errorf("lab root: %w", err)
		}
	}
	if reaped, err := etcdlab.ReapOrphans(ctx, root, log); err != nil {
		log.Warn("orphaned etcd labs", "err", err)
	} else if len(reaped) > 0 {
		log.Info("removed etcd labs left by drills that died", "dirs", strings.Join(reaped, ","))
	}
	// Up creates and owns the directory.
	dir, err := labdir.FreshName(root, "drill-lab-"+env.Scenario.Name+"-")
	if err != nil {
		return nil, err
	}
	// Journaled before anything exists: a drill killed from here on, even before its first
	// fault, leaves a record `drill recover` removes the lab from.
	owner := 0
	if !k.opts.KeepLab {
		owner = os.Getpid()
	}
	if err := env.JournalResource(ctx, LabResource, []string{dir}, labRecordOf(dir, k.opts.KeepLab, owner, nil)); err != nil {
		return nil, err
	}
	lab, err := etcdlab.Up(ctx, etcdlab.Options{
		Dir:           dir,
		Members:       e.Lab.Members,
		Binary:        bin,
		Etcdutl:       k.opts.Etcdutl,
		DieWithParent: !k.opts.KeepLab,
		SnapshotEvery: e.Lab.SnapshotEvery.D(),
		SnapshotKeep:  e.Lab.SnapshotKeep,
		Fsync:         k.opts.LabFsync,
		Now:           func() time.Time { return env.Clock.Wall(env.Clock.Now()) },
		Log:           log,
	})
	if err != nil {
		// Up cleans up after itself; only a directory still there is left for recover.
		if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
			env.ResourceRemoved(ctx, LabResource, "the lab failed to start and was cleaned up")
		}
		return nil, fmt.Errorf("start etcd lab: %w", err)
	}
	if err := env.JournalResource(ctx, LabResource, append([]string{dir}, lab.Endpoints()...), labRecordOf(dir, k.opts.KeepLab, owner, lab)); err != nil {
		if derr := lab.Down(context.WithoutCancel(ctx)); derr == nil {
			env.ResourceRemoved(ctx, LabResource, "removed: its members could not be journaled")
		}
		return nil, err
	}
	c := &Cluster{Endpoints: lab.Endpoints(), Lab: lab}
	WithCluster(env, c)
	log.Info("etcd lab started", "dir", lab.Dir(), "members", len(c.Endpoints), "endpoints", strings.Join(c.Endpoints, ","))
	return func(ctx context.Context) error {
		cerr := c.close()
		if k.opts.KeepLab {
			log.Warn("etcd lab kept (--keep-lab); remove it with `drill lab down --dir "+lab.Dir()+"`", "endpoints", strings.Join(c.Endpoints, ","))
			env.ResourceRemoved(ctx, LabResource, "kept (--keep-lab): `drill lab down --dir "+lab.Dir()+"` removes it")
			return errors.Join(cerr, lab.Detach())
		}
		if err := lab.Down(ctx); err != nil {
			return errors.Join(cerr, err) // still journaled: drill recover finishes the job
		}
		env.ResourceRemoved(ctx, LabResource, "removed by the drill")
		return cerr
	}, nil
}
