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

// ConsistencyConfig is the `with:` block of etcd-consistency.
type ConsistencyConfig struct {
	Members []string `yaml:"members" doc:"member names (lab) or client URLs to compare; empty: every member"`
}

// ConsistencyType is the etcd-consistency probe: every listed member answers and their key-value
// stores hash equal (HashKV) at a revision all of them have applied. Use it in steadyState to
// prove that a restarted, replaced or restored cluster holds one history, not several.
func ConsistencyType() runner.ProbeType {
	return runner.NewProbeType("etcd-consistency", "etcd members' key-value hashes (HashKV) are equal at a common revision",
		func() *ConsistencyConfig { return &ConsistencyConfig{} },
		func(c *ConsistencyConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			client, eps, err := etcdenv.MemberClient(env, c.Members)
			if err != nil {
				return nil, err
			}
			return &consistency{client: client, endpoints: eps}, nil
		})
}

type consistency struct {
	client    *clientv3.Client
	endpoints []string
}

// memberHash is one member's HashKV answer.
type memberHash struct {
	endpoint   string
	hash       uint32
	compactRev int64
	err        error
}

func (p *consistency) Check(ctx context.Context) error {
	sts := etcdlab.StatusAll(ctx, p.client, p.endpoints)
	rev := int64(0)
	for _, s := range sts {
		if s.Err != nil {
			return fmt.Errorf("%s: %w", s.Endpoint, s.Err)
		}
		if r := s.Resp.Header.Revision; rev == 0 || r < rev {
			rev = r
		}
	}
	hashes := make([]memberHash, len(p.endpoints))
	done := make(chan struct{}, len(p.endpoints))
	for i, ep := range p.endpoints {
		go func() {
			defer func() { done <- struct{}{} }()
			resp, err := etcdlab.HashKV(ctx, p.client, ep, rev)
			hashes[i] = memberHash{endpoint: ep, err: err}
			if err == nil {
				hashes[i].hash, hashes[i].compactRev = resp.Hash, resp.CompactRevision
			}
		}()
	}
	for range p.endpoints {
		<-done
	}
	return compareHashes(rev, hashes)
}

func compareHashes(rev int64, hashes []memberHash) error {
	for _, h := range hashes {
		if h.err != nil {
			return fmt.Errorf("hashkv %s at revision %d: %w", h.endpoint, rev, h.err)
		}
	}
	same := !slices.ContainsFunc(hashes, func(h memberHash) bool {
		return h.hash != hashes[0].hash || h.compactRev != hashes[0].compactRev
	})
	if same {
		return nil
	}
	var parts []string
	for _, h := range hashes {
		parts = append(parts, fmt.Sprintf("%s=%08x (compacted at %d)", h.endpoint, h.hash, h.compactRev))
	}
	return fmt.Errorf("members differ at revision %d: %s", rev, strings.Join(parts, ", "))
}
