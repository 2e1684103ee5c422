package awsfault

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// TerminateInstancesConfig is the `with:` block of aws:ec2:terminate-instances.
type TerminateInstancesConfig struct {
	Targets           awsenv.Targets `yaml:"targets" doc:"instances to terminate: ids, tags, filters and select (running or stopped instances match)"`
	Region            string         `yaml:"region" doc:"region (default: environment.aws.region)"`
	AllowIrreversible bool           `yaml:"allowIrreversible" doc:"must be true: terminated instances cannot be brought back by rollback"`
}

// errIrreversible is the refusal of types whose effect rollback cannot undo.
func errIrreversible(what string) error {
	return scenarios.FieldErrorf("allowIrreversible", "%s cannot be undone by rollback; set allowIrreversible: true to accept that", what)
}

// Validate implements scenarios.Validator.
func (c *TerminateInstancesConfig) Validate() error {
	if err := c.Targets.Validate("targets"); err != nil {
		return err
	}
	if !c.AllowIrreversible {
		return errIrreversible("terminating instances")
	}
	return nil
}

// TerminateInstancesType is the aws:ec2:terminate-instances fault. It has no revert (an
// auto-scaling group or the runbook must replace the capacity) and therefore refuses to run
// unless the scenario says allowIrreversible: true.
func TerminateInstancesType() runner.FaultType {
	return runner.NewFaultType("aws:ec2:terminate-instances",
		"Terminate EC2 instances (batched); irreversible, needs allowIrreversible: true",
		func() *TerminateInstancesConfig { return &TerminateInstancesConfig{} },
		func(cfg *TerminateInstancesConfig, env *runner.Env) (runner.Fault, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			f := &terminateInstancesFault{cfg: *cfg, clients: c}
			f.cfg.Targets.Stabilize()
			return f, nil
		},
		runner.WithoutRevert())
}

// terminateInstancesFault is the fault.
type terminateInstancesFault struct {
	cfg     TerminateInstancesConfig
	clients *awsenv.Clients
}

// Plan implements runner.Planner.
func (f *terminateInstancesFault) Plan(ctx context.Context) ([]string, error) {
	return awsenv.ResolveInstances(ctx, f.clients.EC2(f.cfg.Region), f.cfg.Targets, f.clients.PageLimit(describePageMax), "pending", "running", "stopping", "stopped")
}

// Inject implements runner.Fault.
func (f *terminateInstancesFault) Inject(ctx context.Context) (runner.Injection, error) {
	if !f.cfg.AllowIrreversible {
		return runner.Injection{}, errIrreversible("terminating instances")
	}
	chosen, err := f.Plan(ctx)
	if err != nil {
		return runner.Injection{}, err
	}
	api := f.clients.EC2(f.cfg.Region)
	for _, b := range awsenv.Batches(chosen, ec2BatchSize) {
		if _, err := api.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: b}); err != nil {
			return runner.Injection{Targets: chosen}, fmt.Errorf("terminate instances %v: %w", b, err)
		}
	}
	return runner.Injection{Targets: chosen}, nil
}
