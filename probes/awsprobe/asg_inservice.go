package awsprobe

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/drillhq/drill/backends/awsenv"
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
	return runner.NewProbeType("aws-asg-inservice",
		"Healthy while an auto-scaling group has at least min InService, Healthy instances",
		func() *ASGInServiceConfig { return &ASGInServiceConfig{Min: 1} },
		func(cfg *ASGInServiceConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &asgInService{cfg: *cfg, api: c.AutoScaling(cfg.Region)}, nil
		})
}

type asgInService struct {
	cfg ASGInServiceConfig
	api *autoscaling.Client
}

func (p *asgInService) Check(ctx context.Context) error {
	g, err := awsenv.DescribeGroup(ctx, p.api, p.cfg.Group)
	if err != nil {
		return err
	}
	if n := awsenv.InService(g); n < p.cfg.Min {
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
