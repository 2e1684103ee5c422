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
	// drsCleanupAPI is what undoing a drill job calls, in the drill and in `drill recover`.
	drsCleanupAPI interface {
		drsTerminateRecoveryInstances
		drs.DescribeJobsAPIClient
		drs.DescribeRecoveryInstancesAPIClient
	}
	// drsAPI is what the DRS fault and probe call.
	drsAPI interface {
		drsStartRecovery
		drsCleanupAPI
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
// isDrill). Revert terminates exactly the recovery instances that drill job launched; so does
// `drill recover`, from the journal.
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
			f := newStartRecoveryDrill(sc, c.DRS(sc.Region), name, c.Emulator(), c.PollEvery())
			f.env, f.where = env, c.WhereOf(sc.Region)
			return f, nil
		},
		runner.WithRecover(recoverStartRecoveryDrill))
}

// startRecoveryDrillRecord is what the fault journals: before StartRecovery, where, the source
// servers and the time (the job's id is not known yet); once StartRecovery answered, the same
// with the job's id.
type startRecoveryDrillRecord struct {
	awsenv.Where
	SourceServers []string      `json:"sourceServers"`
	Since         time.Time     `json:"since"`
	JobID         string        `json:"jobId,omitempty"`
	RevertTimeout time.Duration `json:"revertTimeout"`
}

// recoverStartRecoveryDrill terminates the recovery instances of the journaled drill job, or,
// when drill was killed before it recorded the job's id, of the drill jobs of those source
// servers started since the recorded time.
func recoverStartRecoveryDrill(ctx context.Context, _ *runner.Env, rec *startRecoveryDrillRecord) error {
	c, err := awsenv.RecoverClients(ctx, rec.Where, awsenv.RecoverOptions{})
	if err != nil {
		return err
	}
	if err := recoverDrillJobs(ctx, c.DRS(rec.Region), rec, c.PollEvery()); err != nil {
		return fmt.Errorf("recover drs recovery drill: %w", err)
	}
	return nil
}

// recoverDrillJobs undoes the drill job(s) of rec. No job found means StartRecovery never
// reached DRS: nothing to undo.
func recoverDrillJobs(ctx context.Context, api drsCleanupAPI, rec *startRecoveryDrillRecord, poll time.Duration) error {
	jobs := []string{rec.JobID}
	if rec.JobID == "" {
		var err error
		if jobs, err = drillJobsSince(ctx, api, rec.SourceServers, rec.Since); err != nil {
			return err
		}
	}
	var errs []error
	for _, id := range jobs {
		errs = append(errs, terminateDrillJob(ctx, api, id, rec.RevertTimeout, poll))
	}
	return errors.Join(errs...)
}

// drillJobsSince finds the launch jobs a drill (StartRecovery with isDrill) started at or after
// since for any of servers.
func drillJobsSince(ctx context.Context, api drs.DescribeJobsAPIClient, servers []string, since time.Time) ([]string, error) {
	// DescribeJobs takes whole seconds: round down, then compare the creation times exactly.
	from := since.UTC().Truncate(time.Second)
	in := &drs.DescribeJobsInput{Filters: &drstypes.DescribeJobsRequestFilters{FromDate: aws.String(from.Format(time.RFC3339))}}
	var ids []string
	for p := drs.NewDescribeJobsPaginator(api, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("drs describe jobs since %s: %w", from.Format(time.RFC3339), err)
		}
		for _, j := range page.Items {
			if j.Type != drstypes.JobTypeLaunch || j.InitiatedBy != drstypes.InitiatedByStartDrill {
				continue
			}
			created, err := time.Parse(time.RFC3339, aws.ToString(j.CreationDateTime))
			if err != nil {
				return nil, fmt.Errorf("drs job %s: creation time %q: %w", aws.ToString(j.JobID), aws.ToString(j.CreationDateTime), err)
			}
			if created.Before(from) {
				continue
			}
			if slices.ContainsFunc(j.ParticipatingServers, func(s drstypes.ParticipatingServer) bool {
				return slices.Contains(servers, aws.ToString(s.SourceServerID))
			}) {
				ids = append(ids, aws.ToString(j.JobID))
			}
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// startRecoveryDrillFault is the fault.
type startRecoveryDrillFault struct {
	cfg      StartRecoveryDrillConfig
	api      drsAPI
	scenario string
	emulator bool
	poll     time.Duration
	env      *runner.Env // nil in unit tests of Inject: nothing is journaled
	where    awsenv.Where
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
	rec := startRecoveryDrillRecord{Where: f.where, SourceServers: ids, Since: time.Now().UTC(), RevertTimeout: f.cfg.RevertTimeout.D()}
	if err := f.journal(ctx, ids, rec); err != nil {
		return runner.Injection{}, err
	}
	// Without an answer (timeout, Ctrl-C, a server fault) DRS may have started the job anyway:
	// the revert then finds it by servers and time, as recover does without a job id.
	lookup := runner.Injection{Targets: ids, Revert: func(ctx context.Context) error {
		return recoverDrillJobs(ctx, f.api, &rec, f.poll)
	}}
	out, err := f.api.StartRecovery(ctx, in)
	if err != nil {
		if refused(err) {
			return runner.Injection{}, fmt.Errorf("drs start recovery drill for %v: %w", ids, err)
		}
		return lookup, fmt.Errorf("drs start recovery drill for %v: %w", ids, err)
	}
	if out.Job == nil || out.Job.JobID == nil {
		return lookup, fmt.Errorf("drs start recovery drill for %v: no job in the answer", ids)
	}
	job := *out.Job.JobID
	inj := runner.Injection{Targets: ids, Revert: func(ctx context.Context) error {
		return terminateDrillJob(ctx, f.api, job, f.cfg.RevertTimeout.D(), f.poll)
	}}
	// The job has started: a Ctrl-C now must not keep its id out of the journal. Without it,
	// recover still finds the job by its servers and start time, so a failure here only warns.
	rec.JobID = job
	if err := f.journal(context.WithoutCancel(ctx), ids, rec); err != nil && f.env != nil && f.env.Log != nil {
		f.env.Log.Warn("drs drill job id not journaled; drill recover will look the job up by source servers and time", "job", job, "err", err)
	}
	return inj, nil
}

func (f *startRecoveryDrillFault) journal(ctx context.Context, ids []string, rec startRecoveryDrillRecord) error {
	if f.env == nil {
		return nil
	}
	return f.env.Journal(ctx, ids, rec)
}

// terminateDrillJob waits for a drill job to finish launching (its instances are known only
// then) and terminates the recovery instances it launched that are not already terminated or
// terminating, so undoing a job twice is harmless.
func terminateDrillJob(ctx context.Context, api drsCleanupAPI, jobID string, timeout, poll time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var job *drstypes.Job
	for {
		var err error
		job, err = describeJob(ctx, api, jobID)
		if err != nil {
			return err
		}
		if job.Status == drstypes.JobStatusCompleted {
			break
		}
		if err := sleep(ctx, poll); err != nil {
			return fmt.Errorf("drs job %s still %s: its recovery instances were not terminated: %w", jobID, job.Status, err)
		}
	}
	var instances []string
	for _, s := range job.ParticipatingServers {
		if id := aws.ToString(s.RecoveryInstanceID); id != "" {
			instances = append(instances, id)
		}
	}
	instances, err := liveRecoveryInstances(ctx, api, instances)
	if err != nil {
		return err
	}
	sort.Strings(instances)
	var errs []error
	for _, b := range awsenv.Batches(instances, 10) { // the API takes at most 10 ids per call
		if _, err := api.TerminateRecoveryInstances(ctx, &drs.TerminateRecoveryInstancesInput{RecoveryInstanceIDs: b}); err != nil {
			errs = append(errs, fmt.Errorf("drs terminate recovery instances %v: %w", b, err))
		}
	}
	return errors.Join(errs...)
}

// liveRecoveryInstances returns those of ids DRS still knows whose EC2 instance is neither
// terminated nor shutting down.
func liveRecoveryInstances(ctx context.Context, api drs.DescribeRecoveryInstancesAPIClient, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var live []string
	in := &drs.DescribeRecoveryInstancesInput{Filters: &drstypes.DescribeRecoveryInstancesRequestFilters{RecoveryInstanceIDs: ids}}
	for p := drs.NewDescribeRecoveryInstancesPaginator(api, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("drs describe recovery instances %v: %w", ids, err)
		}
		for _, ri := range page.Items {
			switch ri.Ec2InstanceState {
			case drstypes.EC2InstanceStateTerminated, drstypes.EC2InstanceStateShuttingDown, drstypes.EC2InstanceStateNotFound:
				continue
			}
			if id := aws.ToString(ri.RecoveryInstanceID); slices.Contains(ids, id) {
				live = append(live, id)
			}
		}
	}
	return live, nil
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
