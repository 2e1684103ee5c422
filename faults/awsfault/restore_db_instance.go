package awsfault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// RestoreDBInstanceConfig is the `with:` block of aws:rds:restore-db-instance-to-point-in-time.
type RestoreDBInstanceConfig struct {
	Source        string `yaml:"source" doc:"DB instance identifier to restore from (required)"`
	Target        string `yaml:"target" doc:"identifier of the new DB instance (required; must not exist)"`
	RestoreTime   string `yaml:"restoreTime" doc:"RFC 3339 time to restore to (default: the source's latest restorable time)"`
	InstanceClass string `yaml:"instanceClass" doc:"instance class of the new instance (default: the source's)"`
	Wait          bool   `yaml:"wait" doc:"wait until the new instance is available"`
	Region        string `yaml:"region" doc:"region (default: environment.aws.region)"`
}

// Validate implements scenarios.Validator.
func (c *RestoreDBInstanceConfig) Validate() error {
	var errs []error
	if c.Source == "" {
		errs = append(errs, scenarios.FieldErrorf("source", "required"))
	}
	if c.Target == "" {
		errs = append(errs, scenarios.FieldErrorf("target", "required"))
	}
	if c.Source != "" && c.Source == c.Target {
		errs = append(errs, scenarios.ValueErrorf("target", "must differ from source: a restore creates a new instance"))
	}
	if c.RestoreTime != "" {
		if _, err := time.Parse(time.RFC3339, c.RestoreTime); err != nil {
			errs = append(errs, scenarios.ValueErrorf("restoreTime", "want an RFC 3339 time like 2026-01-02T15:04:05Z"))
		}
	}
	return errors.Join(errs...)
}

// RestoreDBInstanceType is the aws:rds:restore-db-instance-to-point-in-time runbook step: a
// new DB instance from the source's automated backups, at restoreTime or the latest
// restorable time. It reports that time as the recovery point (runner.Env.RecoveryPoint), so a
// drill without a data probe judges its RPO by it. The new instance is tagged drill:scenario
// and drill:restored-from; aws:rds:delete-restored-db-instance removes it in rollback.
func RestoreDBInstanceType() runner.StepType {
	return runner.NewStepType("aws:rds:restore-db-instance-to-point-in-time",
		"Restore an RDS instance to a point in time as a new instance (backup and restore); reports the restore point",
		func() *RestoreDBInstanceConfig { return &RestoreDBInstanceConfig{Wait: true} },
		func(cfg *RestoreDBInstanceConfig, env *runner.Env) (runner.Step, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &restoreDBInstanceStep{cfg: *cfg, clients: c, env: env}, nil
		}, runner.AsRestorePoint())
}

type restoreDBInstanceStep struct {
	cfg     RestoreDBInstanceConfig
	clients *awsenv.Clients
	env     *runner.Env
}

// Run implements runner.Step.
func (s *restoreDBInstanceStep) Run(ctx context.Context) error {
	api := s.clients.RDS(s.cfg.Region)
	in := &rds.RestoreDBInstanceToPointInTimeInput{
		SourceDBInstanceIdentifier: &s.cfg.Source,
		TargetDBInstanceIdentifier: &s.cfg.Target,
		Tags: []rdstypes.Tag{
			{Key: aws.String(tagScenario), Value: aws.String(scenarioName(s.env))},
			{Key: aws.String(tagRestoredFrom), Value: aws.String(s.cfg.Source)},
		},
	}
	if s.cfg.InstanceClass != "" {
		in.DBInstanceClass = &s.cfg.InstanceClass
	}
	var point time.Time
	if s.cfg.RestoreTime != "" {
		point, _ = time.Parse(time.RFC3339, s.cfg.RestoreTime) // validated
		in.RestoreTime = &point
	} else {
		// RDS restores to the latest restorable time as of the request; the one described just
		// before is at most that late, so the RPO derived from it errs on the long side.
		src, err := awsenv.DescribeDBInstance(ctx, api, s.cfg.Source)
		if err != nil {
			return err
		}
		if src.LatestRestorableTime == nil {
			return fmt.Errorf("db instance %s has no latest restorable time (are automated backups on?)", s.cfg.Source)
		}
		point = *src.LatestRestorableTime
		in.UseLatestRestorableTime = aws.Bool(true)
	}
	if _, err := api.RestoreDBInstanceToPointInTime(ctx, in); err != nil {
		return fmt.Errorf("restore db instance %s to %s as %s: %w", s.cfg.Source, point.UTC().Format(time.RFC3339), s.cfg.Target, err)
	}
	s.env.RecoveryPoint(point, fmt.Sprintf("db instance %s restored to this time as %s", s.cfg.Source, s.cfg.Target))
	if !s.cfg.Wait {
		return nil
	}
	for {
		db, err := awsenv.DescribeDBInstance(ctx, api, s.cfg.Target)
		if err != nil {
			return err
		}
		switch st := aws.ToString(db.DBInstanceStatus); st {
		case "available":
			return nil
		case "failed", "incompatible-restore", "incompatible-parameters", "storage-full":
			return fmt.Errorf("restored db instance %s is %s", s.cfg.Target, st)
		}
		if err := sleep(ctx, s.clients.PollEvery()); err != nil {
			return fmt.Errorf("wait for db instance %s: %w", s.cfg.Target, err)
		}
	}
}

func scenarioName(env *runner.Env) string {
	if env == nil || env.Scenario == nil {
		return ""
	}
	return env.Scenario.Name
}

// DeleteRestoredDBInstanceConfig is the `with:` block of aws:rds:delete-restored-db-instance.
type DeleteRestoredDBInstanceConfig struct {
	Instance string `yaml:"instance" doc:"identifier of the instance a restore step of this scenario created (required)"`
	Region   string `yaml:"region" doc:"region (default: environment.aws.region)"`
}

// Validate implements scenarios.Validator.
func (c *DeleteRestoredDBInstanceConfig) Validate() error {
	if c.Instance == "" {
		return scenarios.FieldErrorf("instance", "required")
	}
	return nil
}

// DeleteRestoredDBInstanceType is the rollback step of a point-in-time restore drill: it
// deletes the named instance without a final snapshot, but only if it carries this
// scenario's drill:scenario and a drill:restored-from tag, so a typo cannot delete a real
// database. A missing instance is nothing to do.
func DeleteRestoredDBInstanceType() runner.StepType {
	return runner.NewStepType("aws:rds:delete-restored-db-instance",
		"Delete the DB instance a restore step of this scenario created (rollback)",
		func() *DeleteRestoredDBInstanceConfig { return &DeleteRestoredDBInstanceConfig{} },
		func(cfg *DeleteRestoredDBInstanceConfig, env *runner.Env) (runner.Step, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			if scenarioName(env) == "" {
				return nil, errors.New("aws:rds:delete-restored-db-instance needs a named scenario")
			}
			return &deleteRestoredDBStep{cfg: *cfg, clients: c, scenario: scenarioName(env)}, nil
		})
}

type deleteRestoredDBStep struct {
	cfg      DeleteRestoredDBInstanceConfig
	clients  *awsenv.Clients
	scenario string
}

// Run implements runner.Step.
func (s *deleteRestoredDBStep) Run(ctx context.Context) error {
	api := s.clients.RDS(s.cfg.Region)
	out, err := api.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: &s.cfg.Instance})
	var nf *rdstypes.DBInstanceNotFoundFault
	if errors.As(err, &nf) || (err == nil && len(out.DBInstances) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe db instance %s: %w", s.cfg.Instance, err)
	}
	db := out.DBInstances[0]
	tags := map[string]string{}
	for _, t := range db.TagList {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if _, restored := tags[tagRestoredFrom]; !restored || tags[tagScenario] != s.scenario {
		return fmt.Errorf("refusing to delete db instance %s: it is not tagged %s=%s and %s, so this scenario did not restore it", s.cfg.Instance, tagScenario, s.scenario, tagRestoredFrom)
	}
	if _, err := api.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: &s.cfg.Instance, SkipFinalSnapshot: aws.Bool(true)}); err != nil {
		return fmt.Errorf("delete restored db instance %s: %w", s.cfg.Instance, err)
	}
	return nil
}
