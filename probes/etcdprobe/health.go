// Package etcdprobe holds the etcd probe types: cluster health, sequenced writes (RPO) and
// cross-member consistency. They work against the local lab and external endpoints alike.
package etcdprobe

import (
	"context"
	"fmt"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/drillhq/drill/backends/etcdenv"
	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// Health requirements.
const (
	RequireAll    = "all"
	RequireQuorum = "quorum"
)

// HealthConfig is the `with:` block of etcd-health.
type HealthConfig struct {
	Members []string `yaml:"members" doc:"member names (lab) or client URLs to check; empty: every member"`
	Require string   `yaml:"require" doc:"all: every listed member answers; quorum: a majority of them does. Either way the answering members must agree on a leader that answers"`
}

// Validate implements scenarios.Validator.
func (c *HealthConfig) Validate() error {
	if c.Require != RequireAll && c.Require != RequireQuorum {
		return scenarios.FieldErrorf("require", "must be all or quorum, got %q", c.Require)
	}
	return nil
}

// HealthType is the etcd-health probe: healthy when the listed members answer Status (all of
// them, or a majority), none reports an alarm, and they agree on one leader that answers too
// (or is not listed).
func HealthType() runner.ProbeType {
	return runner.NewProbeType("etcd-health", "etcd members answer Status and agree on a live leader (all members, or a quorum)",
		func() *HealthConfig { return &HealthConfig{Require: RequireAll} },
		func(c *HealthConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			client, eps, err := etcdenv.MemberClient(env, c.Members)
			if err != nil {
				return nil, err
			}
			need := len(eps)
			if c.Require == RequireQuorum {
				need = len(eps)/2 + 1
			}
			return &health{client: client, endpoints: eps, need: need}, nil
		})
}

type health struct {
	client    *clientv3.Client
	endpoints []string
	need      int
}

// Check asks every endpoint concurrently and returns as soon as the answers so far decide: a
// dead member's Status only fails at the sample timeout, and in quorum mode the sample must not
// wait for it once a majority has answered.
func (h *health) Check(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan etcdlab.EndpointStatus, len(h.endpoints))
	for _, ep := range h.endpoints {
		go func() {
			resp, err := etcdlab.Status(ctx, h.client, ep)
			results <- etcdlab.EndpointStatus{Endpoint: ep, Resp: resp, Err: err}
		}()
	}
	var done []etcdlab.EndpointStatus
	for range h.endpoints {
		done = append(done, <-results)
		if err, final := judgeHealth(done, len(h.endpoints), h.need); final {
			return err
		}
	}
	err, _ := judgeHealth(done, len(h.endpoints), h.need)
	return err
}

// judgeHealth decides from the answers received so far (of total endpoints asked) whether the
// cluster is healthy: at least need members answered, none reports an alarm, and need of them
// name the same leader, which answered as leader itself (or, when every listed member answered
// and none is the leader, is simply not listed). final reports that more answers cannot change
// the verdict.
func judgeHealth(done []etcdlab.EndpointStatus, total, need int) (err error, final bool) {
	var down []string
	votes := map[uint64]int{}
	self := map[uint64]bool{}
	noLeader := ""
	for _, s := range done {
		if s.Err != nil {
			down = append(down, fmt.Sprintf("%s: %v", s.Endpoint, s.Err))
			continue
		}
		if len(s.Resp.Errors) > 0 {
			return fmt.Errorf("%s reports %s", s.Endpoint, strings.Join(s.Resp.Errors, "; ")), true
		}
		if s.Resp.Leader == 0 {
			noLeader = s.Endpoint
			continue
		}
		votes[s.Resp.Leader]++
		if s.ID() == s.Resp.Leader {
			self[s.Resp.Leader] = true
		}
	}
	if len(down) > total-need {
		return fmt.Errorf("%d of %d members answered, need %d: %s", total-len(down), total, need, strings.Join(down, "; ")), true
	}
	all := len(done) == total
	for l, n := range votes {
		if n >= need && (self[l] || (all && len(down) == 0)) {
			return nil, true
		}
	}
	if !all {
		return nil, false
	}
	switch {
	case noLeader != "" && len(votes) == 0:
		return fmt.Errorf("no leader (%s has none)", noLeader), true
	case len(votes) > 1:
		var ls []string
		for l, n := range votes {
			ls = append(ls, fmt.Sprintf("%s by %d", etcdlab.FormatID(l), n))
		}
		slices.Sort(ls)
		return fmt.Errorf("members disagree on the leader: %s", strings.Join(ls, ", ")), true
	case noLeader != "":
		return fmt.Errorf("%s has no leader", noLeader), true
	}
	for l := range votes {
		if !self[l] {
			// The leader the others still name did not answer: until an election replaces
			// it, nothing is committed.
			return fmt.Errorf("leader %s did not answer", etcdlab.FormatID(l)), true
		}
	}
	return fmt.Errorf("fewer than %d members agree on a leader", need), true
}
