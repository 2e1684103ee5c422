package awsfault

import (
	"context"
	"fmt"
	"sort"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// StartInstancesConfig is the `with:` block of the aws:ec2:start-instances step.
type StartInstancesConfig struct {
	Targets awsenv.Targets `yaml:"targets" doc:"instances to start: ids, tags, filters and select (only stopped instances match)"`
	Fault   string         `yaml:"fault" doc:"start the instances this fault chose instead (a fault name of this scenario)"`
	Region  string         `yaml:"region" doc:"region (default: environment.aws.region)"`
}

// Validate implements scenarios.Validator.
func (c *StartInstancesConfig) Validate() error {
	switch {
	case c.Fault != "" && !c.Targets.Empty():
		return scenarios.FieldErrorf("fault", "give either fault or targets, not both")
	case c.Fault != "":
		return nil
	}
	return c.Targets.Validate("targets")
}

// StartInstancesType is the aws:ec2:start-instances runbook step: start standby instances
// (pilot light) or the instances a fault stopped.
func StartInstancesType() runner.StepType {
	return runner.NewStepType("aws:ec2:start-instances",
		"Start stopped EC2 instances (batched): standby capacity, or those a fault stopped",
		func() *StartInstancesConfig { return &StartInstancesConfig{} },
		func(cfg *StartInstancesConfig, env *runner.Env) (runner.Step, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			f := &startInstancesStep{cfg: *cfg, clients: c, env: env}
			f.cfg.Targets.Stabilize()
			return f, nil
		})
}

// startInstancesStep is the step.
type startInstancesStep struct {
	cfg     StartInstancesConfig
	clients *awsenv.Clients
	env     *runner.Env
}

// Run implements runner.Step.
func (s *startInstancesStep) Run(ctx context.Context) error {
	api := s.clients.EC2(s.cfg.Region)
	var ids []string
	if s.cfg.Fault != "" {
		t, ok := s.env.FaultTargets(s.cfg.Fault)
		if !ok {
			return fmt.Errorf("fault %q has not been injected (or chose no targets)", s.cfg.Fault)
		}
		ids = append(ids, t...)
		sort.Strings(ids)
	} else {
		var err error
		ids, err = awsenv.ResolveInstances(ctx, api, s.cfg.Targets, s.clients.PageLimit(describePageMax), "stopped", "stopping")
		if err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		return fmt.Errorf("fault %q chose no instances to start", s.cfg.Fault)
	}
	_, err := startInstances(ctx, api, ids, s.clients)
	return err
}
