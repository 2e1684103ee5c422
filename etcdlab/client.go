package etcdlab

import (
	"context"
	"errors"
	"fmt"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// NewClient returns an etcd client for endpoints, quiet (the client's own zap logging would
// flood stderr during a drill that kills members on purpose) and quick to reconnect: gRPC's
// default reconnect backoff grows to minutes, which after a member comes back would show up as
// recovery time that belongs to the client, not to etcd.
func NewClient(endpoints []string) (*clientv3.Client, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("etcd client: no endpoints")
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:            endpoints,
		DialTimeout:          2 * time.Second,
		DialKeepAliveTime:    2 * time.Second,
		DialKeepAliveTimeout: 2 * time.Second,
		Logger:               zap.NewNop(),
		// One attempt per call: a probe sample is one observation, and drill's own operations
		// retry where retrying is safe. (0 would mean the client's default of 100 retries.)
		MaxUnaryRetries: 1,
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 500 * time.Millisecond},
			MinConnectTimeout: time.Second,
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client for %v: %w", endpoints, err)
	}
	return c, nil
}

// EndpointStatus is one endpoint's answer to Status, or the error it gave.
type EndpointStatus struct {
	Endpoint string
	Resp     *clientv3.StatusResponse // nil on error
	Err      error
}

// ID is the answering member's ID, 0 on error.
func (s EndpointStatus) ID() uint64 {
	if s.Resp == nil || s.Resp.Header == nil {
		return 0
	}
	return s.Resp.Header.MemberId
}

// Status asks one member for its status over a connection of its own, failing fast when the
// member cannot be reached. clientv3's Maintenance.Status also dials afresh, but waits for the
// connection until ctx ends: a sample started while a member is down would then succeed if the
// member came back before the timeout, and be counted as up from its start, before the member
// was. A frozen member (SIGSTOP) still accepts TCP connections, so it fails at the timeout.
func Status(ctx context.Context, c *clientv3.Client, endpoint string) (*clientv3.StatusResponse, error) {
	conn, err := c.Dial(endpoint)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", endpoint, err)
	}
	defer conn.Close()
	resp, err := pb.NewMaintenanceClient(conn).Status(ctx, &pb.StatusRequest{}, grpc.WaitForReady(false))
	if err != nil {
		return nil, rpcErr(ctx, err)
	}
	if resp.Header == nil {
		return nil, errors.New("empty status response")
	}
	return (*clientv3.StatusResponse)(resp), nil
}

// HashKV asks one member for the hash of its key-value store at rev, failing fast like Status.
func HashKV(ctx context.Context, c *clientv3.Client, endpoint string, rev int64) (*clientv3.HashKVResponse, error) {
	conn, err := c.Dial(endpoint)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", endpoint, err)
	}
	defer conn.Close()
	resp, err := pb.NewMaintenanceClient(conn).HashKV(ctx, &pb.HashKVRequest{Revision: rev}, grpc.WaitForReady(false))
	if err != nil {
		return nil, rpcErr(ctx, err)
	}
	return (*clientv3.HashKVResponse)(resp), nil
}

// rpcErr turns gRPC errors into etcd's typed errors, and reports a context that ended as such.
func rpcErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return rpctypes.Error(err)
}

// StatusAll asks every endpoint for its status concurrently, each over its own connection (see
// Status).
func StatusAll(ctx context.Context, c *clientv3.Client, endpoints []string) []EndpointStatus {
	out := make([]EndpointStatus, len(endpoints))
	done := make(chan struct{}, len(endpoints))
	for i, ep := range endpoints {
		go func() {
			defer func() { done <- struct{}{} }()
			resp, err := Status(ctx, c, ep)
			out[i] = EndpointStatus{Endpoint: ep, Resp: resp, Err: err}
		}()
	}
	for range endpoints {
		<-done
	}
	return out
}

// AgreedLeader returns the leader ID the answering endpoints agree on and the endpoint that
// answered as that leader ("" when the leader did not answer). It fails when no endpoint
// answered, when some report no leader, or when they disagree.
func AgreedLeader(sts []EndpointStatus) (leader uint64, leaderEndpoint string, err error) {
	answered := 0
	for _, s := range sts {
		if s.Err != nil {
			continue
		}
		answered++
		switch {
		case s.Resp.Leader == 0:
			return 0, "", fmt.Errorf("%s has no leader", s.Endpoint)
		case leader == 0:
			leader = s.Resp.Leader
		case s.Resp.Leader != leader:
			return 0, "", fmt.Errorf("members disagree on the leader: %x and %x", leader, s.Resp.Leader)
		}
		if s.ID() == s.Resp.Leader {
			leaderEndpoint = s.Endpoint
		}
	}
	if answered == 0 {
		return 0, "", errors.New("no member answered")
	}
	return leader, leaderEndpoint, nil
}

// FormatID prints a member ID the way etcdctl does.
func FormatID(id uint64) string { return fmt.Sprintf("%x", id) }
