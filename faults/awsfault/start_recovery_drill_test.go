package awsfault

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	drstypes "github.com/aws/aws-sdk-go-v2/service/drs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/scenarios"
)

// drsStub stands in for the DRS API, one method at a time: no emulator implements DRS. The job
// launches after launchAfter DescribeJobs calls.
type drsStub struct {
	mu          sync.Mutex
	servers     []drstypes.SourceServer
	started     *drs.StartRecoveryInput
	describes   int
	launchAfter int
	terminated  [][]string
	startErr    error
}

func (s *drsStub) StartRecovery(_ context.Context, in *drs.StartRecoveryInput, _ ...func(*drs.Options)) (*drs.StartRecoveryOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.startErr != nil {
		return nil, s.startErr
	}
	s.started = in
	return &drs.StartRecoveryOutput{Job: &drstypes.Job{JobID: aws.String("drsjob-1"), Status: drstypes.JobStatusPending}}, nil
}

func (s *drsStub) DescribeJobs(_ context.Context, in *drs.DescribeJobsInput, _ ...func(*drs.Options)) (*drs.DescribeJobsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.describes++
	job := drstypes.Job{JobID: aws.String("drsjob-1"), Status: drstypes.JobStatusStarted}
	if s.describes > s.launchAfter {
		job.Status = drstypes.JobStatusCompleted
		for i, src := range s.started.SourceServers {
			job.ParticipatingServers = append(job.ParticipatingServers, drstypes.ParticipatingServer{
				SourceServerID: src.SourceServerID, RecoveryInstanceID: aws.String("i-recovery-" + string(rune('a'+i))),
			})
		}
	}
	if in.Filters == nil || len(in.Filters.JobIDs) != 1 || in.Filters.JobIDs[0] != "drsjob-1" {
		return &drs.DescribeJobsOutput{}, nil
	}
	return &drs.DescribeJobsOutput{Items: []drstypes.Job{job}}, nil
}

func (s *drsStub) TerminateRecoveryInstances(_ context.Context, in *drs.TerminateRecoveryInstancesInput, _ ...func(*drs.Options)) (*drs.TerminateRecoveryInstancesOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.terminated = append(s.terminated, in.RecoveryInstanceIDs)
	return &drs.TerminateRecoveryInstancesOutput{}, nil
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
		if diff := cmp.Diff([]string{"s-1", "s-2"}, inj.Targets); diff != "" {
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
		if diff := cmp.Diff([][]string{{"i-recovery-a", "i-recovery-b"}}, stub.terminated); diff != "" {
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
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Plan() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecoveryDrillStartFails(t *testing.T) {
	t.Parallel()
	stub := &drsStub{servers: servers("s-1"), startErr: errors.New("AccessDenied")}
	f := newStartRecoveryDrill(StartRecoveryDrillConfig{SourceServerIDs: []string{"s-1"}}, stub, "x", false, time.Second)
	inj, err := f.Inject(context.Background())
	if err == nil || inj.Revert != nil {
		t.Fatalf("Inject = %+v, %v; want an error and nothing to revert", inj, err)
	}
}
