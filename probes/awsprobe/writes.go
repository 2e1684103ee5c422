package awsprobe

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/runner"
)

// newWriteLog is the sequenced-write bookkeeping of the AWS data probes (dynamodb-writes,
// s3-writes), on the run clock.
func newWriteLog(env *runner.Env) *measure.WriteLog {
	var clock *runner.Clock
	if env != nil {
		clock = env.Clock
	}
	if clock == nil {
		clock = runner.NewClock()
	}
	return measure.NewWriteLog(clock.Now)
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
	return measure.ReadBack(ctx, what, readBackTimeout, 500*time.Millisecond, read, permanent)
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
