package awsfault

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/rds"

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
	return runner.StepType{
		Name:      "aws:rds:promote-read-replica",
		Summary:   "Promote an RDS read replica to a standalone primary; irreversible, needs allowIrreversible: true",
		NewConfig: func() any { return &PromoteReadReplicaConfig{} },
		New: func(cfg any, env *runner.Env) (runner.Step, error) {
			c, err := ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			pc := *cfg.(*PromoteReadReplicaConfig)
			if err := pc.Validate(); err != nil {
				return nil, err
			}
			return &PromoteReadReplica{cfg: pc, clients: c}, nil
		},
	}
}

// PromoteReadReplica is the step.
type PromoteReadReplica struct {
	cfg     PromoteReadReplicaConfig
	clients *Clients
}

// Run implements runner.Step.
func (s *PromoteReadReplica) Run(ctx context.Context) error {
	api := s.clients.RDS(s.cfg.Region)
	if _, err := api.PromoteReadReplica(ctx, &rds.PromoteReadReplicaInput{DBInstanceIdentifier: &s.cfg.Instance}); err != nil {
		return fmt.Errorf("promote read replica %s: %w", s.cfg.Instance, err)
	}
	if s.cfg.Wait {
		return waitDBAvailable(ctx, api, s.cfg.Instance, s.clients.pollInterval())
	}
	return nil
}
