package awsfault

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	drstypes "github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/aws/smithy-go"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/journal"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// drsStub stands in for the DRS API, one method at a time: no emulator implements DRS. The job
// launches after launchAfter DescribeJobs calls.
type drsStub struct {
	mu          sync.Mutex
	servers     []drstypes.SourceServer
	started     *drs.StartRecoveryInput
	startedAt   time.Time
	describes   int
	launchAfter int
	terminated  [][]string
	startErr    error
	loseAnswer  bool   // StartRecovery starts the job, then fails with startErr
	onStart     func() // called as StartRecovery is received
}

func (s *drsStub) StartRecovery(_ context.Context, in *drs.StartRecoveryInput, _ ...func(*drs.Options)) (*drs.StartRecoveryOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.onStart != nil {
		s.onStart()
	}
	if s.startErr != nil && !s.loseAnswer {
		return nil, s.startErr
	}
	s.started, s.startedAt = in, time.Now()
	if s.startErr != nil {
		return nil, s.startErr
	}
	return &drs.StartRecoveryOutput{Job: &drstypes.Job{JobID: aws.String("drsjob-1"), Status: drstypes.JobStatusPending}}, nil
}

// DescribeJobs answers for the one job, by id or by FromDate, once it was started.
func (s *drsStub) DescribeJobs(_ context.Context, in *drs.DescribeJobsInput, _ ...func(*drs.Options)) (*drs.DescribeJobsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.describes++
	byID := in.Filters != nil && len(in.Filters.JobIDs) == 1 && in.Filters.JobIDs[0] == "drsjob-1"
	bySince := in.Filters != nil && in.Filters.FromDate != nil
	if s.started == nil || !byID && !bySince {
		return &drs.DescribeJobsOutput{}, nil
	}
	job := drstypes.Job{JobID: aws.String("drsjob-1"), Status: drstypes.JobStatusStarted, Type: drstypes.JobTypeLaunch,
		InitiatedBy: drstypes.InitiatedByStartDrill, CreationDateTime: aws.String(s.startedAt.UTC().Format(time.RFC3339))}
	launched := s.describes > s.launchAfter
	if launched {
		job.Status = drstypes.JobStatusCompleted
	}
	for i, src := range s.started.SourceServers {
		p := drstypes.ParticipatingServer{SourceServerID: src.SourceServerID}
		if launched {
			p.RecoveryInstanceID = aws.String("i-recovery-" + string(rune('a'+i)))
		}
		job.ParticipatingServers = append(job.ParticipatingServers, p)
	}
	return &drs.DescribeJobsOutput{Items: []drstypes.Job{job}}, nil
}

func (s *drsStub) TerminateRecoveryInstances(_ context.Context, in *drs.TerminateRecoveryInstancesInput, _ ...func(*drs.Options)) (*drs.TerminateRecoveryInstancesOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.terminated = append(s.terminated, in.RecoveryInstanceIDs)
	return &drs.TerminateRecoveryInstancesOutput{}, nil
}

func (s *drsStub) DescribeRecoveryInstances(_ context.Context, in *drs.DescribeRecoveryInstancesInput, _ ...func(*drs.Options)) (*drs.DescribeRecoveryInstancesOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []drstypes.RecoveryInstance
	for _, id := range in.Filters.RecoveryInstanceIDs {
		state := drstypes.EC2InstanceStateRunning
		for _, b := range s.terminated {
			if contains(b, id) {
				state = drstypes.EC2InstanceStateTerminated
			}
		}
		out = append(out, drstypes.RecoveryInstance{RecoveryInstanceID: aws.String(id), Ec2InstanceState: state})
	}
	return &drs.DescribeRecoveryInstancesOutput{Items: out}, nil
}

func (s *drsStub) DescribeSourceServers(_ context.Context, in *drs.DescribeSourceServersInput, _ ...func(*drs.Options)) (*drs.DescribeSourceServersOutput, error) {
	var out []drstypes.SourceServer
	for _, srv := range s.servers {
		if in.Filters == nil || len(in.Filters.SourceServerIDs) == 0 || contains(in.Filters.SourceServerIDs, aws.ToString(srv.SourceServerID)) {
			out = append(out, srv)
		}
	}
	return &drs.DescribeSourceServersOutput{Items: out}, nil
}

func servers(ids ...string) []drstypes.SourceServer {
	var out []drstypes.SourceServer
	for _, id := range ids {
		out = append(out, drstypes.SourceServer{SourceServerID: aws.String(id), Tags: map[string]string{"app": "orders"}})
	}
	return out
}

// TestRecoveryDrillRevertTerminatesItsInstances: inject starts a drill job (isDrill) for the
// tagged servers; revert waits for the job to launch and terminates exactly its instances.
func TestRecoveryDrillRevertTerminatesItsInstances(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		stub := &drsStub{servers: append(servers("s-1", "s-2"), drstypes.SourceServer{SourceServerID: aws.String("s-other")}), launchAfter: 3}
		f := newStartRecoveryDrill(StartRecoveryDrillConfig{Tags: map[string]string{"app": "orders"}}, stub, "drs-drill", false, 30*time.Second)
		inj, err := f.Inject(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff([]string{"s-1", "s-2"}, inj.Targets); diff != "" {
			t.Errorf("targets (-want +got):\n%s", diff)
		}
		if !aws.ToBool(stub.started.IsDrill) {
			t.Error("StartRecovery without isDrill: that is a real failover")
		}
		start := time.Now()
		if err := inj.Revert(context.WithoutCancel(context.Background())); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != 90*time.Second {
			t.Errorf("revert waited %v for the job, want 3 polls of 30s", waited)
		}
		if diff := gocmp.Diff([][]string{{"i-recovery-a", "i-recovery-b"}}, stub.terminated); diff != "" {
			t.Errorf("terminated (-want +got):\n%s", diff)
		}
	})
}

func TestRecoveryDrillRevertGivesUpAfterTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		stub := &drsStub{servers: servers("s-1"), launchAfter: 1 << 30}
		cfg := StartRecoveryDrillConfig{SourceServerIDs: []string{"s-1"}, RevertTimeout: scenarios.Duration(10 * time.Minute)}
		f := newStartRecoveryDrill(cfg, stub, "drs-drill", false, 30*time.Second)
		inj, err := f.Inject(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		err = inj.Revert(context.Background())
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("revert of a job that never finishes = %v, want a deadline error", err)
		}
		if len(stub.terminated) != 0 {
			t.Errorf("terminated %v before the job launched anything", stub.terminated)
		}
	})
}

func TestRecoveryDrillPlan(t *testing.T) {
	t.Parallel()
	stub := &drsStub{servers: servers("s-1")}
	tests := []struct {
		name     string
		ids      []string
		emulator bool
		want     []string
		wantErr  bool
	}{
		{"real AWS checks ids", []string{"s-1"}, false, []string{"s-1"}, false},
		{"unknown id on real AWS", []string{"s-1", "s-missing"}, false, nil, true},
		{"emulator has no DRS: ids unchecked", []string{"s-missing"}, true, []string{"s-missing"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newStartRecoveryDrill(StartRecoveryDrillConfig{SourceServerIDs: tt.ids}, stub, "x", tt.emulator, time.Second)
			got, err := f.Plan(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("Plan() error = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := gocmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Plan() (-want +got):\n%s", diff)
			}
		})
	}
}

// StartRecovery refused: nothing started, nothing to revert. Its answer lost after DRS started
// the job: the revert finds the job by servers and time and terminates its instances.
func TestRecoveryDrillStartFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		loseAnswer bool
		want       [][]string
	}{
		{"refused", &smithy.GenericAPIError{Code: "AccessDeniedException", Fault: smithy.FaultClient}, false, nil},
		{"answer lost", context.DeadlineExceeded, true, [][]string{{"i-recovery-a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				stub := &drsStub{servers: servers("s-1"), startErr: tt.err, loseAnswer: tt.loseAnswer}
				f := newStartRecoveryDrill(StartRecoveryDrillConfig{SourceServerIDs: []string{"s-1"}}, stub, "x", false, time.Second)
				inj, err := f.Inject(context.Background())
				if !errors.Is(err, tt.err) {
					t.Fatalf("Inject error %v, want %v", err, tt.err)
				}
				if (inj.Revert != nil) != (tt.want != nil) {
					t.Fatalf("Inject revert set %v, want %v", inj.Revert != nil, tt.want != nil)
				}
				if inj.Revert == nil {
					return
				}
				if err := inj.Revert(context.Background()); err != nil {
					t.Fatal(err)
				}
				if diff := gocmp.Diff(tt.want, stub.terminated); diff != "" {
					t.Errorf("terminated (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// The fault journals the source servers and the time before StartRecovery, and the job's id
// once StartRecovery answered: read from the journal file while the stub receives the call,
// and after the drill.
func TestRecoveryDrillJournalsBeforeStart(t *testing.T) {
	t.Parallel()
	w, err := journal.Create(filepath.Join(t.TempDir(), "journal"), journal.RunInfo{RunID: "r1", System: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var atStart []journal.Fault
	stub := &drsStub{}
	stub.onStart = func() {
		run, err := journal.Read(w.Path())
		if err != nil {
			t.Error(err)
		}
		atStart = run.Pending()
	}
	where := awsenv.Where{Region: "eu-west-1", Endpoint: "http://127.0.0.1:1", Emulator: true}
	typ := StartRecoveryDrillType()
	typ.New = func(cfg any, env *runner.Env) (runner.Fault, error) {
		f := newStartRecoveryDrill(*cfg.(*StartRecoveryDrillConfig), stub, "drs-drill", true, time.Millisecond)
		f.env, f.where = env, where
		return f, nil
	}
	reg := runner.NewRegistry()
	reg.AddFault(typ)
	s := &scenarios.Scenario{Name: "drs-drill", System: "test", File: "drs.yaml",
		Objectives: scenarios.Objectives{RTO: time.Second},
		Faults:     []scenarios.StepSpec{{Name: "drill", Type: typ.Name, With: &StartRecoveryDrillConfig{SourceServerIDs: []string{"s-2", "s-1"}}}},
		Limits:     scenarios.Limits{Timeout: 30 * time.Second, Observe: 10 * time.Millisecond, Rollback: 10 * time.Second},
	}
	before := time.Now().UTC()
	res := runner.Run(t.Context(), s, runner.Options{Registry: reg, Journal: w, RunID: "r1", Env: runner.NewEnv(s, nil)})
	if !res.Rollback.Clean {
		t.Fatalf("rollback %+v, want the drill's own revert to succeed", res.Rollback)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	decode := func(f []journal.Fault) startRecoveryDrillRecord {
		t.Helper()
		if len(f) != 1 || f[0].Record == nil {
			t.Fatalf("journal faults %+v, want one with a record", f)
		}
		var rec startRecoveryDrillRecord
		if err := json.Unmarshal(f[0].Record, &rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	first := decode(atStart)
	if first.JobID != "" || first.Since.Before(before) || first.Since.After(time.Now()) {
		t.Errorf("record while StartRecovery ran: %+v; want no job id and a time since %v", first, before)
	}
	want := startRecoveryDrillRecord{Where: where, SourceServers: []string{"s-1", "s-2"}, Since: first.Since, JobID: "drsjob-1", RevertTimeout: 30 * time.Minute}
	run, err := journal.Read(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(want, decode(run.Faults)); diff != "" {
		t.Errorf("record after the drill (-want +got):\n%s", diff)
	}
}

// drsJobsStub stands in for what undoing a drill job calls (DescribeJobs,
// DescribeRecoveryInstances, TerminateRecoveryInstances): no emulator implements DRS. Jobs
// asked for by id report STARTED, without instances, for their first launchAfter describes.
type drsJobsStub struct {
	mu          sync.Mutex
	jobs        []drstypes.Job // as they are once launched
	launchAfter int
	describes   map[string]int
	fromDates   []string
	terminated  [][]string
}

func (s *drsJobsStub) DescribeJobs(_ context.Context, in *drs.DescribeJobsInput, _ ...func(*drs.Options)) (*drs.DescribeJobsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.Filters.FromDate != nil {
		s.fromDates = append(s.fromDates, *in.Filters.FromDate)
	}
	var out []drstypes.Job
	for _, j := range s.jobs {
		id := aws.ToString(j.JobID)
		if len(in.Filters.JobIDs) > 0 && !contains(in.Filters.JobIDs, id) {
			continue
		}
		if s.describes == nil {
			s.describes = map[string]int{}
		}
		s.describes[id]++
		if s.describes[id] <= s.launchAfter {
			j = drstypes.Job{JobID: j.JobID, Type: j.Type, InitiatedBy: j.InitiatedBy, CreationDateTime: j.CreationDateTime, Status: drstypes.JobStatusStarted}
		}
		out = append(out, j)
	}
	return &drs.DescribeJobsOutput{Items: out}, nil
}

func (s *drsJobsStub) DescribeRecoveryInstances(_ context.Context, in *drs.DescribeRecoveryInstancesInput, _ ...func(*drs.Options)) (*drs.DescribeRecoveryInstancesOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []drstypes.RecoveryInstance
	for _, id := range in.Filters.RecoveryInstanceIDs {
		state := drstypes.EC2InstanceStateRunning
		if id == "ri-gone" || slices.ContainsFunc(s.terminated, func(b []string) bool { return contains(b, id) }) {
			state = drstypes.EC2InstanceStateTerminated
		}
		out = append(out, drstypes.RecoveryInstance{RecoveryInstanceID: aws.String(id), Ec2InstanceState: state})
	}
	return &drs.DescribeRecoveryInstancesOutput{Items: out}, nil
}

func (s *drsJobsStub) TerminateRecoveryInstances(_ context.Context, in *drs.TerminateRecoveryInstancesInput, _ ...func(*drs.Options)) (*drs.TerminateRecoveryInstancesOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.terminated = append(s.terminated, in.RecoveryInstanceIDs)
	return &drs.TerminateRecoveryInstancesOutput{}, nil
}

// drillJob is a completed launch job created at, of a drill unless by says otherwise, whose
// servers map source server ids to the recovery instances launched for them.
func drillJob(id string, at time.Time, by drstypes.InitiatedBy, servers map[string]string) drstypes.Job {
	j := drstypes.Job{JobID: aws.String(id), Type: drstypes.JobTypeLaunch, InitiatedBy: by, Status: drstypes.JobStatusCompleted,
		CreationDateTime: aws.String(at.UTC().Format(time.RFC3339))}
	for src, ri := range servers {
		j.ParticipatingServers = append(j.ParticipatingServers, drstypes.ParticipatingServer{SourceServerID: aws.String(src), RecoveryInstanceID: aws.String(ri)})
	}
	return j
}

// Recover, from the record alone, terminates the recovery instances of the journaled job, or,
// when the job's id was never journaled, of the drill jobs of the recorded servers started since
// the recorded time; a second recover terminates nothing.
func TestRecoverDrillJobs(t *testing.T) {
	t.Parallel()
	drill := drstypes.InitiatedByStartDrill
	tests := []struct {
		name        string
		jobID       string
		jobs        func(since time.Time) []drstypes.Job
		launchAfter int
		timeout     time.Duration
		want        [][]string
		wantWait    time.Duration
		wantErr     error
	}{
		{name: "journaled job", jobID: "j-1", jobs: func(since time.Time) []drstypes.Job {
			return []drstypes.Job{drillJob("j-1", since, drill, map[string]string{"s-1": "ri-a", "s-2": "ri-b"})}
		}, want: [][]string{{"ri-a", "ri-b"}}},
		{name: "job id lost: found by servers and time", jobs: func(since time.Time) []drstypes.Job {
			return []drstypes.Job{
				drillJob("j-before", since.Add(-time.Second), drill, map[string]string{"s-1": "ri-old"}),
				drillJob("j-other-server", since.Add(time.Second), drill, map[string]string{"s-9": "ri-other"}),
				drillJob("j-real-recovery", since.Add(time.Second), drstypes.InitiatedByStartRecovery, map[string]string{"s-1": "ri-real"}),
				drillJob("j-1", since.Add(2*time.Second), drill, map[string]string{"s-1": "ri-a", "s-2": "ri-b"}),
			}
		}, want: [][]string{{"ri-a", "ri-b"}}},
		{name: "never started: nothing to do", jobs: func(time.Time) []drstypes.Job { return nil }},
		{name: "instance already terminated is left alone", jobID: "j-1", jobs: func(since time.Time) []drstypes.Job {
			return []drstypes.Job{drillJob("j-1", since, drill, map[string]string{"s-1": "ri-gone", "s-2": "ri-b"})}
		}, want: [][]string{{"ri-b"}}},
		{name: "waits for the job to launch", jobID: "j-1", launchAfter: 2, jobs: func(since time.Time) []drstypes.Job {
			return []drstypes.Job{drillJob("j-1", since, drill, map[string]string{"s-1": "ri-a"})}
		}, want: [][]string{{"ri-a"}}, wantWait: 2 * 30 * time.Second},
		{name: "job that never launches: error, nothing terminated", jobID: "j-1", launchAfter: 1 << 30, timeout: 10 * time.Minute, jobs: func(since time.Time) []drstypes.Job {
			return []drstypes.Job{drillJob("j-1", since, drill, map[string]string{"s-1": "ri-a"})}
		}, wantWait: 10 * time.Minute, wantErr: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				since := time.Now().Add(1500 * time.Millisecond) // not on a whole second
				stub := &drsJobsStub{jobs: tt.jobs(since), launchAfter: tt.launchAfter}
				rec := &startRecoveryDrillRecord{SourceServers: []string{"s-1", "s-2"}, Since: since, JobID: tt.jobID, RevertTimeout: cmp.Or(tt.timeout, time.Hour)}
				start := time.Now()
				err := recoverDrillJobs(context.Background(), stub, rec, 30*time.Second)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("recover = %v, want %v", err, tt.wantErr)
				}
				if waited := time.Since(start); waited != tt.wantWait {
					t.Errorf("recover waited %v, want %v", waited, tt.wantWait)
				}
				if diff := gocmp.Diff(tt.want, stub.terminated); diff != "" {
					t.Errorf("terminated (-want +got):\n%s", diff)
				}
				if tt.jobID == "" {
					if want := []string{since.UTC().Truncate(time.Second).Format(time.RFC3339)}; !slices.Equal(stub.fromDates, want) {
						t.Errorf("DescribeJobs FromDate %v, want %v", stub.fromDates, want)
					}
				}
				if tt.wantErr != nil {
					return
				}
				if err := recoverDrillJobs(context.Background(), stub, rec, 30*time.Second); err != nil {
					t.Fatalf("second recover: %v", err)
				}
				if diff := gocmp.Diff(tt.want, stub.terminated); diff != "" {
					t.Errorf("after a second recover, terminated (-want +got):\n%s", diff)
				}
			})
		})
	}
}
