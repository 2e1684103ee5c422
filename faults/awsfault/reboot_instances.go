package awsfault

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/drillhq/drill/runner"
)

// RebootInstancesConfig is the `with:` block of aws:ec2:reboot-instances.
type RebootInstancesConfig struct {
	Targets Targets `yaml:"targets" doc:"instances to reboot: ids, tags, filters and select (only running instances match)"`
	Region  string  `yaml:"region" doc:"region (default: environment.aws.region)"`
}

// Validate implements scenarios.Validator.
func (c *RebootInstancesConfig) Validate() error { return c.Targets.Validate("targets") }

// RebootInstancesType is the aws:ec2:reboot-instances fault. A reboot undoes itself: there is
// nothing to revert.
func RebootInstancesType() runner.FaultType {
	return runner.FaultType{
		Name:      "aws:ec2:reboot-instances",
		Summary:   "Reboot EC2 instances (batched); nothing to revert",
		NewConfig: func() any { return &RebootInstancesConfig{} },
		New: func(cfg any, env *runner.Env) (runner.Fault, error) {
			c, err := ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			f := &RebootInstances{cfg: *cfg.(*RebootInstancesConfig), clients: c}
			f.cfg.Targets.Stabilize()
			return f, nil
		},
	}
}

// RebootInstances is the fault.
type RebootInstances struct {
	cfg     RebootInstancesConfig
	clients *Clients
}

// Plan implements runner.Planner.
func (f *RebootInstances) Plan(ctx context.Context) ([]string, error) {
	return ResolveInstances(ctx, f.clients.EC2(f.cfg.Region), f.cfg.Targets, f.clients.pageSize(describePageMax), "running")
}

// Inject implements runner.Fault.
func (f *RebootInstances) Inject(ctx context.Context) (runner.Injection, error) {
	chosen, err := f.Plan(ctx)
	if err != nil {
		return runner.Injection{}, err
	}
	api := f.clients.EC2(f.cfg.Region)
	for _, b := range batches(chosen, ec2BatchSize) {
		if _, err := api.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: b}); err != nil {
			return runner.Injection{Targets: chosen}, fmt.Errorf("reboot instances %v: %w", b, err)
		}
	}
	return runner.Injection{Targets: chosen}, nil
}
