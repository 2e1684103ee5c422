package awsprobe

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// EC2VolumesConfig is the `with:` block of the aws-ec2-volumes probe.
type EC2VolumesConfig struct {
	Targets awsenv.Targets `yaml:"targets" doc:"volumes to count: ids, tags, filters"`
	State   string         `yaml:"state" doc:"volume state to count (available, in-use, ...)"`
	Min     int            `yaml:"min" doc:"healthy while at least this many matching volumes are in state"`
	Region  string         `yaml:"region" doc:"region (default: environment.aws.region)"`
}

// Validate implements scenarios.Validator.
func (c *EC2VolumesConfig) Validate() error {
	if err := validateSelector(c.Targets, "targets"); err != nil {
		return err
	}
	if c.Min < 1 {
		return scenarios.FieldErrorf("min", "must be at least 1")
	}
	return nil
}

// EC2VolumesType is the aws-ec2-volumes probe: healthy while at least min matching EBS volumes
// are in a state, e.g. the volume a backup-and-restore drill restored is available.
func EC2VolumesType() runner.ProbeType {
	return runner.NewProbeType("aws-ec2-volumes",
		"Healthy while at least min matching EBS volumes are in a state (available)",
		func() *EC2VolumesConfig { return &EC2VolumesConfig{State: "available", Min: 1} },
		func(cfg *EC2VolumesConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &ec2Volumes{cfg: *cfg, clients: c}, nil
		})
}

type ec2Volumes struct {
	cfg     EC2VolumesConfig
	clients *awsenv.Clients
}

func (p *ec2Volumes) Check(ctx context.Context) error {
	in := &ec2.DescribeVolumesInput{Filters: p.cfg.Targets.EC2Filters("volume-id")}
	if p.clients.PageSize > 0 {
		in.MaxResults = aws.Int32(max(p.clients.PageSize, 5))
	}
	byState := map[string]int{}
	for pg := ec2.NewDescribeVolumesPaginator(p.clients.EC2(p.cfg.Region), in); pg.HasMorePages(); {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe volumes: %w", err)
		}
		for _, v := range page.Volumes {
			byState[string(v.State)]++
		}
	}
	if n := byState[p.cfg.State]; n < p.cfg.Min {
		if len(byState) == 0 {
			return fmt.Errorf("0 %s, want at least %d (no volume matches)", p.cfg.State, p.cfg.Min)
		}
		return fmt.Errorf("%d %s, want at least %d (%s)", n, p.cfg.State, p.cfg.Min, stateCounts(byState))
	}
	return nil
}
