package awsprobe

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/drillhq/drill/backends/awsenv"
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
func labEnv(t *testing.T) (*runner.Env, *awsenv.Clients, *localstack.Topology) {
	t.Helper()
	e := emu.Get(t)
	s := &scenarios.Scenario{Name: "probe-test", Environment: scenarios.Environment{"aws": &awsenv.Env{Region: "us-east-1", Endpoint: e.Endpoint}}}
	env := runner.NewEnv(s, nil)
	c := awsenv.NewConnector(awsenv.ConnectorOptions{Getenv: func(string) string { return "" }, PollInterval: 20 * time.Millisecond})
	if _, err := c.Connect(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	clients, err := awsenv.ClientsFrom(env)
	if err != nil {
		t.Fatal(err)
	}
	seedOnce.Do(func() {
		f, err := localstack.DefaultFixture()
		if err != nil {
			seedErr = err
			return
		}
		f.ResultsTables = nil // probes never read the results table
		seeded, seedErr = localstack.Seed(context.Background(), clients.Config, f, nil)
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

// TestWarmStandbyProbes follows the warm-standby drill's probes through the outage, the
// recovery and its undoing against the emulator: each must go down and come back for the right
// reason. The world is changed with plain SDK calls, as the outage and the runbook would.
func TestWarmStandbyProbes(t *testing.T) {
	emu.Get(t).Require(t, "autoscaling", "route53")
	env, c, _ := labEnv(t)
	ctx := context.Background()
	primaryRecord := awsenv.RecordRef{Zone: "orders.example.com", Name: "app.orders.example.com", SetIdentifier: "primary"}
	capacity := newProbe(t, EC2InstancesType(), &EC2InstancesConfig{
		Targets: awsenv.Targets{Tags: map[string]string{"app": "orders", "tier": "web"}}, State: "running", Min: 2, Regions: []string{"us-east-1", "us-west-2"},
	}, env)
	drGroup := newProbe(t, ASGInServiceType(), &ASGInServiceConfig{Group: "orders-web-dr", Min: 2, Region: "us-west-2"}, env)
	primaryHC := newProbe(t, Route53HealthCheckType(), &Route53HealthCheckConfig{Record: primaryRecord, From: FromAuto}, env)
	answersDR := newProbe(t, Route53RecordType(), &Route53RecordConfig{
		Zone: "orders.example.com", Name: "app.orders.example.com", Expect: []string{"10.1.0.10"}, Method: MethodAuto, HealthFrom: FromAuto}, env)
	answersPrimary := newProbe(t, Route53RecordType(), &Route53RecordConfig{
		Zone: "orders.example.com", Name: "app.orders.example.com", Expect: []string{"10.0.0.10"}, Method: MethodAuto, HealthFrom: FromAuto}, env)

	wantHealthy(t, "web capacity before", capacity)
	wantDown(t, "DR group before scale-up", drGroup, "0 InService")
	wantHealthy(t, "primary health check before", primaryHC)
	wantHealthy(t, "name answers primary before", answersPrimary)
	wantDown(t, "name answers DR before", answersDR, "answers 10.0.0.10")

	// The outage: the primary web instances stop and the primary's health check fails.
	ec2api := c.EC2("")
	primaryWeb, err := awsenv.ResolveInstances(ctx, ec2api, awsenv.Targets{Tags: map[string]string{"app": "orders", "tier": "web", "site": "primary"}}, 0, "running")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ec2api.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: primaryWeb}); err != nil {
		t.Fatal(err)
	}
	hcID, err := awsenv.ResolveHealthCheckID(ctx, c.Route53(), "", primaryRecord)
	if err != nil {
		t.Fatal(err)
	}
	invert := func(inverted bool) {
		t.Helper()
		if _, err := c.Route53().UpdateHealthCheck(ctx, &route53.UpdateHealthCheckInput{HealthCheckId: &hcID, Inverted: aws.Bool(inverted)}); err != nil {
			t.Fatal(err)
		}
	}
	invert(true)
	wantDown(t, "web capacity after stop", capacity, "0 running")
	wantDown(t, "primary health check after break", primaryHC, "inverted")
	// Route 53 failover routing: the unhealthy PRIMARY no longer answers.
	wantHealthy(t, "name answers DR after the break", answersDR)

	// The recovery: the DR group scales up.
	scaleDR(t, c, 2, true)
	wantHealthy(t, "web capacity after DR scale-up", capacity)
	wantHealthy(t, "DR group after scale-up", drGroup)

	// Undoing it all.
	invert(false)
	if _, err := ec2api.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: primaryWeb}); err != nil {
		t.Fatal(err)
	}
	scaleDR(t, c, 0, false)
	wantHealthy(t, "primary health check after revert", primaryHC)
	wantHealthy(t, "name answers primary after revert", answersPrimary)
	wantHealthy(t, "web capacity after revert", capacity)
}

// scaleDR sets the DR group's desired capacity and, with wait, waits for that many InService
// instances.
func scaleDR(t *testing.T, c *awsenv.Clients, n int32, wait bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	api := c.AutoScaling("us-west-2")
	if _, err := api.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String("orders-web-dr"), DesiredCapacity: &n}); err != nil {
		t.Fatal(err)
	}
	for wait {
		g, err := awsenv.DescribeGroup(ctx, api, "orders-web-dr")
		if err != nil {
			t.Fatal(err)
		}
		if awsenv.InService(g) >= int(n) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("DR group: %d InService, want %d", awsenv.InService(g), n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestRDSInstanceProbe(t *testing.T) {
	emu.Get(t).Require(t, "rds")
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
	env, c, _ := labEnv(t)
	ctx := context.Background()
	restored := newProbe(t, EC2VolumesType(), &EC2VolumesConfig{Targets: awsenv.Targets{Tags: map[string]string{"drill:scenario": "probe-test"}}, State: "available", Min: 1}, env)
	wantDown(t, "restored volume before restore", restored, "no volume matches")
	api := c.EC2("")
	snap, err := awsenv.LatestSnapshot(ctx, api, awsenv.Targets{Tags: map[string]string{"app": "orders", "backup": "nightly"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := api.CreateVolume(ctx, &ec2.CreateVolumeInput{SnapshotId: snap.SnapshotId, AvailabilityZone: aws.String("us-east-1b"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVolume,
			Tags: []ec2types.Tag{{Key: aws.String("drill:scenario"), Value: aws.String("probe-test")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	wantHealthy(t, "restored volume", restored)
	if _, err := api.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: out.VolumeId}); err != nil {
		t.Fatal(err)
	}
	wantDown(t, "restored volume after rollback", restored, "no volume matches")
}
