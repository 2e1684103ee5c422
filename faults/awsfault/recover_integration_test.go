package awsfault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/internal/recovertest"
	"github.com/drillhq/drill/journal"
	"github.com/drillhq/drill/localstack/lstest"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// failAfter lets the first n calls of op through and fails every later one before it is sent:
// the drill's revert never reaches the emulator, as if drill had been killed before rolling
// back, and the journal keeps the fault pending.
func failAfter(op string, n int64) func(*middleware.Stack) error {
	var seen atomic.Int64
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("drillFailAfter",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if awsmiddleware.GetOperationName(ctx) == op {
					if seen.Add(1) > n {
						return middleware.InitializeOutput{}, middleware.Metadata{}, fmt.Errorf("%s: %w", op, errKilled)
					}
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}
}

var errKilled = errors.New("refused by the test: the drill is 'killed' before its revert")

// injectAndLeave runs one fault of typ through the runner with a real journal, with env (from
// connect) whose clients refuse the revert, and returns the pending journal record: what a
// SIGKILLed drill leaves for `drill recover`.
func injectAndLeave(t *testing.T, env *runner.Env, typ runner.FaultType, cfg any) journal.Fault {
	t.Helper()
	res, run := recovertest.Run(t, recovertest.Drill{Type: typ, With: cfg, Env: env,
		Limits: scenarios.Limits{Timeout: 30 * time.Second, Observe: 10 * time.Millisecond, Rollback: time.Second}})
	if res.Rollback.Clean {
		t.Fatalf("the drill's revert succeeded; the test needs it refused (rollback %+v)", res.Rollback)
	}
	pending := run.Pending()
	if len(pending) != 1 || pending[0].Record == nil {
		t.Fatalf("journal pending %+v, want fault f with a record", pending)
	}
	return pending[0]
}

// recoverTwice calls the type's Recover as `drill recover` does (fresh Env, no connector), twice.
func recoverTwice(t *testing.T, typ runner.FaultType, rec json.RawMessage, check func(round int)) {
	t.Helper()
	recovertest.RecoverTwice(t, typ, rec, 5*time.Minute, check)
}

func TestRecoverStopInstances(t *testing.T) {
	t.Parallel()
	env, c := connect(t, "recover-stop", nil, 0, failAfter("StartInstances", 0))
	api := c.EC2("")
	ids := launch(t, api, "recover-stop", 3, 3)
	f := injectAndLeave(t, env, StopInstancesType(), &StopInstancesConfig{Targets: awsenv.Targets{Tags: map[string]string{"drill-test": "recover-stop"}}})
	if diff := cmp.Diff(ids, slices.Sorted(slices.Values(f.Targets))); diff != "" {
		t.Errorf("journaled targets (-want +got):\n%s", diff)
	}
	if running := withState(statesOf(t, api, "recover-stop"), "running"); len(running) != 0 {
		t.Fatalf("instances %v still running: the drill did not stop them, nothing to recover", running)
	}
	recoverTwice(t, StopInstancesType(), f.Record, func(round int) {
		states := statesOf(t, api, "recover-stop")
		if got := withState(states, "running"); !slices.Equal(got, ids) {
			t.Errorf("after recover #%d: states %v, want all of %v running", round, states, ids)
		}
	})
}

func TestRecoverSuspendProcesses(t *testing.T) {
	lstest.SkipUnserved(t, "autoscaling")
	t.Parallel()
	env, c := connect(t, "recover-suspend", nil, 0, failAfter("ResumeProcesses", 0))
	newGroup(t, c, "recover-suspend")
	f := injectAndLeave(t, env, SuspendProcessesType(), &SuspendProcessesConfig{Group: "recover-suspend", Processes: []string{"Launch", "HealthCheck"}})
	if got := suspended(t, c, "recover-suspend"); !slices.Equal(got, []string{"HealthCheck", "Launch"}) {
		t.Fatalf("suspended %v after the drill, want HealthCheck and Launch", got)
	}
	recoverTwice(t, SuspendProcessesType(), f.Record, func(round int) {
		if got := suspended(t, c, "recover-suspend"); len(got) != 0 {
			t.Errorf("after recover #%d: processes %v still suspended", round, got)
		}
	})
}

func TestRecoverBreakHealthCheck(t *testing.T) {
	lstest.KnownBug(t, lstest.KindLocalStackHost, lstest.BugRoute53FalseFlags)
	t.Parallel()
	env, c := connect(t, "recover-hc", nil, 0, failAfter("UpdateHealthCheck", 1))
	api := c.Route53()
	ctx := t.Context()
	out, err := api.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("recover-hc"),
		HealthCheckConfig: &r53types.HealthCheckConfig{Type: r53types.HealthCheckTypeHttps, FullyQualifiedDomainName: aws.String("primary.example.com"),
			IPAddress: aws.String("10.0.0.30"), Port: aws.Int32(443), ResourcePath: aws.String("/health"), RequestInterval: aws.Int32(10),
			FailureThreshold: aws.Int32(2), EnableSNI: aws.Bool(true)}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.HealthCheck.Id)
	before, err := awsenv.HealthCheck(ctx, api, id)
	if err != nil {
		t.Fatal(err)
	}
	f := injectAndLeave(t, env, BreakHealthCheckType(), &BreakHealthCheckConfig{HealthCheckID: id})
	if !inverted(t, api, id) {
		t.Fatal("the drill did not invert the health check, nothing to recover")
	}
	recoverTwice(t, BreakHealthCheckType(), f.Record, func(round int) {
		after, err := awsenv.HealthCheck(ctx, api, id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before.HealthCheckConfig, after.HealthCheckConfig, worldOpts); diff != "" {
			t.Errorf("after recover #%d, config differs (-before +after):\n%s", round, diff)
		}
	})
	// Recover builds its own clients, so whether a restored check is left alone is seen on the
	// revert it shares, with counted clients. (Moto does not bump HealthCheckVersion on update,
	// so the version cannot tell.)
	counter := &callCounter{}
	_, counted := connect(t, "recover-hc-count", counter, 0)
	var rec breakHealthCheckRecord
	if err := json.Unmarshal(f.Record, &rec); err != nil {
		t.Fatal(err)
	}
	if err := restoreHealthCheck(ctx, counted.Route53(), id, rec.Previous); err != nil {
		t.Fatal(err)
	}
	if n := counter.snapshot()["UpdateHealthCheck"]; n != 0 {
		t.Errorf("restoring a check already as journaled called UpdateHealthCheck %d times", n)
	}
}

// A record for real AWS that names no account cannot be checked against the credentials: it is
// refused before any call is made.
func TestRecoverRefusesRealAWSWithoutAccount(t *testing.T) {
	t.Parallel()
	rec := []byte(`{"region":"us-east-1","instances":["i-0123456789abcdef0"]}`)
	err := StopInstancesType().Recover(t.Context(), runner.NewEnv(nil, nil), rec)
	if err == nil || !strings.Contains(err.Error(), "names no account") {
		t.Fatalf("err %v, want a refusal: real AWS record without account", err)
	}
}

// A record of a real-AWS drill is not recovered against an emulator AWS_ENDPOINT_URL points
// to: its resources are not there, and "nothing to do" would be a lie.
func TestRecoverRefusesRealAWSRecordAgainstEmulator(t *testing.T) {
	t.Parallel()
	e := emu.Get(t)
	_, err := awsenv.RecoverClients(t.Context(), awsenv.Where{Region: "us-east-1", Account: "111122223333"},
		awsenv.RecoverOptions{Getenv: func(k string) string {
			if k == awsenv.EnvEndpoint {
				return e.Endpoint
			}
			return ""
		}})
	if err == nil || !strings.Contains(err.Error(), "real AWS account 111122223333") {
		t.Fatalf("err %v, want a refusal", err)
	}
}
