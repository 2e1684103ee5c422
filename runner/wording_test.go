package runner

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/scenarios"
)

type commandLikeFault struct{ svc *service }

func (f commandLikeFault) Inject(ctx context.Context) (Injection, error) {
	f.svc.setDown(true)
	return Injection{Revert: func(context.Context) error { f.svc.setDown(false); return nil }}, nil
}

// TestRunFaultWithoutTargetsSaysWhatRan: a fault that names no targets (a shell command) is
// reported as injected, not as having hit "targets: none"; the JSON keeps an empty list.
func TestRunFaultWithoutTargetsSaysWhatRan(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		reg := testRegistry(svc)
		reg.AddFault(FaultType{Name: "cmd", New: func(cfg any, env *Env) (Fault, error) { return commandLikeFault{svc}, nil }})
		reg.AddStep(StepType{Name: "up", New: func(cfg any, env *Env) (Step, error) {
			return funcStep(func(ctx context.Context) error { svc.setDown(false); return nil }), nil
		}})
		s := testScenario(outageCfg{})
		s.Faults = []scenarios.StepSpec{{Name: "kill-web", Type: "cmd"}}
		s.Recovery = []scenarios.StepSpec{{Name: "restart", Type: "up", After: 100e6}}
		res := Run(t.Context(), s, Options{Registry: reg})
		if !hasEvent(res, result.EventFault, "kill-web injected (cmd)") || hasEvent(res, result.EventFault, "targets: none") {
			t.Errorf("fault event does not read as run: %+v", res.Events)
		}
		if res.Faults[0].Targets == nil || len(res.Faults[0].Targets) != 0 {
			t.Errorf("JSON targets %#v, want an empty list", res.Faults[0].Targets)
		}
	})
}
