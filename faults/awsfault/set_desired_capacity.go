package awsfault

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// SetDesiredCapacityConfig is the `with:` block of aws:autoscaling:set-desired-capacity.
type SetDesiredCapacityConfig struct {
	Group         string `yaml:"group" doc:"auto-scaling group name"`
	Capacity      *int32 `yaml:"capacity" doc:"desired capacity"`
	HonorCooldown bool   `yaml:"honorCooldown" doc:"refuse while the group is in a cooldown"`
	Wait          bool   `yaml:"wait" doc:"wait until that many instances are InService"`
	Region        string `yaml:"region" doc:"region (default: environment.aws.region)"`
}

// Validate implements scenarios.Validator.
func (c *SetDesiredCapacityConfig) Validate() error {
	switch {
	case c.Group == "":
		return scenarios.FieldErrorf("group", "required")
	case c.Capacity == nil:
		return scenarios.FieldErrorf("capacity", "required")
	case *c.Capacity < 0:
		return scenarios.FieldErrorf("capacity", "must not be negative")
	}
	return nil
}

// SetDesiredCapacityType is the aws:autoscaling:set-desired-capacity runbook step: scale the DR
// group up during recovery (and back down in rollback).
func SetDesiredCapacityType() runner.StepType {
	return runner.NewStepType("aws:autoscaling:set-desired-capacity",
		"Set an auto-scaling group's desired capacity, optionally waiting for InService instances",
		func() *SetDesiredCapacityConfig { return &SetDesiredCapacityConfig{} },
		func(cfg *SetDesiredCapacityConfig, env *runner.Env) (runner.Step, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &setDesiredCapacityStep{cfg: *cfg, clients: c}, nil
		})
}

// setDesiredCapacityStep is the step.
type setDesiredCapacityStep struct {
	cfg     SetDesiredCapacityConfig
	clients *awsenv.Clients
}

// Run implements runner.Step.
func (s *setDesiredCapacityStep) Run(ctx context.Context) error {
	api := s.clients.AutoScaling(s.cfg.Region)
	in := &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: &s.cfg.Group, DesiredCapacity: s.cfg.Capacity}
	if s.cfg.HonorCooldown {
		in.HonorCooldown = aws.Bool(true)
	}
	if _, err := api.SetDesiredCapacity(ctx, in); err != nil {
		return fmt.Errorf("set desired capacity of %s to %d: %w", s.cfg.Group, *s.cfg.Capacity, err)
	}
	if !s.cfg.Wait {
		return nil
	}
	for {
		g, err := awsenv.DescribeGroup(ctx, api, s.cfg.Group)
		if err != nil {
			return err
		}
		n := awsenv.InService(g)
		if n >= int(*s.cfg.Capacity) {
			return nil
		}
		if err := sleep(ctx, s.clients.PollEvery()); err != nil {
			return fmt.Errorf("wait for %d InService instances in %s (have %d): %w", *s.cfg.Capacity, s.cfg.Group, n, err)
		}
	}
}
