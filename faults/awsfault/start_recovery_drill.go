package awsfault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	drstypes "github.com/aws/aws-sdk-go-v2/service/drs/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// DRS API surface, one method per interface so unit tests can stub each (no emulator speaks
// DRS). *drs.Client implements all of them.
type (
	drsStartRecovery interface {
		StartRecovery(context.Context, *drs.StartRecoveryInput, ...func(*drs.Options)) (*drs.StartRecoveryOutput, error)
	}
	drsTerminateRecoveryInstances interface {
		TerminateRecoveryInstances(context.Context, *drs.TerminateRecoveryInstancesInput, ...func(*drs.Options)) (*drs.TerminateRecoveryInstancesOutput, error)
	}
	// drsAPI is what the DRS fault and probe call.
	drsAPI interface {
		drsStartRecovery
		drsTerminateRecoveryInstances
		drs.DescribeJobsAPIClient
		drs.DescribeSourceServersAPIClient
	}
)

// StartRecoveryDrillConfig is the `with:` block of aws:drs:start-recovery-drill.
type StartRecoveryDrillConfig struct {
	SourceServerIDs []string           `yaml:"sourceServerIds" doc:"DRS source server ids (or give tags)"`
	Tags            map[string]string  `yaml:"tags" doc:"source servers carrying all of these tags"`
	Region          string             `yaml:"region" doc:"DRS recovery region (default: environment.aws.region)"`
	RevertTimeout   scenarios.Duration `yaml:"revertTimeout" doc:"on revert, how long to wait for the drill job to finish before terminating its instances"`
}

// Validate implements scenarios.Validator.
func (c *StartRecoveryDrillConfig) Validate() error {
	if len(c.SourceServerIDs) == 0 && len(c.Tags) == 0 {
		return scenarios.FieldErrorf("sourceServerIds", "give sourceServerIds or tags")
	}
	return nil
}

// StartRecoveryDrillType is the aws:drs:start-recovery-drill fault: AWS Elastic Disaster
// Recovery launches drill recovery instances for the source servers (StartRecovery with
// isDrill). Revert terminates exactly the recovery instances that drill job launched.
func StartRecoveryDrillType() runner.FaultType {
	return runner.NewFaultType("aws:drs:start-recovery-drill",
		"Start an Elastic Disaster Recovery drill (isDrill); revert terminates the drill's recovery instances",
		func() *StartRecoveryDrillConfig {
			return &StartRecoveryDrillConfig{RevertTimeout: scenarios.Duration(30 * time.Minute)}
		},
		func(cfg *StartRecoveryDrillConfig, env *runner.Env) (runner.Fault, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			sc := *cfg
			name := ""
			if env.Scenario != nil {
				name = env.Scenario.Name
			}
			return newStartRecoveryDrill(sc, c.DRS(sc.Region), name, c.Emulator(), c.PollEvery()), nil
		})
}

// startRecoveryDrillFault is the fault.
type startRecoveryDrillFault struct {
	cfg      StartRecoveryDrillConfig
	api      drsAPI
	scenario string
	emulator bool
	poll     time.Duration
}

// newStartRecoveryDrill builds the fault on any drsAPI (tests pass a stub).
func newStartRecoveryDrill(cfg StartRecoveryDrillConfig, api drsAPI, scenario string, emulator bool, poll time.Duration) *startRecoveryDrillFault {
	if cfg.RevertTimeout <= 0 {
		cfg.RevertTimeout = scenarios.Duration(30 * time.Minute)
	}
	return &startRecoveryDrillFault{cfg: cfg, api: api, scenario: scenario, emulator: emulator, poll: poll}
}

// Plan implements runner.Planner. Against an emulator listed ids are returned unchecked: no
// emulator implements DRS, so there is nothing to check them against.
func (f *startRecoveryDrillFault) Plan(ctx context.Context) ([]string, error) {
	if f.emulator && len(f.cfg.Tags) == 0 {
		out := slices.Clone(f.cfg.SourceServerIDs)
		sort.Strings(out)
		return out, nil
	}
	servers, err := awsenv.DescribeSourceServers(ctx, f.api, f.cfg.SourceServerIDs)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range servers {
		if matchTags(s.Tags, f.cfg.Tags) {
			ids = append(ids, aws.ToString(s.SourceServerID))
		}
	}
	for _, want := range f.cfg.SourceServerIDs {
		if !slices.Contains(ids, want) {
			return nil, fmt.Errorf("drs source server %s not found (or its tags do not match)", want)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no drs source servers match tags %v", f.cfg.Tags)
	}
	sort.Strings(ids)
	return ids, nil
}

func matchTags(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// Inject implements runner.Fault.
func (f *startRecoveryDrillFault) Inject(ctx context.Context) (runner.Injection, error) {
	ids, err := f.Plan(ctx)
	if err != nil {
		return runner.Injection{}, err
	}
	in := &drs.StartRecoveryInput{IsDrill: aws.Bool(true), Tags: map[string]string{"drill:scenario": f.scenario}}
	for _, id := range ids {
		in.SourceServers = append(in.SourceServers, drstypes.StartRecoveryRequestSourceServer{SourceServerID: aws.String(id)})
	}
	out, err := f.api.StartRecovery(ctx, in)
	if err != nil {
		return runner.Injection{}, fmt.Errorf("drs start recovery drill for %v: %w", ids, err)
	}
	if out.Job == nil || out.Job.JobID == nil {
		return runner.Injection{Targets: ids}, fmt.Errorf("drs start recovery drill for %v: no job in the answer", ids)
	}
	job := *out.Job.JobID
	return runner.Injection{Targets: ids, Revert: func(ctx context.Context) error { return f.revert(ctx, job) }}, nil
}

// revert waits for the drill job to finish launching (its instances are known only then) and
// terminates the recovery instances it launched.
func (f *startRecoveryDrillFault) revert(ctx context.Context, jobID string) error {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.RevertTimeout.D())
	defer cancel()
	var job *drstypes.Job
	for {
		var err error
		job, err = describeJob(ctx, f.api, jobID)
		if err != nil {
			return err
		}
		if job.Status == drstypes.JobStatusCompleted {
			break
		}
		if err := sleep(ctx, f.poll); err != nil {
			return fmt.Errorf("drs job %s still %s: its recovery instances were not terminated: %w", jobID, job.Status, err)
		}
	}
	var instances []string
	for _, s := range job.ParticipatingServers {
		if id := aws.ToString(s.RecoveryInstanceID); id != "" {
			instances = append(instances, id)
		}
	}
	sort.Strings(instances)
	var errs []error
	for _, b := range awsenv.Batches(instances, 10) { // the API takes at most 10 ids per call
		if _, err := f.api.TerminateRecoveryInstances(ctx, &drs.TerminateRecoveryInstancesInput{RecoveryInstanceIDs: b}); err != nil {
			errs = append(errs, fmt.Errorf("drs terminate recovery instances %v: %w", b, err))
		}
	}
	return errors.Join(errs...)
}

func describeJob(ctx context.Context, api drs.DescribeJobsAPIClient, id string) (*drstypes.Job, error) {
	in := &drs.DescribeJobsInput{Filters: &drstypes.DescribeJobsRequestFilters{JobIDs: []string{id}}}
	for p := drs.NewDescribeJobsPaginator(api, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("drs describe job %s: %w", id, err)
		}
		for i := range page.Items {
			if aws.ToString(page.Items[i].JobID) == id {
				return &page.Items[i], nil
			}
		}
	}
	return nil, fmt.Errorf("drs job %s not found", id)
}
