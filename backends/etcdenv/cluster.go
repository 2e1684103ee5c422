package etcdenv

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// Cluster is what the etcd connector hands to fault, step and probe types through the Env: the
// client endpoints, and the lab when drill runs one (nil for an external cluster).
type Cluster struct {
	Endpoints []string
	Lab       *etcdlab.Lab

	mu     sync.Mutex
	client *clientv3.Client
}

// Client returns a client shared by the drill's types over every endpoint.
func (c *Cluster) Client() (*clientv3.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == nil {
		cl, err := etcdlab.NewClient(c.Endpoints)
		if err != nil {
			return nil, err
		}
		c.client = cl
	}
	return c.client, nil
}

// NeedLab returns the lab, or an error saying that what needs it cannot run against an external
// cluster (killing a remote member needs a way in: a command fault, or the AWS SSM fault).
func (c *Cluster) NeedLab(what string) (*etcdlab.Lab, error) {
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

// ClusterFrom returns the cluster the etcd connector stored in env: the one lookup every etcd
// fault, step and probe type starts from.
func ClusterFrom(env *runner.Env) (*Cluster, error) {
	if c, ok := env.Value(clusterKey{}).(*Cluster); ok && c != nil {
		return c, nil
	}
	return nil, errors.New("no etcd cluster: the scenario needs an environment.etcd section (lab or endpoints)")
}

// WithCluster stores c in env the way the connector does (for tests and other connectors).
func WithCluster(env *runner.Env, c *Cluster) { env.Set(clusterKey{}, c) }

// LabFrom returns the lab from env, or an error naming the type that needs it (typ).
func LabFrom(env *runner.Env, typ string) (*etcdlab.Lab, error) {
	c, err := ClusterFrom(env)
	if err != nil {
		return nil, err
	}
	return c.NeedLab(typ)
}

// MemberClient finds the cluster in env, resolves the listed members (all of them when none are
// listed) to client endpoints, and returns the shared client with them. A member that does not
// resolve is reported against the `members` key.
func MemberClient(env *runner.Env, members []string) (*clientv3.Client, []string, error) {
	cl, err := ClusterFrom(env)
	if err != nil {
		return nil, nil, err
	}
	eps, err := cl.ResolveMembers(members)
	if err != nil {
		return nil, nil, scenarios.FieldErrorf("members", "%v", err)
	}
	client, err := cl.Client()
	if err != nil {
		return nil, nil, err
	}
	return client, eps, nil
}
