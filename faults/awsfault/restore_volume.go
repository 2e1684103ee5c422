package awsfault

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// Tags drill puts on what it creates, so rollback can find exactly that and nothing else.
const (
	TagScenario     = "drill:scenario"
	TagRestoredFrom = "drill:restored-from"
)

// RestoreVolumeConfig is the `with:` block of the aws:ec2:restore-volume step.
type RestoreVolumeConfig struct {
	Snapshots        Targets           `yaml:"snapshots" doc:"snapshots to restore from (ids, tags, filters such as volume-id): the latest completed one is used"`
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
// create a volume from the latest matching EBS snapshot. The volume is tagged drill:scenario so
// the aws:ec2:delete-restored-volumes rollback step removes it again.
func RestoreVolumeType() runner.StepType {
	return runner.StepType{
		Name:      "aws:ec2:restore-volume",
		Summary:   "Create an EBS volume from the latest matching snapshot (backup and restore)",
		NewConfig: func() any { return &RestoreVolumeConfig{Wait: true} },
		New: func(cfg any, env *runner.Env) (runner.Step, error) {
			c, err := ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &RestoreVolume{cfg: *cfg.(*RestoreVolumeConfig), clients: c, env: env}, nil
		},
	}
}

// RestoreVolume is the step.
type RestoreVolume struct {
	cfg     RestoreVolumeConfig
	clients *Clients
	env     *runner.Env
}

// LatestSnapshot returns the newest completed snapshot owned by this account that matches t.
func LatestSnapshot(ctx context.Context, api *ec2.Client, t Targets, pageSize int32) (*ec2types.Snapshot, error) {
	in := &ec2.DescribeSnapshotsInput{
		OwnerIds: []string{"self"},
		Filters:  t.EC2Filters("snapshot-id", ec2types.Filter{Name: aws.String("status"), Values: []string{"completed"}}),
	}
	if pageSize > 0 {
		in.MaxResults = aws.Int32(max(pageSize, 5))
	}
	var all []ec2types.Snapshot
	for p := ec2.NewDescribeSnapshotsPaginator(api, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe snapshots: %w", err)
		}
		all = append(all, page.Snapshots...)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no completed snapshot matches %s", t.describe())
	}
	sort.SliceStable(all, func(i, j int) bool {
		ti, tj := aws.ToTime(all[i].StartTime), aws.ToTime(all[j].StartTime)
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return aws.ToString(all[i].SnapshotId) > aws.ToString(all[j].SnapshotId)
	})
	return &all[0], nil
}

// Run implements runner.Step.
func (s *RestoreVolume) Run(ctx context.Context) error {
	api := s.clients.EC2(s.cfg.Region)
	snap, err := LatestSnapshot(ctx, api, s.cfg.Snapshots, s.clients.pageSize(1000))
	if err != nil {
		return err
	}
	tags := []ec2types.Tag{
		{Key: aws.String(TagScenario), Value: aws.String(s.scenario())},
		{Key: aws.String(TagRestoredFrom), Value: snap.SnapshotId},
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
		if err := sleep(ctx, s.clients.pollInterval()); err != nil {
			return fmt.Errorf("wait for volume %s: %w", id, err)
		}
	}
}

func (s *RestoreVolume) scenario() string {
	if s.env.Scenario == nil {
		return ""
	}
	return s.env.Scenario.Name
}
