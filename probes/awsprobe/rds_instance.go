package awsprobe

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// RDSInstanceConfig is the `with:` block of the aws-rds-instance probe.
type RDSInstanceConfig struct {
	Instance  string `yaml:"instance" doc:"DB instance identifier"`
	Status    string `yaml:"status" doc:"status that counts as healthy"`
	AZChanged bool   `yaml:"azChanged" doc:"also require the AZ to differ from the first sample's (a Multi-AZ failover happened)"`
	Writable  bool   `yaml:"writable" doc:"also require a standalone primary, not a read replica (the replica was promoted)"`
	Region    string `yaml:"region" doc:"region (default: environment.aws.region)"`
}

// Validate implements scenarios.Validator.
func (c *RDSInstanceConfig) Validate() error {
	if c.Instance == "" {
		return scenarios.FieldErrorf("instance", "required")
	}
	if c.Status == "" {
		return scenarios.FieldErrorf("status", "required")
	}
	return nil
}

// RDSInstanceType is the aws-rds-instance probe.
func RDSInstanceType() runner.ProbeType {
	return runner.NewProbeType("aws-rds-instance",
		"Healthy while an RDS instance is available (optionally: in another AZ than at start, or promoted)",
		func() *RDSInstanceConfig { return &RDSInstanceConfig{Status: "available"} },
		func(cfg *RDSInstanceConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &rdsInstance{cfg: *cfg, api: c.RDS(cfg.Region)}, nil
		})
}

type rdsInstance struct {
	cfg RDSInstanceConfig
	api *rds.Client

	mu       sync.Mutex
	firstAZ  string
	haveBase bool
}

func (p *rdsInstance) Check(ctx context.Context) error {
	db, err := awsenv.DescribeDBInstance(ctx, p.api, p.cfg.Instance)
	if err != nil {
		return err
	}
	return p.judge(db)
}

// judge applies the configured checks to one DescribeDBInstances answer. The first answer
// fixes the AZ that azChanged compares against.
func (p *rdsInstance) judge(db *rdstypes.DBInstance) error {
	az := aws.ToString(db.AvailabilityZone)
	p.mu.Lock()
	if !p.haveBase {
		p.firstAZ, p.haveBase = az, true
	}
	first := p.firstAZ
	p.mu.Unlock()
	if st := aws.ToString(db.DBInstanceStatus); st != p.cfg.Status {
		return fmt.Errorf("db instance %s is %s, want %s", p.cfg.Instance, st, p.cfg.Status)
	}
	if p.cfg.AZChanged && az == first {
		return fmt.Errorf("db instance %s still in %s (no failover yet)", p.cfg.Instance, az)
	}
	if p.cfg.Writable {
		if src := aws.ToString(db.ReadReplicaSourceDBInstanceIdentifier); src != "" {
			return fmt.Errorf("db instance %s is still a read replica of %s", p.cfg.Instance, src)
		}
	}
	return nil
}
