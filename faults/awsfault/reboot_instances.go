package awsfault

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
)

// RebootInstancesConfig is the `with:` block of aws:ec2:reboot-instances.
type RebootInstancesConfig struct {
	Targets awsenv.Targets `yaml:"targets" doc:"instances to reboot: ids, tags, filters and select (only running instances match)"`
	Region  string         `yaml:"region" doc:"region (default: environment.aws.region)"`
}

// Validate implements scenarios.Validator.
func (c *RebootInstancesConfig) Validate() error { return c.Targets.Validate("targets") }

// RebootInstancesType is the aws:ec2:reboot-instances fault. A reboot undoes itself: there is
// nothing to revert.
func RebootInstancesType() runner.FaultType {
	return runner.NewFaultType("aws:ec2:reboot-instances",
		"Reboot EC2 instances (batched); nothing to revert",
		func() *RebootInstancesConfig { return &RebootInstancesConfig{} },
		func(cfg *RebootInstancesConfig, env *runner.Env) (runner.Fault, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			f := &rebootInstancesFault{cfg: *cfg, clients: c}
			f.cfg.Targets.Stabilize()
			return f, nil
		},
		runner.WithoutRevert())
}

// rebootInstancesFault is the fault.
type rebootInstancesFault struct {
	cfg     RebootInstancesConfig
	clients *awsenv.Clients
}

// Plan implements runner.Planner.
func (f *rebootInstancesFault) Plan(ctx context.Context) ([]string, error) {
	return awsenv.ResolveInstances(ctx, f.clients.EC2(f.cfg.Region), f.cfg.Targets, f.clients.PageLimit(describePageMax), "running")
}

// Inject implements runner.Fault.
func (f *rebootInstancesFault) Inject(ctx context.Context) (runner.Injection, error) {
	chosen, err := f.Plan(ctx)
	if err != nil {
		return runner.Injection{}, err
	}
	api := f.clients.EC2(f.cfg.Region)
	for _, b := range awsenv.Batches(chosen, ec2BatchSize) {
		if _, err := api.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: b}); err != nil {
			return runner.Injection{Targets: chosen}, fmt.Errorf("reboot instances %v: %w", b, err)
		}
	}
	return runner.Injection{Targets: chosen}, nil
}
