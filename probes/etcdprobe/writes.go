package etcdprobe

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/drillhq/drill/backends/etcdenv"
	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// WritesConfig is the `with:` block of etcd-writes.
type WritesConfig struct {
	Prefix    string `yaml:"prefix" doc:"key prefix; each run writes PREFIX<run id>/seq/<n>, so runs against the same cluster never see each other's keys"`
	ValueSize int    `yaml:"valueSize" doc:"bytes in each value"`
}

// Validate implements scenarios.Validator.
func (c *WritesConfig) Validate() error {
	var errs []error
	if c.Prefix == "" {
		errs = append(errs, scenarios.FieldErrorf("prefix", "must not be empty: the read-back lists every key under it"))
	}
	if c.ValueSize < 1 || c.ValueSize > 1<<20 {
		errs = append(errs, scenarios.FieldErrorf("valueSize", "must be between 1 and 1048576, got %d", c.ValueSize))
	}
	return errors.Join(errs...)
}

// readBackTimeout bounds the read-back when the caller's ctx has no deadline: right after a
// restore the cluster may still be electing.
const readBackTimeout = time.Minute

// WritesType is the etcd-writes probe (role data): each sample is the next sequenced write
// (`<prefix><run>/seq/<n>`, n assigned when the sample starts), with the probe's timeout as the
// per-write timeout. It records invoke time, ack time and outcome on the run clock; after
// recovery it reads every key back with a linearizable prefix Get so the runner can classify
// writes as lost, recovered or unexpected and compute the RPO. Its samples also give the
// client-side RTO: the first acknowledged write invoked after t0.
func WritesType() runner.ProbeType {
	return runner.NewProbeType("etcd-writes", "Sequenced writes with read-back: lost acknowledged writes and RPO (role data)",
		func() *WritesConfig { return &WritesConfig{Prefix: "drill/writes/", ValueSize: 64} },
		func(c *WritesConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			cl, err := etcdenv.ClusterFrom(env)
			if err != nil {
				return nil, err
			}
			// Its own client: the writer's connections should not be shared with what the
			// faults and other probes do.
			client, err := etcdlab.NewClient(cl.Endpoints)
			if err != nil {
				return nil, err
			}
			run := fmt.Sprintf("%s-%08x", env.Scenario.Name, rand.Uint32())
			return newWrites(client, env.Clock, c.Prefix+run+"/seq/", c.ValueSize), nil
		}, runner.AsDataProbe())
}

// Writes is the etcd-writes probe; it implements runner.DataProbe and runner.Closer.
type Writes struct {
	client *clientv3.Client
	log    *measure.WriteLog
	prefix string
	value  string
}

func newWrites(client *clientv3.Client, clock *runner.Clock, prefix string, valueSize int) *Writes {
	return &Writes{client: client, log: measure.NewWriteLog(clock.Now), prefix: prefix, value: strings.Repeat("x", valueSize)}
}

// Prefix is the key prefix this probe writes under.
func (w *Writes) Prefix() string { return w.prefix }

// key formats seq zero-padded so keys sort in write order.
func (w *Writes) key(seq uint64) string { return fmt.Sprintf("%s%020d", w.prefix, seq) }

// Check performs the next sequenced write. It is safe for concurrent calls: sampling is
// open-loop, so a write may start while earlier ones hang.
func (w *Writes) Check(ctx context.Context) error {
	seq := w.log.Begin()
	_, err := w.client.Put(ctx, w.key(seq), w.value)
	w.log.End(ctx, seq, err, classify)
	if err != nil {
		return fmt.Errorf("put seq %d: %w", seq, err)
	}
	return nil
}

// classify tells a write that may still have been applied (timed out: the outcome is unknown)
// from one the cluster refused.
func classify(ctx context.Context, err error) measure.Outcome {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, rpctypes.ErrTimeout) || errors.Is(err, rpctypes.ErrTimeoutDueToLeaderFail) ||
		errors.Is(err, rpctypes.ErrTimeoutDueToConnectionLost) || errors.Is(err, rpctypes.ErrTimeoutWaitAppliedIndex) {
		return measure.WriteTimedOut
	}
	switch status.Code(err) {
	case codes.DeadlineExceeded, codes.Canceled:
		return measure.WriteTimedOut
	}
	return measure.WriteFailed
}

// Writes implements runner.DataProbe.
func (w *Writes) Writes() []measure.Write { return w.log.Writes() }

// ReadBack implements runner.DataProbe: a linearizable, paginated prefix Get, retried while the
// cluster is still recovering.
func (w *Writes) ReadBack(ctx context.Context) (map[uint64]bool, error) {
	return measure.ReadBack(ctx, w.prefix+"*", readBackTimeout, 200*time.Millisecond, w.readOnce, func(err error) bool {
		var bad badKeyError
		return errors.As(err, &bad)
	})
}

type badKeyError struct{ key string }

func (e badKeyError) Error() string {
	return fmt.Sprintf("key %q under the probe's prefix is not a sequence number", e.key)
}

const readBackPage = 5000

func (w *Writes) readOnce(ctx context.Context) (map[uint64]bool, error) {
	present := map[uint64]bool{}
	end := clientv3.GetPrefixRangeEnd(w.prefix)
	from := w.prefix
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := w.client.Get(cctx, from, clientv3.WithRange(end), clientv3.WithKeysOnly(),
			clientv3.WithLimit(readBackPage), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
		cancel()
		if err != nil {
			return nil, err
		}
		for _, kv := range resp.Kvs {
			seq, err := strconv.ParseUint(strings.TrimPrefix(string(kv.Key), w.prefix), 10, 64)
			if err != nil || seq == 0 {
				return nil, badKeyError{string(kv.Key)}
			}
			present[seq] = true
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return present, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// Close implements runner.Closer.
func (w *Writes) Close() error { return w.client.Close() }
