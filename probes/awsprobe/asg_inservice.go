package awsprobe

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/drillhq/drill/faults/awsfault"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// ASGInServiceConfig is the `with:` block of the aws-asg-inservice probe.
type ASGInServiceConfig struct {
	Group  string `yaml:"group" doc:"auto-scaling group name"`
	Min    int    `yaml:"min" doc:"healthy while at least this many instances are InService and Healthy"`
	Region string `yaml:"region" doc:"region (default: environment.aws.region)"`
}

// Validate implements scenarios.Validator.
func (c *ASGInServiceConfig) Validate() error {
	if c.Group == "" {
		return scenarios.FieldErrorf("group", "required")
	}
	if c.Min < 1 {
		return scenarios.FieldErrorf("min", "must be at least 1")
	}
	return nil
}

// ASGInServiceType is the aws-asg-inservice probe.
func ASGInServiceType() runner.ProbeType {
	return runner.ProbeType{
		Name:      "aws-asg-inservice",
		Summary:   "Healthy while an auto-scaling group has at least min InService, Healthy instances",
		NewConfig: func() any { return &ASGInServiceConfig{Min: 1} },
		New: func(spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			cfg, err := configOf[ASGInServiceConfig](spec)
			if err != nil {
				return nil, err
			}
			c, err := clientsOf(env)
			if err != nil {
				return nil, err
			}
			return &asgInService{cfg: *cfg, api: c.AutoScaling(cfg.Region)}, nil
		},
	}
}

type asgInService struct {
	cfg ASGInServiceConfig
	api *autoscaling.Client
}

func (p *asgInService) Check(ctx context.Context) error {
	out, err := p.api.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{p.cfg.Group}})
	if err != nil {
		return fmt.Errorf("describe auto-scaling group %s: %w", p.cfg.Group, err)
	}
	if len(out.AutoScalingGroups) == 0 {
		return fmt.Errorf("auto-scaling group %s not found", p.cfg.Group)
	}
	g := &out.AutoScalingGroups[0]
	if n := awsfault.InService(g); n < p.cfg.Min {
		return fmt.Errorf("%s: %d InService, want at least %d (desired %d, %d instances)", p.cfg.Group, n, p.cfg.Min, derefInt32(g.DesiredCapacity), len(g.Instances))
	}
	return nil
}

func derefInt32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
