package awsprobe

import (
	"context"
	"github.com/drillhq/drill/backends/awsenv"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/drillhq/drill/faults/awsfault"
	"github.com/drillhq/drill/localstack"
	"github.com/drillhq/drill/localstack/lstest"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

var emu lstest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	emu.Close()
	os.Exit(code)
}

var (
	seedOnce sync.Once
	seeded   *localstack.Topology
	seedErr  error
)

// labEnv connects to the package's emulator and seeds the shipped DR topology once.
func labEnv(t *testing.T) (*runner.Env, *awsfault.Clients, *localstack.Topology) {
	t.Helper()
	e := emu.Get(t)
	s := &scenarios.Scenario{Name: "probe-test", Environment: scenarios.Environment{"aws": &awsenv.Env{Region: "us-east-1", Endpoint: e.Endpoint}}}
	env := runner.NewEnv(s, nil)
	c := awsfault.NewConnector(awsfault.ConnectorOptions{Getenv: func(string) string { return "" }, PollInterval: 20 * time.Millisecond})
	if _, err := c.Connect(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	clients, err := awsfault.ClientsFrom(env)
	if err != nil {
		t.Fatal(err)
	}
	seedOnce.Do(func() {
		f, err := localstack.DefaultFixture()
		if err != nil {
			seedErr = err
			return
		}
		seeded, seedErr = localstack.Seed(context.Background(), clients.Config, f)
	})
	if seedErr != nil {
		t.Fatalf("seed: %v", seedErr)
	}
	return env, clients, seeded
}

func newProbe(t *testing.T, pt runner.ProbeType, cfg any, env *runner.Env) runner.Probe {
	t.Helper()
	p, err := pt.New(scenarios.ProbeSpec{Name: "p", Type: pt.Name, With: cfg, Timeout: 5 * time.Second}, env)
	if err != nil {
		t.Fatalf("%s: %v", pt.Name, err)
	}
	return p
}

func check(t *testing.T, p runner.Probe) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.Check(ctx)
}

func wantHealthy(t *testing.T, what string, p runner.Probe) {
	t.Helper()
	if err := check(t, p); err != nil {
		t.Errorf("%s: unhealthy: %v", what, err)
	}
}

func wantDown(t *testing.T, what string, p runner.Probe, contains string) {
	t.Helper()
	err := check(t, p)
	if err == nil {
		t.Errorf("%s: healthy, want down", what)
		return
	}
	if !strings.Contains(err.Error(), contains) {
		t.Errorf("%s: error %q does not mention %q", what, err, contains)
	}
}

// TestWarmStandbyProbes follows the warm-standby drill's probes through fault, recovery and
// revert against the emulator: each must go down and come back for the right reason.
func TestWarmStandbyProbes(t *testing.T) {
	env, _, _ := labEnv(t)
	ctx := context.Background()
	capacity := newProbe(t, EC2InstancesType(), &EC2InstancesConfig{
		Targets: awsfault.Targets{Tags: map[string]string{"app": "orders", "tier": "web"}}, State: "running", Min: 2, Regions: []string{"us-east-1", "us-west-2"},
	}, env)
	drGroup := newProbe(t, ASGInServiceType(), &ASGInServiceConfig{Group: "orders-web-dr", Min: 2, Region: "us-west-2"}, env)
	primaryHC := newProbe(t, Route53HealthCheckType(), &Route53HealthCheckConfig{
		Record: awsfault.RecordRef{Zone: "orders.example.com", Name: "app.orders.example.com", SetIdentifier: "primary"}, From: FromAuto}, env)
	answersDR := newProbe(t, Route53RecordType(), &Route53RecordConfig{
		Zone: "orders.example.com", Name: "app.orders.example.com", Expect: []string{"10.1.0.10"}, Method: MethodAuto, HealthFrom: FromAuto}, env)
	answersPrimary := newProbe(t, Route53RecordType(), &Route53RecordConfig{
		Zone: "orders.example.com", Name: "app.orders.example.com", Expect: []string{"10.0.0.10"}, Method: MethodAuto, HealthFrom: FromAuto}, env)

	wantHealthy(t, "web capacity before", capacity)
	wantDown(t, "DR group before scale-up", drGroup, "0 InService")
	wantHealthy(t, "primary health check before", primaryHC)
	wantHealthy(t, "name answers primary before", answersPrimary)
	wantDown(t, "name answers DR before", answersDR, "answers 10.0.0.10")

	stop, err := awsfault.StopInstancesType().New(&awsfault.StopInstancesConfig{Targets: awsfault.Targets{Tags: map[string]string{"app": "orders", "tier": "web", "site": "primary"}}}, env)
	if err != nil {
		t.Fatal(err)
	}
	breakHC, err := awsfault.BreakHealthCheckType().New(&awsfault.BreakHealthCheckConfig{Record: awsfault.RecordRef{Zone: "orders.example.com", Name: "app.orders.example.com", SetIdentifier: "primary"}}, env)
	if err != nil {
		t.Fatal(err)
	}
	stopped, err := stop.Inject(ctx)
	if err != nil {
		t.Fatal(err)
	}
	broken, err := breakHC.Inject(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantDown(t, "web capacity after stop", capacity, "0 running")
	wantDown(t, "primary health check after break", primaryHC, "inverted")
	// Route 53 failover routing: the unhealthy PRIMARY no longer answers.
	wantHealthy(t, "name answers DR after the break", answersDR)

	two := int32(2)
	scale, err := awsfault.SetDesiredCapacityType().New(&awsfault.SetDesiredCapacityConfig{Group: "orders-web-dr", Capacity: &two, Region: "us-west-2", Wait: true}, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := scale.Run(ctx); err != nil {
		t.Fatal(err)
	}
	wantHealthy(t, "web capacity after DR scale-up", capacity)
	wantHealthy(t, "DR group after scale-up", drGroup)

	rctx := context.WithoutCancel(ctx)
	if err := broken.Revert(rctx); err != nil {
		t.Fatal(err)
	}
	if err := stopped.Revert(rctx); err != nil {
		t.Fatal(err)
	}
	zero := int32(0)
	down, err := awsfault.SetDesiredCapacityType().New(&awsfault.SetDesiredCapacityConfig{Group: "orders-web-dr", Capacity: &zero, Region: "us-west-2"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := down.Run(rctx); err != nil {
		t.Fatal(err)
	}
	wantHealthy(t, "primary health check after revert", primaryHC)
	wantHealthy(t, "name answers primary after revert", answersPrimary)
	wantHealthy(t, "web capacity after revert", capacity)
}

func TestRDSInstanceProbe(t *testing.T) {
	env, c, _ := labEnv(t)
	p := newProbe(t, RDSInstanceType(), &RDSInstanceConfig{Instance: "orders-db", Status: "available"}, env)
	wantHealthy(t, "primary db", p)
	missing := newProbe(t, RDSInstanceType(), &RDSInstanceConfig{Instance: "no-such-db", Status: "available"}, env)
	wantDown(t, "missing db", missing, "no-such-db")
	// moto keeps the AZ on a forced failover, so azChanged cannot pass here; the judging is
	// covered by TestRDSJudge.
	az := newProbe(t, RDSInstanceType(), &RDSInstanceConfig{Instance: "orders-db", Status: "available", AZChanged: true}, env)
	wantDown(t, "azChanged before any failover", az, "still in")
	if _, err := c.RDS("").RebootDBInstance(context.Background(), &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String("orders-db"), ForceFailover: aws.Bool(true)}); err != nil {
		t.Fatalf("moto RebootDBInstance with ForceFailover: %v", err)
	}
	wantHealthy(t, "primary db after a forced failover", p)
}

func TestEC2VolumesProbe(t *testing.T) {
	env, _, _ := labEnv(t)
	restored := newProbe(t, EC2VolumesType(), &EC2VolumesConfig{Targets: awsfault.Targets{Tags: map[string]string{awsfault.TagScenario: "probe-test"}}, State: "available", Min: 1}, env)
	wantDown(t, "restored volume before restore", restored, "no volume matches")
	step, err := awsfault.RestoreVolumeType().New(&awsfault.RestoreVolumeConfig{
		Snapshots: awsfault.Targets{Tags: map[string]string{"app": "orders", "backup": "nightly"}}, AvailabilityZone: "us-east-1b", Wait: true}, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := step.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantHealthy(t, "restored volume", restored)
	del, err := awsfault.DeleteRestoredVolumesType().New(&awsfault.DeleteRestoredVolumesConfig{}, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := del.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantDown(t, "restored volume after rollback", restored, "no volume matches")
}
