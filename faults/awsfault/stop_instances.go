package awsfault

import (
	"context"
	"fmt"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
)

// StopInstancesConfig is the `with:` block of aws:ec2:stop-instances.
type StopInstancesConfig struct {
	Targets awsenv.Targets `yaml:"targets" doc:"instances to stop: ids, tags, filters and select (only running instances match)"`
	Region  string         `yaml:"region" doc:"region (default: environment.aws.region)"`
	Force   bool           `yaml:"force" doc:"force the stop, skipping a clean OS shutdown"`
}

// Validate implements scenarios.Validator.
func (c *StopInstancesConfig) Validate() error { return c.Targets.Validate("targets") }

// StopInstancesType is the aws:ec2:stop-instances fault: it stops the selected running
// instances in batches; revert starts those of them it finds stopped.
func StopInstancesType() runner.FaultType {
	return runner.NewFaultType("aws:ec2:stop-instances",
		"Stop EC2 instances (batched); revert starts exactly the instances it stopped",
		func() *StopInstancesConfig { return &StopInstancesConfig{} },
		func(cfg *StopInstancesConfig, env *runner.Env) (runner.Fault, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			f := &stopInstancesFault{cfg: *cfg, clients: c, env: env}
			f.cfg.Targets.Stabilize()
			return f, nil
		},
		runner.WithRecover(recoverStopInstances))
}

// stopInstancesRecord is what the fault journals before stopping: where, and every instance it
// chose. All of them were running, so starting those found stopped is the state before.
type stopInstancesRecord struct {
	awsenv.Where
	Instances []string `json:"instances"`
}

// recoverStopInstances starts the journaled instances that are stopped or stopping; running
// ones are left alone, so recovering twice, or after the drill's own revert, is a no-op.
func recoverStopInstances(ctx context.Context, _ *runner.Env, rec *stopInstancesRecord) error {
	c, err := awsenv.RecoverClients(ctx, rec.Where, awsenv.RecoverOptions{})
	if err != nil {
		return err
	}
	if _, err := startInstances(ctx, c.EC2(rec.Region), rec.Instances, c); err != nil {
		return fmt.Errorf("recover stopped instances: %w", err)
	}
	return nil
}

// StopInstancesStepType is aws:ec2:stop-instances as a step, for rollback of a runbook that
// started standby instances (pilot light). It has no revert of its own.
func StopInstancesStepType() runner.StepType {
	return runner.NewStepType("aws:ec2:stop-instances",
		"Stop EC2 instances (batched), e.g. to put pilot-light instances back to sleep",
		func() *StopInstancesConfig { return &StopInstancesConfig{} },
		func(cfg *StopInstancesConfig, env *runner.Env) (runner.Step, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			f := &stopInstancesFault{cfg: *cfg, clients: c, step: true}
			f.cfg.Targets.Stabilize()
			return f, nil
		})
}

// stopInstancesFault is the fault (and step).
type stopInstancesFault struct {
	cfg     StopInstancesConfig
	clients *awsenv.Clients
	env     *runner.Env // nil for the step, which journals nothing
	step    bool
}

// Plan implements runner.Planner.
func (f *stopInstancesFault) Plan(ctx context.Context) ([]string, error) {
	api := f.clients.EC2(f.cfg.Region)
	return awsenv.ResolveInstances(ctx, api, f.cfg.Targets, f.clients.PageLimit(describePageMax), "running")
}

// Inject implements runner.Fault.
func (f *stopInstancesFault) Inject(ctx context.Context) (runner.Injection, error) {
	chosen, err := f.Plan(ctx)
	if err != nil {
		return runner.Injection{}, err
	}
	api := f.clients.EC2(f.cfg.Region)
	rec := stopInstancesRecord{Where: f.clients.WhereOf(f.cfg.Region), Instances: chosen}
	if err := f.env.Journal(ctx, chosen, rec); err != nil {
		return runner.Injection{}, err
	}
	// The revert is in place before the first stop: a batch AWS stopped whose answer was lost
	// (timeout, Ctrl-C) must still be started again. Every chosen instance was running, and
	// startInstances starts only those it finds stopped, so covering all of them restores the
	// state found before.
	inj := runner.Injection{Targets: chosen, Revert: func(ctx context.Context) error {
		_, err := startInstances(ctx, api, chosen, f.clients)
		return err
	}}
	_, err = stopInstances(ctx, api, chosen, f.cfg.Force)
	return inj, err
}

// Run implements runner.Step. A step finding nothing running has nothing to do.
func (f *stopInstancesFault) Run(ctx context.Context) error {
	chosen, err := f.Plan(ctx)
	if err != nil {
		return err
	}
	_, err = stopInstances(ctx, f.clients.EC2(f.cfg.Region), chosen, f.cfg.Force)
	return err
}

var _ interface {
	runner.Fault
	runner.Planner
	runner.Step
} = (*stopInstancesFault)(nil)
