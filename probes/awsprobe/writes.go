package awsprobe

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/runner"
)

// writeLog is the sequenced-write bookkeeping shared by the AWS data probes (dynamodb-writes,
// s3-writes): seq assigned when a sample starts, invoke and ack on the run clock, outcome as
// measure.ClassifyWrites wants it.
type writeLog struct {
	clock *runner.Clock

	mu     sync.Mutex
	writes []measure.Write // writes[i].Seq == i+1
}

func newWriteLog(env *runner.Env) *writeLog {
	var clock *runner.Clock
	if env != nil {
		clock = env.Clock
	}
	if clock == nil {
		clock = runner.NewClock()
	}
	return &writeLog{clock: clock}
}

// begin records a new write as timed out until it returns: a write still in flight when the
// read-back runs has an unknown outcome, which is what timed out means.
func (l *writeLog) begin() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := uint64(len(l.writes)) + 1
	l.writes = append(l.writes, measure.Write{Seq: seq, Invoke: l.clock.Now(), Outcome: measure.WriteTimedOut})
	return seq
}

func (l *writeLog) end(ctx context.Context, seq uint64, err error) {
	ack := l.clock.Now()
	o := writeOutcome(ctx, err)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes[seq-1].Outcome = o
	if o == measure.WriteOK {
		l.writes[seq-1].Ack = ack
	}
}

func (l *writeLog) all() []measure.Write {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]measure.Write(nil), l.writes...)
}

// seqs returns the sequence numbers written so far (whatever their outcome: a timed-out write
// may have landed, so read-back and cleanup look for it too).
func (l *writeLog) seqs() []uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]uint64, len(l.writes))
	for i := range l.writes {
		out[i] = uint64(i) + 1
	}
	return out
}

// writeOutcome classifies a failed write. A 4xx answer is a refusal: nothing was written. A
// connection that could not be opened sent nothing. Anything else (a 5xx, a broken connection,
// the sample's deadline) may or may not have been applied: unknown, i.e. timed out.
func writeOutcome(ctx context.Context, err error) measure.Outcome {
	if err == nil {
		return measure.WriteOK
	}
	var re *awshttp.ResponseError
	var opErr *net.OpError
	switch {
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return measure.WriteTimedOut
	case errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500:
		return measure.WriteFailed
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return measure.WriteFailed
	}
	return measure.WriteTimedOut
}

// dataRunID identifies this run's items or objects: the scenario name and a random suffix, so
// two runs of one scenario against one table or bucket never mix.
func dataRunID(env *runner.Env) string {
	name := "drill"
	if env != nil && env.Scenario != nil && env.Scenario.Name != "" {
		name = env.Scenario.Name
	}
	return fmt.Sprintf("%s-%016x", name, rand.Uint64())
}

// readBackTimeout bounds a read-back when the caller gave no deadline: right after a regional
// failover the replica's endpoint may still be settling.
const readBackTimeout = time.Minute

// cleanupTimeout bounds deleting this run's data at the end; Close has no ctx of its own.
const cleanupTimeout = time.Minute

// retryRead calls read until it succeeds, fails for good (permanent) or ctx ends.
func retryRead(ctx context.Context, what string, read func(context.Context) (map[uint64]bool, error), permanent func(error) bool) (map[uint64]bool, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readBackTimeout)
		defer cancel()
	}
	for {
		present, err := read(ctx)
		if err == nil {
			return present, nil
		}
		if permanent(err) || ctx.Err() != nil {
			return nil, fmt.Errorf("read back %s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("read back %s: %w", what, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// clientError reports a 4xx answer other than throttling: retrying will not help.
func clientError(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if _, throttled := retry.DefaultThrottleErrorCodes[ae.ErrorCode()]; throttled {
			// DynamoDB throttles with a 400.
			return false
		}
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	c := re.HTTPStatusCode()
	return c >= 400 && c < 500 && c != 429
}
