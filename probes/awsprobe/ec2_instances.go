package awsprobe

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// EC2InstancesConfig is the `with:` block of the aws-ec2-instances probe.
type EC2InstancesConfig struct {
	Targets awsenv.Targets `yaml:"targets" doc:"instances to count: ids, tags, filters"`
	State   string         `yaml:"state" doc:"instance state to count"`
	Min     int            `yaml:"min" doc:"healthy while at least this many matching instances are in state"`
	Region  string         `yaml:"region" doc:"region (default: environment.aws.region)"`
	Regions []string       `yaml:"regions" doc:"count across these regions instead (e.g. primary and DR)"`
}

// Validate implements scenarios.Validator.
func (c *EC2InstancesConfig) Validate() error {
	if err := validateSelector(c.Targets, "targets"); err != nil {
		return err
	}
	if c.Min < 1 {
		return scenarios.FieldErrorf("min", "must be at least 1")
	}
	if c.Region != "" && len(c.Regions) > 0 {
		return scenarios.FieldErrorf("regions", "give region or regions, not both")
	}
	return nil
}

// EC2InstancesType is the aws-ec2-instances probe: healthy while at least min matching
// instances are in the given state (running by default), counted across regions if asked.
func EC2InstancesType() runner.ProbeType {
	return runner.NewProbeType("aws-ec2-instances",
		"Healthy while at least min matching EC2 instances are in a state (running)",
		func() *EC2InstancesConfig { return &EC2InstancesConfig{State: "running", Min: 1} },
		func(cfg *EC2InstancesConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			regions := cfg.Regions
			if len(regions) == 0 {
				regions = []string{c.Region(cfg.Region)}
			}
			return &ec2Instances{cfg: *cfg, clients: c, regions: regions}, nil
		})
}

type ec2Instances struct {
	cfg     EC2InstancesConfig
	clients *awsenv.Clients
	regions []string
}

func (p *ec2Instances) Check(ctx context.Context) error {
	byState := map[string]int{}
	for _, r := range p.regions {
		found, err := awsenv.ListInstances(ctx, p.clients.EC2(r), p.cfg.Targets.EC2Filters("instance-id"), p.clients.PageSize)
		if err != nil {
			return fmt.Errorf("describe instances in %s: %w", r, err)
		}
		for _, i := range found {
			byState[i.State]++
		}
	}
	if n := byState[p.cfg.State]; n < p.cfg.Min {
		return fmt.Errorf("%d %s, want at least %d (%s)", n, p.cfg.State, p.cfg.Min, stateCounts(byState))
	}
	return nil
}

func stateCounts(m map[string]int) string {
	if len(m) == 0 {
		return "no instance matches"
	}
	var parts []string
	for s, n := range m {
		parts = append(parts, fmt.Sprintf("%s: %d", s, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
