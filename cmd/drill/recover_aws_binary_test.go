package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/drillhq/drill/localstack"
	"github.com/drillhq/drill/localstack/lstest"
)

// TestBinarySIGKILLAWSThenRecover SIGKILLs the built binary after an AWS fault injected against
// the emulator (its revert never runs), then checks that `drill recover --list` names it and
// `drill recover` undoes it from the journal alone, once: stopped instances run again; an
// inverted health check has its config from before the drill (go-cmp); suspended processes
// are resumed; an RDS cluster failed over is failed back to its writer; SSM's revert commands
// are sent to the instances. Neither moto nor
// LocalStack runs SSM commands, so for SSM what the emulator recorded (ListCommands) is checked.
func TestBinarySIGKILLAWSThenRecover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary against an AWS emulator")
	}
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		services []string // LocalStack's names of what the case needs
		// seed creates what the fault breaks and returns its `with:` block, the target --list
		// must show and a check of the emulator's state after the SIGKILL (recovered=false)
		// and after each recover (recovered=true).
		seed func(t *testing.T, cfg aws.Config) (with, target string, check func(recovered bool) error)
		bug  string // a known bug of LocalStack's host runtime that makes the case fail there
	}{
		{name: "ec2-stop-instances", services: []string{"ec2"}, seed: seedStopInstances},
		{name: "route53-break-health-check", services: []string{"route53"}, seed: seedBreakHealthCheck, bug: lstest.BugRoute53FalseFlags},
		{name: "autoscaling-suspend-processes", services: []string{"ec2", "autoscaling"}, seed: seedSuspendProcesses},
		{name: "rds-failover-db-cluster", services: []string{"rds"}, seed: seedFailover},
		{name: "ssm-send-command", services: []string{"ec2", "ssm"}, seed: seedSendCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lstest.SkipUnserved(t, tt.services...)
			if tt.bug != "" {
				lstest.KnownBug(t, lstest.KindLocalStackHost, tt.bug)
			}
			emu := lstest.ForTest(t, lstest.StartOwn)
			emu.Require(t, tt.services...)
			bin, err := buildOnce()
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := localstack.ClientConfig(ctx, "us-east-1", emu.Endpoint)
			if err != nil {
				t.Fatal(err)
			}
			with, target, check := tt.seed(t, cfg)
			dir := t.TempDir()
			scen := filepath.Join(dir, "aws.yaml")
			if err := os.WriteFile(scen, []byte(fmt.Sprintf(`version: 1
name: %[1]s
system: %[1]s
objectives: { rto: 10s }
environment:
  aws: { region: us-east-1, endpoint: %[2]s }
probes:
  - { name: up, type: command, interval: 50ms, timeout: 1s, with: { run: "true" } }
steadyState: [up]
faults:
  - name: mark
    type: %[3]s
limits: { timeout: 5m, observe: 4m }
`, tt.name, emu.Endpoint, with)), 0o644); err != nil {
				t.Fatal(err)
			}
			state := filepath.Join(dir, "state")
			d := drillBin{t: t, bin: filepath.Join(bin, "drill"), env: append(os.Environ(), "DRILL_HISTORY="+filepath.Join(state, "history.db"),
				"AWS_EC2_METADATA_DISABLED=true", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_ENDPOINT_URL=")}

			first, log := d.startUntilInjected("-q=false", scen)
			sigkill(t, first)
			if err := check(false); err != nil {
				t.Fatalf("after SIGKILL: %v (the fault must still be in place)\n%s", err, log)
			}
			code, stdout, stderr := d.run("recover", "--list")
			if code != 0 || !strings.Contains(stdout, "mark") || !strings.Contains(stdout, target) || !strings.Contains(stdout, "killed drill") {
				t.Errorf("recover --list: exit %d, want fault mark on %s left by a killed drill\nstdout:\n%s\nstderr:\n%s", code, target, stdout, stderr)
			}
			code, stdout, stderr = d.run("recover")
			if code != 0 {
				t.Fatalf("recover: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if err := check(true); err != nil {
				t.Errorf("after recover: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
			code, stdout, _ = d.run("recover")
			if code != 0 || !strings.Contains(stdout, "nothing to recover") {
				t.Errorf("second recover: exit %d, want 0 and nothing to do\n%s", code, stdout)
			}
			if err := check(true); err != nil {
				t.Errorf("after the second recover: %v", err)
			}
		})
	}
}

// seedFailover creates a two-member Aurora cluster (moto makes the first member the writer and
// swaps writers on FailoverDBCluster); the fault fails it over with failBack.
func seedFailover(t *testing.T, cfg aws.Config) (with, target string, check func(bool) error) {
	t.Helper()
	ctx := context.Background()
	api := rds.NewFromConfig(cfg)
	if _, err := api.CreateDBCluster(ctx, &rds.CreateDBClusterInput{DBClusterIdentifier: aws.String("orders"), Engine: aws.String("aurora-postgresql"),
		MasterUsername: aws.String("u"), MasterUserPassword: aws.String("password1")}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"orders-1", "orders-2"} {
		if _, err := api.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(m), DBClusterIdentifier: aws.String("orders"),
			Engine: aws.String("aurora-postgresql"), DBInstanceClass: aws.String("db.r6g.large")}); err != nil {
			t.Fatal(err)
		}
	}
	writer := func() (string, error) {
		out, err := api.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String("orders")})
		if err != nil {
			return "", err
		}
		for _, m := range out.DBClusters[0].DBClusterMembers {
			if aws.ToBool(m.IsClusterWriter) {
				return aws.ToString(m.DBInstanceIdentifier), nil
			}
		}
		return "", nil
	}
	if w, err := writer(); err != nil || w != "orders-1" {
		t.Fatalf("writer before the drill %q (%v), want orders-1", w, err)
	}
	return "aws:rds:failover-db-cluster\n    with: { cluster: orders, failBack: true }", "orders", func(recovered bool) error {
		want := map[bool]string{false: "orders-2", true: "orders-1"}[recovered]
		if w, err := writer(); err != nil || w != want {
			return fmt.Errorf("writer %q (%v), want %s", w, err, want)
		}
		return nil
	}
}

// seedSendCommand launches one instance; the fault stops a service on it with revertCommands.
// It runs in a region of its own: moto adds every instance of the region to a command.
func seedSendCommand(t *testing.T, cfg aws.Config) (with, target string, check func(bool) error) {
	t.Helper()
	ctx := context.Background()
	const region = "eu-north-1"
	cfg = cfg.Copy()
	cfg.Region = region
	out, err := ec2.NewFromConfig(cfg).RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	api := ssm.NewFromConfig(cfg)
	// sent lists the commands sent to the instance with a comment drill gives ("drill inject",
	// "drill recover"), as the emulator recorded them.
	sent := func(comment string) ([][]string, error) {
		var cmds [][]string
		out, err := api.ListCommands(ctx, &ssm.ListCommandsInput{InstanceId: aws.String(id)})
		if err != nil {
			return nil, err
		}
		for _, c := range out.Commands {
			if aws.ToString(c.Comment) == comment && aws.ToString(c.DocumentName) == "AWS-RunShellScript" && slices.Contains(c.InstanceIds, id) {
				cmds = append(cmds, c.Parameters["commands"])
			}
		}
		return cmds, nil
	}
	recoveries := 0 // recover sends the revert commands each time it has something to do: once
	with = fmt.Sprintf("aws:ssm:send-command\n    with: { targets: { ids: [%s] }, region: %s, commands: [\"systemctl stop orders\"], revertCommands: [\"systemctl start orders\"] }", id, region)
	return with, id, func(recovered bool) error {
		if recovered {
			recoveries = 1
		}
		inject, err := sent("drill inject")
		if err != nil {
			return err
		}
		rec, err := sent("drill recover")
		if err != nil {
			return err
		}
		want := slices.Repeat([][]string{{"systemctl start orders"}}, recoveries)
		if len(inject) != 1 || !slices.Equal(inject[0], []string{"systemctl stop orders"}) || len(rec) != len(want) || (len(rec) == 1 && !slices.Equal(rec[0], want[0])) {
			return fmt.Errorf("emulator recorded inject commands %q and recover commands %q, want [[systemctl stop orders]] and %q", inject, rec, want)
		}
		return nil
	}
}

// seedStopInstances launches two instances; the fault stops the first, the other must never
// change.
func seedStopInstances(t *testing.T, cfg aws.Config) (with, target string, check func(bool) error) {
	t.Helper()
	ctx := context.Background()
	api := ec2.NewFromConfig(cfg)
	out, err := api.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(2), MaxCount: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	hit, spared := aws.ToString(out.Instances[0].InstanceId), aws.ToString(out.Instances[1].InstanceId)
	states := func() (map[string]ec2types.InstanceStateName, error) {
		d, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{hit, spared}})
		if err != nil {
			return nil, err
		}
		m := map[string]ec2types.InstanceStateName{}
		for _, r := range d.Reservations {
			for _, i := range r.Instances {
				m[aws.ToString(i.InstanceId)] = i.State.Name
			}
		}
		return m, nil
	}
	return "aws:ec2:stop-instances\n    with: { targets: { ids: [" + hit + "] } }", hit, func(recovered bool) error {
		want := map[bool]ec2types.InstanceStateName{false: ec2types.InstanceStateNameStopped, true: ec2types.InstanceStateNameRunning}[recovered]
		got, err := states()
		if err != nil {
			return err
		}
		if got[hit] != want || got[spared] != ec2types.InstanceStateNameRunning {
			return fmt.Errorf("states %v, want %s %s and %s running", got, hit, want, spared)
		}
		return nil
	}
}

// seedBreakHealthCheck creates a health check; the fault inverts it, and recover must write
// back its config exactly as it was.
func seedBreakHealthCheck(t *testing.T, cfg aws.Config) (with, target string, check func(bool) error) {
	t.Helper()
	ctx := context.Background()
	api := route53.NewFromConfig(cfg)
	out, err := api.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("binary-recover-hc"),
		HealthCheckConfig: &r53types.HealthCheckConfig{Type: r53types.HealthCheckTypeHttps, FullyQualifiedDomainName: aws.String("primary.example.com"),
			IPAddress: aws.String("10.0.0.31"), Port: aws.Int32(443), ResourcePath: aws.String("/health"), RequestInterval: aws.Int32(10),
			FailureThreshold: aws.Int32(2), EnableSNI: aws.Bool(true)}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.HealthCheck.Id)
	config := func() (*r53types.HealthCheckConfig, error) {
		hc, err := api.GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: aws.String(id)})
		if err != nil {
			return nil, err
		}
		return hc.HealthCheck.HealthCheckConfig, nil
	}
	before, err := config()
	if err != nil {
		t.Fatal(err)
	}
	opts := cmpopts.IgnoreUnexported(r53types.HealthCheckConfig{}, r53types.AlarmIdentifier{})
	return "aws:route53:break-health-check\n    with: { healthCheckId: " + id + " }", id, func(recovered bool) error {
		now, err := config()
		if err != nil {
			return err
		}
		if !recovered {
			if !aws.ToBool(now.Inverted) {
				return fmt.Errorf("health check %s is not inverted", id)
			}
			return nil
		}
		if diff := cmp.Diff(before, now, opts); diff != "" {
			return fmt.Errorf("health check %s config differs from before the drill (-before +now):\n%s", id, diff)
		}
		return nil
	}
}

// seedSuspendProcesses creates an auto-scaling group; the fault suspends two of its processes.
func seedSuspendProcesses(t *testing.T, cfg aws.Config) (with, target string, check func(bool) error) {
	t.Helper()
	ctx := context.Background()
	const group = "binary-recover-asg"
	if _, err := ec2.NewFromConfig(cfg).CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(group),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String("ami-12c6146b"), InstanceType: ec2types.InstanceTypeT3Micro}}); err != nil {
		t.Fatal(err)
	}
	api := autoscaling.NewFromConfig(cfg)
	if _, err := api.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(group),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String(group)}, MinSize: aws.Int32(0), MaxSize: aws.Int32(1),
		AvailabilityZones: []string{"us-east-1a"}}); err != nil {
		t.Fatal(err)
	}
	return "aws:autoscaling:suspend-processes\n    with: { group: " + group + ", processes: [Launch, HealthCheck] }", group, func(recovered bool) error {
		out, err := api.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
		if err != nil {
			return err
		}
		if len(out.AutoScalingGroups) != 1 {
			return fmt.Errorf("group %s: %d groups described", group, len(out.AutoScalingGroups))
		}
		var got []string
		for _, p := range out.AutoScalingGroups[0].SuspendedProcesses {
			got = append(got, aws.ToString(p.ProcessName))
		}
		slices.Sort(got)
		want := map[bool][]string{false: {"HealthCheck", "Launch"}, true: nil}[recovered]
		if !slices.Equal(got, want) {
			return fmt.Errorf("suspended processes %v, want %v", got, want)
		}
		return nil
	}
}
