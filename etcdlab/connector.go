package etcdlab

import (
	"context"
	"errors"
	"fmt"
	"github.com/drillhq/drill/backends/etcdenv"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// Cluster is what the etcd connector hands to fault, step and probe types through the Env: the
// client endpoints, and the lab when drill runs one (nil for an external cluster).
type Cluster struct {
	Endpoints []string
	Lab       *Lab

	mu     sync.Mutex
	client *clientv3.Client
}

// Client returns a client shared by the drill's types over every endpoint.
func (c *Cluster) Client() (*clientv3.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == nil {
		cl, err := NewClient(c.Endpoints)
		if err != nil {
			return nil, err
		}
		c.client = cl
	}
	return c.client, nil
}

// NeedLab returns the lab, or an error saying that what needs it cannot run against an external
// cluster (killing a remote member needs a way in: a command fault, or the AWS SSM fault).
func (c *Cluster) NeedLab(what string) (*Lab, error) {
	if c.Lab == nil {
		return nil, fmt.Errorf("%s needs the local lab (environment.etcd.lab); against external endpoints use a `command` fault or the AWS SSM fault to reach the members", what)
	}
	return c.Lab, nil
}

// ResolveMembers turns member names (lab) or client URLs into client URLs; empty means all.
func (c *Cluster) ResolveMembers(names []string) ([]string, error) {
	if len(names) == 0 {
		return c.Endpoints, nil
	}
	var out []string
	for _, n := range names {
		if strings.Contains(n, "://") {
			out = append(out, n)
			continue
		}
		if c.Lab == nil {
			return nil, fmt.Errorf("member %q: name members by client URL for an external cluster", n)
		}
		m, ok := c.Lab.Member(n)
		if !ok {
			return nil, fmt.Errorf("no lab member %q (members: %s)", n, strings.Join(c.Lab.Names(), ", "))
		}
		out = append(out, m.ClientURL)
	}
	return out, nil
}

func (c *Cluster) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == nil {
		return nil
	}
	err := c.client.Close()
	c.client = nil
	return err
}

type clusterKey struct{}

// ClusterFrom returns the cluster the etcd connector stored in env.
func ClusterFrom(env *runner.Env) (*Cluster, error) {
	if c, ok := env.Value(clusterKey{}).(*Cluster); ok && c != nil {
		return c, nil
	}
	return nil, errors.New("no etcd cluster: the scenario needs an environment.etcd section (lab or endpoints)")
}

// WithCluster stores c in env the way the connector does (for tests and other connectors).
func WithCluster(env *runner.Env, c *Cluster) { env.Set(clusterKey{}, c) }

// ConnectorOptions configure the etcd connector.
type ConnectorOptions struct {
	// KeepLab leaves a lab started for a drill running afterwards (--keep-lab); `drill lab down
	// --dir` removes it later.
	KeepLab bool
	// Binary and Etcdutl override the binary search (--etcd-binary).
	Binary, Etcdutl string
	// LabRoot is the parent of per-drill lab directories; empty: the system temp dir.
	LabRoot string
	// LabFsync runs lab members with fsync on (see Options.Fsync).
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
	return etcdenv.Of(s) != nil
}

// Connect implements runner.Connector.
func (k *Connector) Connect(ctx context.Context, env *runner.Env) (func(context.Context) error, error) {
	e := etcdenv.Of(env.Scenario)
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
	bin, err := FindEtcd(k.opts.Binary)
	if err != nil {
		return nil, err
	}
	root := k.opts.LabRoot
	if root != "" {
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, fmt.Errorf("lab root: %w", err)
		}
	}
	if reaped, err := ReapOrphans(ctx, root, log); err != nil {
		log.Warn("orphaned etcd labs", "err", err)
	} else if len(reaped) > 0 {
		log.Info("removed etcd labs left by drills that died", "dirs", strings.Join(reaped, ","))
	}
	dir, err := os.MkdirTemp(root, "drill-lab-"+env.Scenario.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("create lab dir: %w", err)
	}
	// MkdirTemp made it; Up wants to create or own it, so hand it an empty dir it may delete.
	if err := os.Remove(dir); err != nil {
		return nil, fmt.Errorf("create lab dir: %w", err)
	}
	lab, err := Up(ctx, Options{
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
		return nil, fmt.Errorf("start etcd lab: %w", err)
	}
	c := &Cluster{Endpoints: lab.Endpoints(), Lab: lab}
	WithCluster(env, c)
	log.Info("etcd lab started", "dir", lab.Dir(), "members", len(c.Endpoints), "endpoints", strings.Join(c.Endpoints, ","))
	return func(ctx context.Context) error {
		cerr := c.close()
		if k.opts.KeepLab {
			log.Warn("etcd lab kept (--keep-lab); remove it with `drill lab down --dir "+lab.Dir()+"`", "endpoints", strings.Join(c.Endpoints, ","))
			return errors.Join(cerr, lab.Detach())
		}
		return errors.Join(cerr, lab.Down(ctx))
	}, nil
}
