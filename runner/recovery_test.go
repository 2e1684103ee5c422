package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/scenarios"
)

func failingStepRegistry(svc *service) *Registry {
	reg := testRegistry(svc)
	reg.AddStep(StepType{Name: "boom", New: func(cfg any, env *Env) (Step, error) {
		return funcStep(func(ctx context.Context) error { return errors.New("exit status 1") }), nil
	}})
	return reg
}

// TestRunFailedRecoveryStepEndsTheWait: when a runbook step fails, the recovery it was part of
// can no longer come, so the drill stops observing at once and rolls back instead of keeping
// the system broken until limits.timeout; the verdict names the step.
func TestRunFailedRecoveryStepEndsTheWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		s := testScenario(outageCfg{Forever: true})
		s.Limits.Timeout = 10 * time.Minute
		s.Recovery = []scenarios.StepSpec{
			{Name: "restart-web", Type: "boom", After: 500 * time.Millisecond},
			{Name: "never-run", Type: "heal", After: time.Second},
		}
		start := time.Now()
		res := Run(t.Context(), s, Options{Registry: failingStepRegistry(svc)})
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("drill took %v after the step failed; want it to stop at once, not wait for limits.timeout", took)
		}
		if res.Verdict != result.VerdictError || !strings.Contains(res.Reason, "restart-web") {
			t.Errorf("verdict %s (%s); want error naming the step", res.Verdict, res.Reason)
		}
		if !hasEvent(res, result.EventStep, "recovery step restart-web failed: observation stops, rollback starts") {
			t.Errorf("no event saying observation stopped: %+v", res.Events)
		}
		for _, st := range res.Steps {
			if st.Name == "never-run" {
				t.Error("the runbook went on after a failed step")
			}
		}
		if len(svc.reverted) != 1 || !res.Rollback.Clean {
			t.Errorf("rollback: reverted %v, %+v", svc.reverted, res.Rollback)
		}
	})
}

// TestRunContinueOnErrorGoesOn: a step that may fail does not stop the runbook, and the drill
// is judged on whether the system recovered; the step's error stays in its result.
func TestRunContinueOnErrorGoesOn(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		s := testScenario(outageCfg{Forever: true})
		s.Recovery = []scenarios.StepSpec{
			{Name: "graceful-restart", Type: "boom", After: 200 * time.Millisecond, ContinueOnError: true},
			{Name: "hard-restart", Type: "heal", After: 500 * time.Millisecond},
		}
		res := Run(t.Context(), s, Options{Registry: failingStepRegistry(svc)})
		if res.Verdict != result.VerdictPass {
			t.Fatalf("verdict %s (%s); want pass", res.Verdict, res.Reason)
		}
		if rto := res.Objectives.RTO.MeasuredMs; rto == nil || *rto < 500 || *rto > 520 {
			t.Errorf("RTO %v, want about 500ms (the second step)", rto)
		}
		var stepErr string
		for _, st := range res.Steps {
			if st.Name == "graceful-restart" {
				stepErr = st.Error
			}
		}
		if stepErr == "" || !hasEvent(res, result.EventStep, "graceful-restart failed, continuing (continueOnError)") {
			t.Errorf("the allowed failure is not recorded: step error %q, events %+v", stepErr, res.Events)
		}
	})
}
