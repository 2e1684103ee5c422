package awsfault

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// RebootDBInstanceConfig is the `with:` block of aws:rds:reboot-db-instance.
type RebootDBInstanceConfig struct {
	Instance      string `yaml:"instance" doc:"DB instance identifier"`
	ForceFailover bool   `yaml:"forceFailover" doc:"fail over to the Multi-AZ standby while rebooting"`
	Region        string `yaml:"region" doc:"region (default: environment.aws.region)"`
}

// Validate implements scenarios.Validator.
func (c *RebootDBInstanceConfig) Validate() error {
	if c.Instance == "" {
		return scenarios.FieldErrorf("instance", "required")
	}
	return nil
}

// RebootDBInstanceType is the aws:rds:reboot-db-instance fault. With forceFailover (the
// default) a Multi-AZ instance fails over to its standby, as in an AZ outage. Nothing to revert.
func RebootDBInstanceType() runner.FaultType {
	return runner.NewFaultType("aws:rds:reboot-db-instance",
		"Reboot an RDS instance, by default forcing a Multi-AZ failover; nothing to revert",
		func() *RebootDBInstanceConfig { return &RebootDBInstanceConfig{ForceFailover: true} },
		func(cfg *RebootDBInstanceConfig, env *runner.Env) (runner.Fault, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &rebootDBInstanceFault{cfg: *cfg, clients: c}, nil
		},
		runner.WithoutRevert())
}

// rebootDBInstanceFault is the fault.
type rebootDBInstanceFault struct {
	cfg     RebootDBInstanceConfig
	clients *awsenv.Clients
}

// Plan implements runner.Planner.
func (f *rebootDBInstanceFault) Plan(ctx context.Context) ([]string, error) {
	db, err := awsenv.DescribeDBInstance(ctx, f.clients.RDS(f.cfg.Region), f.cfg.Instance)
	if err != nil {
		return nil, err
	}
	if f.cfg.ForceFailover && !aws.ToBool(db.MultiAZ) {
		return nil, fmt.Errorf("db instance %s is not Multi-AZ: forceFailover needs a standby", f.cfg.Instance)
	}
	return []string{f.cfg.Instance}, nil
}

// Inject implements runner.Fault.
func (f *rebootDBInstanceFault) Inject(ctx context.Context) (runner.Injection, error) {
	targets, err := f.Plan(ctx)
	if err != nil {
		return runner.Injection{}, err
	}
	in := &rds.RebootDBInstanceInput{DBInstanceIdentifier: &f.cfg.Instance}
	if f.cfg.ForceFailover {
		in.ForceFailover = aws.Bool(true)
	}
	if _, err := f.clients.RDS(f.cfg.Region).RebootDBInstance(ctx, in); err != nil {
		return runner.Injection{Targets: targets}, fmt.Errorf("reboot db instance %s: %w", f.cfg.Instance, err)
	}
	return runner.Injection{Targets: targets}, nil
}
