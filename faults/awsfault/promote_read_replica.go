package awsfault

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// PromoteReadReplicaConfig is the `with:` block of the aws:rds:promote-read-replica step.
type PromoteReadReplicaConfig struct {
	Instance          string `yaml:"instance" doc:"read replica DB instance identifier (in the DR region)"`
	Region            string `yaml:"region" doc:"region of the replica (default: environment.aws.region)"`
	Wait              bool   `yaml:"wait" doc:"wait until the promoted instance is available"`
	AllowIrreversible bool   `yaml:"allowIrreversible" doc:"must be true: a promoted replica stops replicating and rollback cannot re-attach it"`
}

// Validate implements scenarios.Validator.
func (c *PromoteReadReplicaConfig) Validate() error {
	if c.Instance == "" {
		return scenarios.FieldErrorf("instance", "required")
	}
	if !c.AllowIrreversible {
		return errIrreversible("promoting a read replica")
	}
	return nil
}

// PromoteReadReplicaType is the aws:rds:promote-read-replica runbook step: the DR replica
// becomes a standalone, writable primary. Re-creating the replica afterwards is the team's
// job, which is why the step must be acknowledged as irreversible.
func PromoteReadReplicaType() runner.StepType {
	return runner.NewStepType("aws:rds:promote-read-replica",
		"Promote an RDS read replica to a standalone primary; irreversible, needs allowIrreversible: true",
		func() *PromoteReadReplicaConfig { return &PromoteReadReplicaConfig{} },
		func(cfg *PromoteReadReplicaConfig, env *runner.Env) (runner.Step, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &promoteReadReplicaStep{cfg: *cfg, clients: c}, nil
		})
}

// promoteReadReplicaStep is the step.
type promoteReadReplicaStep struct {
	cfg     PromoteReadReplicaConfig
	clients *awsenv.Clients
}

// Run implements runner.Step.
func (s *promoteReadReplicaStep) Run(ctx context.Context) error {
	api := s.clients.RDS(s.cfg.Region)
	if _, err := api.PromoteReadReplica(ctx, &rds.PromoteReadReplicaInput{DBInstanceIdentifier: &s.cfg.Instance}); err != nil {
		return fmt.Errorf("promote read replica %s: %w", s.cfg.Instance, err)
	}
	if s.cfg.Wait {
		return waitDBAvailable(ctx, api, s.cfg.Instance, s.clients.PollEvery())
	}
	return nil
}

// waitDBAvailable polls until the instance is available again.
func waitDBAvailable(ctx context.Context, api *rds.Client, id string, every time.Duration) error {
	for {
		db, err := awsenv.DescribeDBInstance(ctx, api, id)
		if err != nil {
			return err
		}
		if aws.ToString(db.DBInstanceStatus) == "available" {
			return nil
		}
		if err := sleep(ctx, every); err != nil {
			return fmt.Errorf("wait for db instance %s to be available (now %s): %w", id, aws.ToString(db.DBInstanceStatus), err)
		}
	}
}
