package awsfault

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// Tags drill puts on what it creates, so rollback can find exactly that and nothing else.
const (
	tagScenario     = "drill:scenario"
	tagRestoredFrom = "drill:restored-from"
)

// RestoreVolumeConfig is the `with:` block of the aws:ec2:restore-volume step.
type RestoreVolumeConfig struct {
	Snapshots        awsenv.Targets    `yaml:"snapshots" doc:"snapshots to restore from (ids, tags, filters such as volume-id): the latest completed one is used"`
	AvailabilityZone string            `yaml:"availabilityZone" doc:"availability zone of the new volume"`
	VolumeType       string            `yaml:"volumeType" doc:"volume type (default: the EBS default)"`
	Tags             map[string]string `yaml:"tags" doc:"extra tags on the new volume"`
	Wait             bool              `yaml:"wait" doc:"wait until the volume is available"`
	Region           string            `yaml:"region" doc:"region (default: environment.aws.region)"`
}

// Validate implements scenarios.Validator.
func (c *RestoreVolumeConfig) Validate() error {
	errs := []error{c.Snapshots.Validate("snapshots")}
	if !c.Snapshots.Select.IsAll() {
		errs = append(errs, scenarios.FieldErrorf("snapshots.select", "not used: the latest matching snapshot is restored"))
	}
	if c.AvailabilityZone == "" {
		errs = append(errs, scenarios.FieldErrorf("availabilityZone", "required"))
	}
	return errors.Join(errs...)
}

// RestoreVolumeType is the aws:ec2:restore-volume runbook step of a backup-and-restore drill:
// create a volume from the latest matching EBS snapshot, reporting the snapshot's start time as
// the recovery point (runner.Env.RecoveryPoint). The volume is tagged drill:scenario so
// the aws:ec2:delete-restored-volumes rollback step removes it again.
func RestoreVolumeType() runner.StepType {
	return runner.NewStepType("aws:ec2:restore-volume",
		"Create an EBS volume from the latest matching snapshot (backup and restore)",
		func() *RestoreVolumeConfig { return &RestoreVolumeConfig{Wait: true} },
		func(cfg *RestoreVolumeConfig, env *runner.Env) (runner.Step, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &restoreVolumeStep{cfg: *cfg, clients: c, env: env}, nil
		}, runner.AsRestorePoint())
}

// restoreVolumeStep is the step.
type restoreVolumeStep struct {
	cfg     RestoreVolumeConfig
	clients *awsenv.Clients
	env     *runner.Env
}

// Run implements runner.Step.
func (s *restoreVolumeStep) Run(ctx context.Context) error {
	api := s.clients.EC2(s.cfg.Region)
	snap, err := awsenv.LatestSnapshot(ctx, api, s.cfg.Snapshots, s.clients.PageLimit(1000))
	if err != nil {
		return err
	}
	tags := []ec2types.Tag{
		{Key: aws.String(tagScenario), Value: aws.String(s.scenario())},
		{Key: aws.String(tagRestoredFrom), Value: snap.SnapshotId},
	}
	keys := make([]string, 0, len(s.cfg.Tags))
	for k := range s.cfg.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(s.cfg.Tags[k])})
	}
	in := &ec2.CreateVolumeInput{
		SnapshotId:        snap.SnapshotId,
		AvailabilityZone:  &s.cfg.AvailabilityZone,
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVolume, Tags: tags}},
	}
	if s.cfg.VolumeType != "" {
		in.VolumeType = ec2types.VolumeType(s.cfg.VolumeType)
	}
	out, err := api.CreateVolume(ctx, in)
	if err != nil {
		return fmt.Errorf("create volume from snapshot %s: %w", aws.ToString(snap.SnapshotId), err)
	}
	id := aws.ToString(out.VolumeId)
	s.env.Log.Info("volume restored", "volume", id, "snapshot", aws.ToString(snap.SnapshotId), "snapshotTime", aws.ToTime(snap.StartTime))
	// An EBS snapshot holds the volume as it was when the snapshot started: that is the point
	// the restored data goes back to, and without a data probe the RPO is measured from it.
	s.env.RecoveryPoint(aws.ToTime(snap.StartTime), fmt.Sprintf("snapshot %s of %s restored as %s", aws.ToString(snap.SnapshotId), aws.ToString(snap.VolumeId), id))
	if !s.cfg.Wait {
		return nil
	}
	for {
		v, err := api.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
		if err != nil {
			return fmt.Errorf("describe volume %s: %w", id, err)
		}
		if len(v.Volumes) == 1 {
			switch v.Volumes[0].State {
			case ec2types.VolumeStateAvailable, ec2types.VolumeStateInUse:
				return nil
			case ec2types.VolumeStateError:
				return fmt.Errorf("restored volume %s is in state error", id)
			}
		}
		if err := sleep(ctx, s.clients.PollEvery()); err != nil {
			return fmt.Errorf("wait for volume %s: %w", id, err)
		}
	}
}

func (s *restoreVolumeStep) scenario() string {
	if s.env.Scenario == nil {
		return ""
	}
	return s.env.Scenario.Name
}
