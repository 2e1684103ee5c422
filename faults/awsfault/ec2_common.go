package awsfault

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/internal/english"
)

// ec2BatchSize bounds the ids in one Stop/Start/Reboot/TerminateInstances call, so a fleet of
// hundreds is a handful of calls and one bad id cannot fail the whole fleet's request.
const ec2BatchSize = 100

// describePageMax is the largest MaxResults DescribeInstances accepts.
const describePageMax = 1000

// startInstances starts those of ids that are stopped, after waiting for any still stopping
// (StartInstances refuses them). Instances already running or pending are left alone, so
// reverting twice, or after a recovery step already started them, is harmless.
func startInstances(ctx context.Context, api *ec2.Client, ids []string, c *awsenv.Clients) (started []string, err error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var stopped []string
	for {
		states, err := awsenv.InstanceStates(ctx, api, ids, c.PageLimit(describePageMax))
		if err != nil {
			return nil, err
		}
		stopped = stopped[:0]
		stopping := 0
		for _, id := range ids {
			switch ec2types.InstanceStateName(states[id]) {
			case ec2types.InstanceStateNameStopped:
				stopped = append(stopped, id)
			case ec2types.InstanceStateNameStopping:
				stopping++
			}
		}
		if stopping == 0 {
			break
		}
		if err := sleep(ctx, c.PollEvery()); err != nil {
			return nil, fmt.Errorf("wait for %s to finish stopping: %w", english.Count(stopping, "instance", "instances"), err)
		}
	}
	for _, b := range awsenv.Batches(stopped, ec2BatchSize) {
		if _, err := api.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: b}); err != nil {
			return started, fmt.Errorf("start instances %v: %w", b, err)
		}
		started = append(started, b...)
	}
	return started, nil
}

// stopInstances stops ids in batches and returns those whose stop call succeeded.
func stopInstances(ctx context.Context, api *ec2.Client, ids []string, force bool) (stopped []string, err error) {
	for _, b := range awsenv.Batches(ids, ec2BatchSize) {
		in := &ec2.StopInstancesInput{InstanceIds: b}
		if force {
			in.Force = &force
		}
		if _, err := api.StopInstances(ctx, in); err != nil {
			return stopped, fmt.Errorf("stop instances %v: %w", b, err)
		}
		stopped = append(stopped, b...)
	}
	return stopped, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
