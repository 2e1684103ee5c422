package localstack_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/localstack"
	"github.com/drillhq/drill/localstack/lstest"
	"github.com/drillhq/drill/resultstore"
)

var emu lstest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	emu.Close()
	os.Exit(code)
}

// createTable makes results tables with the results store's schema, as cmd/drill does.
func createTable(ctx context.Context, cfg aws.Config, name string) error {
	_, err := resultstore.CreateTable(ctx, dynamodb.NewFromConfig(cfg), name)
	return err
}

// A fixture with results tables needs a way to create them; without one Seed says so before
// calling anything (the endpoint below answers nothing).
func TestSeedNeedsTableCreator(t *testing.T) {
	t.Parallel()
	f, err := localstack.ParseFixture([]byte("primaryRegion: us-east-1\nresultsTables: [{region: us-east-1, name: T}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := localstack.ClientConfig(context.Background(), "us-east-1", "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := localstack.Seed(context.Background(), cfg, f, nil); err == nil || !strings.Contains(err.Error(), "no way to create them") {
		t.Fatalf("Seed without a table creator = %v", err)
	}
}

// Seeding must never follow the SDK to AWS when it is told to ignore configured endpoints.
func TestClientConfigRefusesIgnoredEndpoint(t *testing.T) {
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if _, err := localstack.ClientConfig(context.Background(), "us-east-1", "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "ignores configured endpoints") {
		t.Fatalf("ClientConfig with the endpoint ignored = %v", err)
	}
}

func TestFixtureRejectsUnknownKeys(t *testing.T) {
	t.Parallel()
	_, err := localstack.ParseFixture([]byte("primaryRegion: us-east-1\nautoscalingGroups: []\n"))
	if err == nil {
		t.Fatal("a misspelled key was accepted")
	}
}

// TestSeedDRTopology seeds the shipped fixture and reads the topology back the way the drills
// see it: by tag, by group, by record.
func TestSeedDRTopology(t *testing.T) {
	e := emu.Get(t)
	ctx := context.Background()
	cfg, err := localstack.ClientConfig(ctx, "us-east-1", e.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	f, err := localstack.DefaultFixture()
	if err != nil {
		t.Fatal(err)
	}
	top, err := localstack.Seed(ctx, cfg, f, createTable)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}

	west := cfg.Copy()
	west.Region = "us-west-2"
	// Each service is its own subtest so an emulator lacking one still checks the others.
	t.Run("autoscaling", func(t *testing.T) {
		e.Require(t, "autoscaling")
		checkGroups(t, ctx, cfg, west)
	})
	t.Run("ec2", func(t *testing.T) { checkInstances(t, ctx, cfg, west, top) })
	t.Run("rds", func(t *testing.T) {
		e.Require(t, "rds")
		checkReplica(t, ctx, west, top)
	})
	t.Run("route53", func(t *testing.T) { checkRecords(t, ctx, cfg, top) })
}

func checkGroups(t *testing.T, ctx context.Context, cfg, west aws.Config) {
	groups := map[string]int{}
	for _, c := range []aws.Config{cfg, west} {
		out, err := autoscaling.NewFromConfig(c).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range out.AutoScalingGroups {
			groups[aws.ToString(g.AutoScalingGroupName)] = len(g.Instances)
		}
	}
	if diff := cmp.Diff(map[string]int{"orders-web-primary": 2, "orders-web-dr": 0}, groups); diff != "" {
		t.Errorf("auto-scaling groups (name -> instances) (-want +got):\n%s", diff)
	}

	// Group tags propagate to the group's instances.
	if n := countByTag(t, ctx, cfg, "web", "running"); n != 2 {
		t.Errorf("running primary web instances tagged tier=web: %d, want 2 (group tags must propagate)", n)
	}
}

func checkInstances(t *testing.T, ctx context.Context, cfg, west aws.Config, top *localstack.Topology) {
	if n := countByTag(t, ctx, west, "web-pilot", "stopped"); n != 2 {
		t.Errorf("stopped pilot-light instances: %d, want 2", n)
	}
	if len(top.Snapshots["orders-db-host"]) != 1 {
		t.Errorf("snapshots of the db host volume: %v, want 1", top.Snapshots)
	}
}

func countByTag(t *testing.T, ctx context.Context, c aws.Config, tier, state string) int {
	t.Helper()
	out, err := ec2.NewFromConfig(c).DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:tier"), Values: []string{tier}},
		{Name: aws.String("instance-state-name"), Values: []string{state}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range out.Reservations {
		n += len(r.Instances)
	}
	return n
}

func checkReplica(t *testing.T, ctx context.Context, west aws.Config, top *localstack.Topology) {
	replica, err := rds.NewFromConfig(west).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("orders-db-dr")})
	if err != nil {
		t.Fatal(err)
	}
	if src := aws.ToString(replica.DBInstances[0].ReadReplicaSourceDBInstanceIdentifier); src != top.Databases["orders-db"] {
		t.Errorf("DR replica source = %q, want %q", src, top.Databases["orders-db"])
	}
}

func checkRecords(t *testing.T, ctx context.Context, cfg aws.Config, top *localstack.Topology) {
	recs, err := route53.NewFromConfig(cfg).ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(top.ZoneID)})
	if err != nil {
		t.Fatal(err)
	}
	failover := map[string]string{}
	for _, r := range recs.ResourceRecordSets {
		if r.SetIdentifier != nil {
			failover[aws.ToString(r.SetIdentifier)] = string(r.Failover) + " " + aws.ToString(r.ResourceRecords[0].Value) + " hc=" + aws.ToString(r.HealthCheckId)
		}
	}
	want := map[string]string{
		"primary":   "PRIMARY 10.0.0.10 hc=" + top.HealthChecks["orders-primary"],
		"secondary": "SECONDARY 10.1.0.10 hc=" + top.HealthChecks["orders-dr"],
	}
	if diff := cmp.Diff(want, failover); diff != "" {
		t.Errorf("failover records (-want +got):\n%s", diff)
	}
}

// TestLabUpDown starts the lab's own detached emulator (DRILL_TEST_EMULATOR's, moto by
// default), checks it is reused by a second LabUp and gone after LabDown.
func TestLabUpDown(t *testing.T) {
	emulator, err := lstest.Chosen()
	if err != nil {
		t.Fatal(err)
	}
	if emulator == localstack.EmulatorLocalStack {
		if _, err := localstack.FindLocalStackPython(nil); err != nil {
			t.Fatalf("%s=%s: %v", lstest.EnvEmulator, emulator, err)
		}
	} else if _, err := localstack.FindMotoServer(nil); err != nil {
		t.Skipf("moto not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "lab") // LabDown removes it
	up, err := localstack.LabUp(ctx, dir, localstack.LabOptions{Emulator: emulator, CreateTable: createTable})
	if err != nil {
		t.Fatalf("LabUp: %v", err)
	}
	ep := up.Endpoint
	t.Cleanup(func() { _, _ = localstack.LabDown(context.Background(), dir) })
	st, running, err := localstack.LabStatus(ctx, dir)
	if err != nil || !running {
		t.Fatalf("LabStatus after LabUp: running=%v err=%v", running, err)
	}
	if st.Endpoint != ep || st.Topology == nil || st.Topology.ZoneID == "" {
		t.Errorf("state = %+v, want endpoint %s and a seeded topology", st, ep)
	}
	if emulator == localstack.EmulatorLocalStack && len(st.Topology.Skipped) == 0 {
		t.Errorf("LocalStack's community runtime seeded everything; want Auto Scaling and RDS noted as skipped")
	}
	again, err := localstack.LabUp(ctx, dir, localstack.LabOptions{Emulator: emulator, CreateTable: createTable})
	if err != nil || again.Endpoint != ep {
		t.Errorf("second LabUp = %+v, %v; want the running lab %q", again, err, ep)
	}
	if wasUp, err := localstack.LabDown(ctx, dir); err != nil || !wasUp {
		t.Fatalf("LabDown = %v, %v; want the lab taken down", wasUp, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(dir)
		t.Errorf("lab directory still there after LabDown (%v): %v", err, entries)
	}
	if localstack.Ready(ctx, ep) == nil {
		t.Errorf("emulator at %s still answers after LabDown", ep)
	}
}
