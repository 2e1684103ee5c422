package awsfault

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/localstack/lstest"
	"github.com/drillhq/drill/runner"
)

// loseAnswer lets the first call of the named operation reach AWS and then fails it as a
// timeout would: the change is applied but the fault never hears so (a deadline or Ctrl-C at
// the wrong moment). Later calls, the revert's, get their answers.
func loseAnswer(op string) func(*middleware.Stack) error {
	var lost atomic.Bool
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("drillLoseAnswer",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if err == nil && awsmiddleware.GetOperationName(ctx) == op && lost.CompareAndSwap(false, true) {
					return out, md, fmt.Errorf("%s: answer lost: %w", op, context.DeadlineExceeded)
				}
				return out, md, err
			}), middleware.After)
	}
}

func newHealthCheck(t *testing.T, api *route53.Client, ref string, inverted bool) string {
	t.Helper()
	out, err := api.CreateHealthCheck(context.Background(), &route53.CreateHealthCheckInput{CallerReference: aws.String(ref),
		HealthCheckConfig: &r53types.HealthCheckConfig{Type: r53types.HealthCheckTypeTcp, IPAddress: aws.String("10.0.0.20"), Port: aws.Int32(443),
			RequestInterval: aws.Int32(30), FailureThreshold: aws.Int32(3), Inverted: aws.Bool(inverted)}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.HealthCheck.Id)
}

func inverted(t *testing.T, api *route53.Client, id string) bool {
	t.Helper()
	hc, err := awsenv.HealthCheck(context.Background(), api, id)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToBool(hc.HealthCheckConfig.Inverted)
}

// newGroup creates an empty auto-scaling group of the test's own.
func newGroup(t *testing.T, c *awsenv.Clients, name string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.EC2("").CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String("ami-12c6146b"), InstanceType: ec2types.InstanceTypeT3Micro}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AutoScaling("").CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(name),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String(name)}, MinSize: aws.Int32(0), MaxSize: aws.Int32(1),
		AvailabilityZones: []string{"us-east-1a"}}); err != nil {
		t.Fatal(err)
	}
}

func suspended(t *testing.T, c *awsenv.Clients, group string) []string {
	t.Helper()
	g, err := awsenv.DescribeGroup(context.Background(), c.AutoScaling(""), group)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range g.SuspendedProcesses {
		out = append(out, aws.ToString(p.ProcessName))
	}
	slices.Sort(out)
	return out
}

// A lost answer must not lose the revert: the runner reverts an injection that failed but
// carries one, and that revert must undo what AWS did apply.
func TestLostAnswerIsStillReverted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rctx := context.WithoutCancel(ctx)

	t.Run("break-health-check", func(t *testing.T) {
		t.Parallel()
		lstest.KnownBug(t, lstest.KindLocalStackHost, lstest.BugRoute53FalseFlags)
		env, c := connect(t, "lost-hc", nil, 0, loseAnswer("UpdateHealthCheck"))
		id := newHealthCheck(t, c.Route53(), "lost-answer", false)
		f, err := BreakHealthCheckType().New(&BreakHealthCheckConfig{HealthCheckID: id}, env)
		if err != nil {
			t.Fatal(err)
		}
		inj, err := f.Inject(ctx)
		if err == nil || inj.Revert == nil {
			t.Fatalf("inject with a lost answer = revert set %v, error %v; want an error and a revert", inj.Revert != nil, err)
		}
		if !inverted(t, c.Route53(), id) {
			t.Fatal("the update did not reach the emulator: the test proves nothing")
		}
		if err := inj.Revert(rctx); err != nil {
			t.Fatal(err)
		}
		if inverted(t, c.Route53(), id) {
			t.Error("health check still inverted after the revert")
		}
	})

	t.Run("suspend-processes", func(t *testing.T) {
		t.Parallel()
		emu.Get(t).Require(t, "autoscaling")
		env, c := connect(t, "lost-asg", nil, 0, loseAnswer("SuspendProcesses"))
		newGroup(t, c, "lost-answer")
		f, err := SuspendProcessesType().New(&SuspendProcessesConfig{Group: "lost-answer", Processes: []string{"Launch", "HealthCheck"}}, env)
		if err != nil {
			t.Fatal(err)
		}
		inj, err := f.Inject(ctx)
		if err == nil || inj.Revert == nil {
			t.Fatalf("inject with a lost answer = revert set %v, error %v; want an error and a revert", inj.Revert != nil, err)
		}
		if got := suspended(t, c, "lost-answer"); !slices.Equal(got, []string{"HealthCheck", "Launch"}) {
			t.Fatalf("suspended after inject = %v: the call did not reach the emulator", got)
		}
		if err := inj.Revert(rctx); err != nil {
			t.Fatal(err)
		}
		if got := suspended(t, c, "lost-answer"); len(got) != 0 {
			t.Errorf("suspended after revert = %v, want none", got)
		}
	})

	t.Run("stop-instances", func(t *testing.T) {
		t.Parallel()
		env, c := connect(t, "lost-stop", nil, 0, loseAnswer("StopInstances"))
		api := c.EC2("")
		ids := launch(t, api, "lost-answer", 3, 3)
		f, err := StopInstancesType().New(&StopInstancesConfig{Targets: awsenv.Targets{Tags: map[string]string{"drill-test": "lost-answer"}}}, env)
		if err != nil {
			t.Fatal(err)
		}
		inj, err := f.Inject(ctx)
		if err == nil || inj.Revert == nil {
			t.Fatalf("inject with a lost answer = revert set %v, error %v; want an error and a revert", inj.Revert != nil, err)
		}
		if n := len(withState(statesOf(t, api, "lost-answer"), "running")); n == len(ids) {
			t.Fatal("no instance left running: the stop did not reach the emulator")
		}
		if err := inj.Revert(rctx); err != nil {
			t.Fatal(err)
		}
		if got := withState(statesOf(t, api, "lost-answer"), "running"); !slices.Equal(got, ids) {
			t.Errorf("running after revert = %v, want %v", got, ids)
		}
	})
}

// A target that already shows the fault is a leftover: injecting on top would record the
// broken state as "before" and the revert would restore it. Injection is refused, naming the
// leftover, and nothing is changed.
func TestInjectRefusesTargetNotInSteadyState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("inverted health check", func(t *testing.T) {
		t.Parallel()
		env, c := connect(t, "leftover-hc", nil, 0)
		id := newHealthCheck(t, c.Route53(), "leftover", true)
		f, err := BreakHealthCheckType().New(&BreakHealthCheckConfig{HealthCheckID: id}, env)
		if err != nil {
			t.Fatal(err)
		}
		inj, err := f.Inject(ctx)
		wantRefused(t, inj, err, id, "inverted")
		if !inverted(t, c.Route53(), id) {
			t.Error("the refused injection changed the health check")
		}
	})

	t.Run("suspended processes", func(t *testing.T) {
		t.Parallel()
		emu.Get(t).Require(t, "autoscaling")
		env, c := connect(t, "leftover-asg", nil, 0)
		newGroup(t, c, "leftover")
		if _, err := c.AutoScaling("").SuspendProcesses(ctx, &autoscaling.SuspendProcessesInput{AutoScalingGroupName: aws.String("leftover"), ScalingProcesses: []string{"Launch"}}); err != nil {
			t.Fatal(err)
		}
		f, err := SuspendProcessesType().New(&SuspendProcessesConfig{Group: "leftover", Processes: []string{"Launch", "HealthCheck"}}, env)
		if err != nil {
			t.Fatal(err)
		}
		inj, err := f.Inject(ctx)
		wantRefused(t, inj, err, "leftover", "Launch")
		if got := suspended(t, c, "leftover"); !slices.Equal(got, []string{"Launch"}) {
			t.Errorf("suspended after the refused injection = %v, want [Launch] only", got)
		}
	})
}

func wantRefused(t *testing.T, inj runner.Injection, err error, names ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("injection into a target already in the faulted state succeeded")
	}
	for _, n := range append([]string{"not in steady state"}, names...) {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not mention %q", err, n)
		}
	}
	if inj.Revert != nil {
		t.Error("a refused injection carries a revert: the runner would 'restore' the leftover")
	}
}
