package awsfault

import (
	"context"
	"sort"
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
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/localstack"
	"github.com/drillhq/drill/localstack/lstest"
	"github.com/drillhq/drill/runner"
)

var (
	seedOnce sync.Once
	seeded   *localstack.Topology
	seedErr  error
)

// topology seeds the shipped DR fixture into the package's emulator once.
func topology(t *testing.T, c *awsenv.Clients) *localstack.Topology {
	t.Helper()
	seedOnce.Do(func() {
		f, err := localstack.DefaultFixture()
		if err != nil {
			seedErr = err
			return
		}
		f.ResultsTables = nil // faults never touch the results table
		seeded, seedErr = localstack.Seed(context.Background(), c.Config, f, nil)
	})
	if seedErr != nil {
		t.Fatalf("seed DR topology: %v", seedErr)
	}
	return seeded
}

// world is what a describe of the DR topology shows, reduced to what a drill may change.
// Terminated instances are left out: AWS forgets them within the hour.
type world struct {
	Instances    map[string]string // region/id -> state
	Groups       map[string]group
	HealthChecks map[string]r53types.HealthCheckConfig
	Records      map[string]record
	Databases    map[string]database
	Volumes      map[string]string // id -> state
}

type group struct {
	Min, Max, Desired int32
	Suspended         []string
	InService         int
}

type record struct {
	Failover, HealthCheck string
	TTL                   int64
	Values                []string
}

type database struct {
	Status, AZ, ReplicaOf string
	MultiAZ               bool
}

func describeWorld(t *testing.T, c *awsenv.Clients, zoneID string) world {
	t.Helper()
	ctx := context.Background()
	w := world{Instances: map[string]string{}, Groups: map[string]group{}, HealthChecks: map[string]r53types.HealthCheckConfig{},
		Records: map[string]record{}, Databases: map[string]database{}, Volumes: map[string]string{}}
	for _, region := range []string{"us-east-1", "us-west-2"} {
		found, err := awsenv.ListInstances(ctx, c.EC2(region), []ec2types.Filter{{Name: aws.String("tag:app"), Values: []string{"orders"}}}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range found {
			if i.State != "terminated" {
				w.Instances[region+"/"+i.ID] = i.State
			}
		}
		gs, err := c.AutoScaling(region).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gs.AutoScalingGroups {
			var sus []string
			for _, p := range g.SuspendedProcesses {
				sus = append(sus, aws.ToString(p.ProcessName))
			}
			sort.Strings(sus)
			w.Groups[aws.ToString(g.AutoScalingGroupName)] = group{aws.ToInt32(g.MinSize), aws.ToInt32(g.MaxSize), aws.ToInt32(g.DesiredCapacity), sus, awsenv.InService(&g)}
		}
		dbs, err := c.RDS(region).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dbs.DBInstances {
			w.Databases[aws.ToString(d.DBInstanceIdentifier)] = database{aws.ToString(d.DBInstanceStatus), aws.ToString(d.AvailabilityZone), aws.ToString(d.ReadReplicaSourceDBInstanceIdentifier), aws.ToBool(d.MultiAZ)}
		}
		vols, err := c.EC2(region).DescribeVolumes(ctx, &ec2.DescribeVolumesInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vols.Volumes {
			if v.State != ec2types.VolumeStateDeleted {
				w.Volumes[aws.ToString(v.VolumeId)] = string(v.State)
			}
		}
	}
	hcs, err := c.Route53().ListHealthChecks(ctx, &route53.ListHealthChecksInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hcs.HealthChecks {
		w.HealthChecks[aws.ToString(h.Id)] = *h.HealthCheckConfig
	}
	recs, err := c.Route53().ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs.ResourceRecordSets {
		key := aws.ToString(r.Name) + " " + string(r.Type) + " " + aws.ToString(r.SetIdentifier)
		w.Records[key] = record{string(r.Failover), aws.ToString(r.HealthCheckId), aws.ToInt64(r.TTL), awsenv.RecordValues(r)}
	}
	return w
}

var worldOpts = cmp.Options{cmpopts.IgnoreUnexported(r53types.HealthCheckConfig{}, r53types.AlarmIdentifier{})}

type stepFn func(context.Context) error

// TestRollbackLeavesEmulatorAsBefore drives a warm-standby style drill the way the runner
// does (inject, recovery steps, revert in reverse order, rollback steps) against the seeded
// DR topology, and compares a describe of everything before and after.
func TestRollbackLeavesEmulatorAsBefore(t *testing.T) {
	emu.Get(t).Require(t, "autoscaling", "rds")
	env, c := connect(t, "rollback-as-before", nil, 0)
	top := topology(t, c)
	ctx := context.Background()
	before := describeWorld(t, c, top.ZoneID)

	suspend := &SuspendProcessesConfig{Group: "orders-web-primary", Processes: []string{"Launch", "HealthCheck", "ReplaceUnhealthy"}}
	stop := &StopInstancesConfig{Targets: awsenv.Targets{Tags: map[string]string{"app": "orders", "tier": "web", "site": "primary"}}}
	breakHC := &BreakHealthCheckConfig{Record: awsenv.RecordRef{Zone: "orders.example.com", Name: "app.orders.example.com", SetIdentifier: "primary"}}
	var faults []runner.Fault
	for _, f := range []struct {
		t   runner.FaultType
		cfg any
	}{{SuspendProcessesType(), suspend}, {StopInstancesType(), stop}, {BreakHealthCheckType(), breakHC}} {
		fault, err := f.t.New(f.cfg, env)
		if err != nil {
			t.Fatal(err)
		}
		faults = append(faults, fault)
	}
	two, zero := int32(2), int32(0)
	step := func(st runner.StepType, cfg any) stepFn {
		s, err := st.New(cfg, env)
		if err != nil {
			t.Fatalf("%s: %v", st.Name, err)
		}
		return s.Run
	}
	recovery := []stepFn{
		step(SetDesiredCapacityType(), &SetDesiredCapacityConfig{Group: "orders-web-dr", Capacity: &two, Wait: true, Region: "us-west-2"}),
		step(UpsertRecordType(), &UpsertRecordConfig{Zone: "orders.example.com", Name: "app.orders.example.com", SetIdentifier: "primary", Values: []string{"10.1.0.10"}}),
		step(StartInstancesType(), &StartInstancesConfig{Targets: awsenv.Targets{Tags: map[string]string{"tier": "web-pilot"}}, Region: "us-west-2"}),
		step(RestoreVolumeType(), &RestoreVolumeConfig{Snapshots: awsenv.Targets{Tags: map[string]string{"app": "orders", "backup": "nightly"}}, AvailabilityZone: "us-east-1a", Wait: true}),
		step(PublishType(), &PublishConfig{TopicArn: top.Topics["dr-drills"], Message: "drill {scenario} on {system}: failing over"}),
	}
	rollback := []stepFn{
		step(SetDesiredCapacityType(), &SetDesiredCapacityConfig{Group: "orders-web-dr", Capacity: &zero, Region: "us-west-2"}),
		step(UpsertRecordType(), &UpsertRecordConfig{Zone: "orders.example.com", Name: "app.orders.example.com", SetIdentifier: "primary", Values: []string{"10.0.0.10"}}),
		step(StopInstancesStepType(), &StopInstancesConfig{Targets: awsenv.Targets{Tags: map[string]string{"tier": "web-pilot"}}, Region: "us-west-2"}),
		step(DeleteRestoredVolumesType(), &DeleteRestoredVolumesConfig{}),
	}

	var injections []runner.Injection
	for i, f := range faults {
		inj, err := f.Inject(ctx)
		if err != nil {
			t.Fatalf("inject fault %d: %v", i, err)
		}
		injections = append(injections, inj)
	}
	for i, s := range recovery {
		if err := s(ctx); err != nil {
			t.Fatalf("recovery step %d: %v", i, err)
		}
	}
	// The EBS restore reports the snapshot it used as the recovery point, so a drill without a
	// data probe can judge its RPO by it.
	if pts := env.RestorePoints(); len(pts) != 1 || pts[0].At.IsZero() || pts[0].At.After(time.Now()) || !strings.Contains(pts[0].What, "snap-") {
		t.Errorf("restore points %+v, want the restored snapshot's start time", pts)
	}
	during := describeWorld(t, c, top.ZoneID)
	// The drill must have changed what the comparison looks at, or "as before" proves nothing.
	diff := cmp.Diff(before, during, worldOpts)
	for _, want := range []string{"stopped", "Launch", "Inverted", "10.1.0.10", "Desired"} {
		if !strings.Contains(diff, want) {
			t.Errorf("during the drill the describe does not show %q changed; diff:\n%s", want, diff)
		}
	}

	rctx := context.WithoutCancel(ctx)
	for i := len(injections) - 1; i >= 0; i-- {
		if injections[i].Revert != nil {
			if err := injections[i].Revert(rctx); err != nil {
				t.Errorf("revert fault %d: %v", i, err)
			}
		}
	}
	for i, s := range rollback {
		if err := s(rctx); err != nil {
			t.Errorf("rollback step %d: %v", i, err)
		}
	}
	after := describeWorld(t, c, top.ZoneID)
	if diff := cmp.Diff(before, after, worldOpts); diff != "" {
		t.Errorf("emulator not as before the drill (-before +after):\n%s", diff)
	}
}

// TestBreakHealthCheckRevertRestoresExactConfig breaks health checks of several shapes and
// checks revert writes back exactly the configuration found before. (An inverted check is
// refused, see TestInjectRefusesTargetNotInSteadyState.)
func TestBreakHealthCheckRevertRestoresExactConfig(t *testing.T) {
	t.Parallel()
	lstest.KnownBug(t, lstest.KindLocalStackHost, lstest.BugRoute53FalseFlags)
	env, c := connect(t, "health-check", nil, 0)
	ctx := context.Background()
	api := c.Route53()
	configs := map[string]*r53types.HealthCheckConfig{
		"https": {Type: r53types.HealthCheckTypeHttps, FullyQualifiedDomainName: aws.String("primary.example.com"), IPAddress: aws.String("10.0.0.10"),
			Port: aws.Int32(443), ResourcePath: aws.String("/health"), RequestInterval: aws.Int32(10), FailureThreshold: aws.Int32(2), EnableSNI: aws.Bool(true)},
		"string-match": {Type: r53types.HealthCheckTypeHttpStrMatch, IPAddress: aws.String("10.0.0.11"), Port: aws.Int32(80), ResourcePath: aws.String("/status"),
			SearchString: aws.String("OK"), RequestInterval: aws.Int32(30), FailureThreshold: aws.Int32(3)},
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			out, err := api.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("test-" + name), HealthCheckConfig: cfg})
			if err != nil {
				t.Fatal(err)
			}
			id := aws.ToString(out.HealthCheck.Id)
			before, err := awsenv.HealthCheck(ctx, api, id)
			if err != nil {
				t.Fatal(err)
			}
			f, err := BreakHealthCheckType().New(&BreakHealthCheckConfig{HealthCheckID: id}, env)
			if err != nil {
				t.Fatal(err)
			}
			inj, err := f.Inject(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{id}, inj.Targets); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
			broken, err := awsenv.HealthCheck(ctx, api, id)
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToBool(broken.HealthCheckConfig.Inverted) == aws.ToBool(before.HealthCheckConfig.Inverted) {
				t.Fatalf("inject did not invert the health check: inverted=%v", aws.ToBool(broken.HealthCheckConfig.Inverted))
			}
			if err := inj.Revert(context.WithoutCancel(ctx)); err != nil {
				t.Fatal(err)
			}
			after, err := awsenv.HealthCheck(ctx, api, id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before.HealthCheckConfig, after.HealthCheckConfig, worldOpts); diff != "" {
				t.Errorf("config after revert differs (-before +after):\n%s", diff)
			}
		})
	}
}
