package awsfault

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
)

// DeleteRestoredVolumesConfig is the `with:` block of aws:ec2:delete-restored-volumes.
type DeleteRestoredVolumesConfig struct {
	Region string `yaml:"region" doc:"region (default: environment.aws.region)"`
}

// DeleteRestoredVolumesType is the rollback step of a backup-and-restore drill: it deletes the
// volumes aws:ec2:restore-volume created for this scenario (tagged drill:scenario and
// drill:restored-from), and nothing else.
func DeleteRestoredVolumesType() runner.StepType {
	return runner.NewStepType("aws:ec2:delete-restored-volumes",
		"Delete the volumes aws:ec2:restore-volume created for this scenario (rollback)",
		func() *DeleteRestoredVolumesConfig { return &DeleteRestoredVolumesConfig{} },
		func(cfg *DeleteRestoredVolumesConfig, env *runner.Env) (runner.Step, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			if env.Scenario == nil || env.Scenario.Name == "" {
				return nil, errors.New("aws:ec2:delete-restored-volumes needs a named scenario")
			}
			return &deleteRestoredVolumesStep{cfg: *cfg, clients: c, scenario: env.Scenario.Name}, nil
		})
}

// deleteRestoredVolumesStep is the step.
type deleteRestoredVolumesStep struct {
	cfg      DeleteRestoredVolumesConfig
	clients  *awsenv.Clients
	scenario string
}

// Run implements runner.Step.
func (s *deleteRestoredVolumesStep) Run(ctx context.Context) error {
	api := s.clients.EC2(s.cfg.Region)
	in := &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + tagScenario), Values: []string{s.scenario}},
		{Name: aws.String("tag-key"), Values: []string{tagRestoredFrom}},
	}}
	var errs []error
	for p := ec2.NewDescribeVolumesPaginator(api, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe restored volumes: %w", err)
		}
		for _, v := range page.Volumes {
			if v.State == ec2types.VolumeStateDeleting || v.State == ec2types.VolumeStateDeleted {
				continue
			}
			if _, err := api.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: v.VolumeId}); err != nil {
				errs = append(errs, fmt.Errorf("delete restored volume %s: %w", aws.ToString(v.VolumeId), err))
			}
		}
	}
	return errors.Join(errs...)
}
