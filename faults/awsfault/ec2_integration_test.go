package awsfault

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
)

func newStop(t *testing.T, env *runner.Env, cfg StopInstancesConfig) *stopInstancesFault {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config invalid: %v", err)
	}
	f, err := StopInstancesType().New(&cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	return f.(*stopInstancesFault)
}

// TestStopCountOf300 selects COUNT(2) of 300 tagged instances: exactly 2 stop, and revert
// starts exactly those 2.
func TestStopCountOf300(t *testing.T) {
	t.Parallel()
	counter := &callCounter{}
	env, clients := connect(t, "count-of-300", counter, 0)
	api := clients.EC2("")
	all := launch(t, api, "count-of-300", 300, 10)

	sel := awsenv.Selection{Mode: "COUNT", N: 2}
	f := newStop(t, env, StopInstancesConfig{Targets: awsenv.Targets{Tags: map[string]string{"drill-test": "count-of-300"}, Select: sel}})
	ctx := context.Background()
	// The drill announces the planned targets before injecting: they must be the ones hit.
	planned, err := f.Plan(ctx)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	counter.reset()
	start := time.Now()
	inj, err := f.Inject(ctx)
	injectWall := time.Since(start)
	injectCalls := counter.String()
	if err != nil {
		t.Fatalf("inject: %v", err)
	}
	if len(inj.Targets) != 2 {
		t.Fatalf("targets = %v, want 2 instances", inj.Targets)
	}
	if !slices.Equal(planned, inj.Targets) {
		t.Errorf("announced targets %v, injected into %v", planned, inj.Targets)
	}
	for _, id := range inj.Targets {
		if !slices.Contains(all, id) {
			t.Errorf("target %s is not one of the tagged instances", id)
		}
	}
	states := statesOf(t, api, "count-of-300")
	if diff := cmp.Diff(inj.Targets, withState(states, "stopped")); diff != "" {
		t.Errorf("stopped instances differ from the targets (-targets +stopped):\n%s", diff)
	}
	if n := len(withState(states, "running")); n != 298 {
		t.Errorf("running after COUNT(2): %d, want 298", n)
	}
	t.Logf("COUNT(2) of 300 inject: %s in %v", injectCalls, injectWall.Round(time.Millisecond))

	counter.reset()
	start = time.Now()
	if err := inj.Revert(context.WithoutCancel(ctx)); err != nil {
		t.Fatalf("revert: %v", err)
	}
	revertWall := time.Since(start)
	revertCalls := counter.String()
	if got := counter.snapshot()["StartInstances"]; got != 1 {
		t.Errorf("StartInstances calls on revert = %d, want 1", got)
	}
	if n := len(withState(statesOf(t, api, "count-of-300"), "running")); n != 300 {
		t.Errorf("running after revert: %d, want 300", n)
	}
	t.Logf("COUNT(2) of 300 revert: %s in %v", revertCalls, revertWall.Round(time.Millisecond))
}

// TestStopAllOf300Batched stops ALL of 300 instances: StopInstances is called in batches of
// 100, and revert starts all 300 in batches. The call counts and wall times are logged.
func TestStopAllOf300Batched(t *testing.T) {
	t.Parallel()
	counter := &callCounter{}
	env, clients := connect(t, "all-of-300", counter, 0)
	api := clients.EC2("")
	all := launch(t, api, "all-of-300", 300, 10)

	f := newStop(t, env, StopInstancesConfig{Targets: awsenv.Targets{Tags: map[string]string{"drill-test": "all-of-300"}}})
	ctx := context.Background()
	counter.reset()
	start := time.Now()
	inj, err := f.Inject(ctx)
	injectWall := time.Since(start)
	injectCalls := counter.String()
	if err != nil {
		t.Fatalf("inject: %v", err)
	}
	if diff := cmp.Diff(all, inj.Targets); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	calls := counter.snapshot()
	if calls["StopInstances"] != 3 {
		t.Errorf("StopInstances calls = %d, want 3 (batches of %d)", calls["StopInstances"], ec2BatchSize)
	}
	if calls["DescribeInstances"] != 1 {
		t.Errorf("DescribeInstances calls = %d, want 1 page", calls["DescribeInstances"])
	}
	if n := len(withState(statesOf(t, api, "all-of-300"), "stopped")); n != 300 {
		t.Errorf("stopped: %d, want 300", n)
	}
	t.Logf("ALL of 300 inject: %s in %v", injectCalls, injectWall.Round(time.Millisecond))

	counter.reset()
	start = time.Now()
	if err := inj.Revert(context.WithoutCancel(ctx)); err != nil {
		t.Fatalf("revert: %v", err)
	}
	revertWall := time.Since(start)
	revertCalls := counter.String()
	if got := counter.snapshot()["StartInstances"]; got != 3 {
		t.Errorf("StartInstances calls on revert = %d, want 3", got)
	}
	if n := len(withState(statesOf(t, api, "all-of-300"), "running")); n != 300 {
		t.Errorf("running after revert: %d, want 300", n)
	}
	t.Logf("ALL of 300 revert: %s in %v", revertCalls, revertWall.Round(time.Millisecond))
}

// TestResolvePaginates lowers the page size so DescribeInstances takes several pages; every
// match must still be found.
func TestResolvePaginates(t *testing.T) {
	t.Parallel()
	counter := &callCounter{}
	_, clients := connect(t, "paginate", counter, 5)
	api := clients.EC2("")
	all := launch(t, api, "paginate", 60, 2)
	counter.reset()
	got, err := awsenv.ResolveInstances(context.Background(), api, awsenv.Targets{Tags: map[string]string{"drill-test": "paginate"}}, clients.PageLimit(describePageMax), "running")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all, got); diff != "" {
		t.Errorf("resolved (-want +got):\n%s", diff)
	}
	if n := counter.snapshot()["DescribeInstances"]; n < 2 {
		t.Errorf("DescribeInstances calls = %d, want several pages", n)
	}
	t.Logf("60 instances in 30 reservations, page size 5: %s", counter)
}

func TestResolveNothingMatches(t *testing.T) {
	t.Parallel()
	_, clients := connect(t, "none", nil, 0)
	_, err := awsenv.ResolveInstances(context.Background(), clients.EC2(""), awsenv.Targets{IDs: []string{"i-0000000000000dead"}}, 0, "running")
	if err == nil {
		t.Fatal("resolving an unknown id succeeded; a drill that breaks nothing must fail")
	}
}

// TestTerminateRefusesWithoutAllowIrreversible: the loader's validation and the constructor
// both refuse; with the flag, the instances are terminated.
func TestTerminateRefusesWithoutAllowIrreversible(t *testing.T) {
	t.Parallel()
	env, clients := connect(t, "terminate", nil, 0)
	api := clients.EC2("")
	ids := launch(t, api, "terminate", 3, 3)
	cfg := &TerminateInstancesConfig{Targets: awsenv.Targets{Tags: map[string]string{"drill-test": "terminate"}}}
	if err := cfg.Validate(); err == nil {
		t.Error("Validate accepted terminate without allowIrreversible")
	}
	if _, err := TerminateInstancesType().New(cfg, env); err == nil {
		t.Error("New accepted terminate without allowIrreversible")
	}
	// A fault value built around the check must still refuse at injection time.
	f := &terminateInstancesFault{cfg: *cfg, clients: clients}
	if _, err := f.Inject(context.Background()); err == nil {
		t.Error("Inject terminated without allowIrreversible")
	}
	if n := len(withState(statesOf(t, api, "terminate"), "running")); n != 3 {
		t.Fatalf("running after refusals: %d, want 3", n)
	}

	cfg.AllowIrreversible = true
	fault, err := TerminateInstancesType().New(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	inj, err := fault.Inject(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if inj.Revert != nil {
		t.Error("terminate returned a revert; it cannot be undone")
	}
	if diff := cmp.Diff(ids, withState(statesOf(t, api, "terminate"), "terminated")); diff != "" {
		t.Errorf("terminated (-want +got):\n%s", diff)
	}
}

// TestStopRevertSkipsAlreadyRunning: a recovery step that started the instances first makes
// the revert a no-op for them rather than an error.
func TestStopRevertSkipsAlreadyRunning(t *testing.T) {
	t.Parallel()
	counter := &callCounter{}
	env, clients := connect(t, "already-running", counter, 0)
	api := clients.EC2("")
	launch(t, api, "already-running", 4, 4)
	f := newStop(t, env, StopInstancesConfig{Targets: awsenv.Targets{Tags: map[string]string{"drill-test": "already-running"}}})
	inj, err := f.Inject(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	step, err := StartInstancesType().New(&StartInstancesConfig{Targets: awsenv.Targets{Tags: map[string]string{"drill-test": "already-running"}}}, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := step.Run(context.Background()); err != nil {
		t.Fatalf("start step: %v", err)
	}
	counter.reset()
	if err := inj.Revert(context.Background()); err != nil {
		t.Fatalf("revert: %v", err)
	}
	if n := counter.snapshot()["StartInstances"]; n != 0 {
		t.Errorf("revert called StartInstances %d times for instances already running", n)
	}
}
