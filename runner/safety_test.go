package runner

import (
	"context"
	"errors"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/scenarios"
)

// scriptedCfg is the `with:` of the scripted test fault: how its inject and revert behave.
type scriptedCfg struct {
	PanicInject bool
	HangRevert  bool          // revert blocks until its context ends
	FailReverts int           // the first n revert attempts fail (-1: every attempt)
	PanicRevert bool          // revert panics
	RevertTakes time.Duration // revert succeeds after this long, unless its context ends first
	Declared    time.Duration // revert time limit declared through scenarios.RevertBounded
}

func (c *scriptedCfg) RevertTimeout() (time.Duration, string) { return c.Declared, "declared" }

// revertLog records what the scripted faults did, in order.
type revertLog struct {
	mu       sync.Mutex
	attempts map[string]int
	reverted []string // faults whose revert succeeded
}

func (l *revertLog) attempt(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempts[name]++
	return l.attempts[name]
}

func (l *revertLog) done(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reverted = append(l.reverted, name)
}

func (l *revertLog) snapshot() ([]string, map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reverted), maps.Clone(l.attempts)
}

type scriptedFault struct {
	name string
	cfg  scriptedCfg
	log  *revertLog
}

func (f *scriptedFault) Inject(ctx context.Context) (Injection, error) {
	if f.cfg.PanicInject {
		panic("inject exploded")
	}
	return Injection{Targets: []string{f.name}, Revert: func(ctx context.Context) error {
		// Like a real API call, a revert given an expired context fails.
		if err := ctx.Err(); err != nil {
			return err
		}
		n := f.log.attempt(f.name)
		switch {
		case f.cfg.PanicRevert:
			panic("revert exploded")
		case f.cfg.HangRevert:
			<-ctx.Done()
			return ctx.Err()
		case f.cfg.FailReverts < 0 || n <= f.cfg.FailReverts:
			return errors.New("throttled")
		}
		if f.cfg.RevertTakes > 0 {
			select {
			case <-time.After(f.cfg.RevertTakes):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		f.log.done(f.name)
		return nil
	}}, nil
}

// safetyRegistry is testRegistry plus a probe and a step that panic, registered only here: no
// build of drill has them.
func safetyRegistry(svc *service) *Registry {
	reg := testRegistry(svc)
	reg.AddProbe(ProbeType{Name: "panicky", New: func(spec scenarios.ProbeSpec, env *Env) (Probe, error) {
		var n int
		var mu sync.Mutex
		return probeFunc(func(ctx context.Context) error {
			mu.Lock()
			n++
			k := n
			mu.Unlock()
			if k > 3 { // steady state and the first samples pass; then the probe breaks
				panic("probe exploded")
			}
			return nil
		}), nil
	}})
	reg.AddStep(StepType{Name: "panicky", New: func(any, *Env) (Step, error) {
		return funcStep(func(context.Context) error { panic("step exploded") }), nil
	}})
	return reg
}

func scriptedScenario(faults ...scenarios.StepSpec) *scenarios.Scenario {
	s := testScenario(outageCfg{})
	s.Faults = faults
	return s
}

func runScripted(t *testing.T, s *scenarios.Scenario, log *revertLog, sigs chan os.Signal) *result.Result {
	t.Helper()
	svc := &service{}
	reg := safetyRegistry(svc)
	// Each scripted fault is registered as its own type, so it knows its name.
	for _, f := range s.Faults {
		if f.Type != "scripted" {
			continue
		}
		name := f.Name
		reg.AddFault(FaultType{Name: "scripted-" + name, New: func(cfg any, env *Env) (Fault, error) {
			return &scriptedFault{name: name, cfg: *cfg.(*scriptedCfg), log: log}, nil
		}})
	}
	for i := range s.Faults {
		if s.Faults[i].Type == "scripted" {
			s.Faults[i].Type = "scripted-" + s.Faults[i].Name
		}
	}
	opts := Options{Registry: reg}
	if sigs != nil {
		opts.Interrupts = sigs
	}
	return Run(t.Context(), s, opts)
}

func scripted(name string, cfg scriptedCfg) scenarios.StepSpec {
	return scenarios.StepSpec{Name: name, Type: "scripted", With: &cfg}
}

// TestRunHungRevertDoesNotStopNextRevert: the last fault's revert hangs; the first fault's
// revert must still start (once the hung one has used its share) and succeed, and the hung one
// must be reported as left in place.
func TestRunHungRevertDoesNotStopNextRevert(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		log := &revertLog{attempts: map[string]int{}}
		s := scriptedScenario(scripted("first", scriptedCfg{}), scripted("second", scriptedCfg{HangRevert: true}))
		res := runScripted(t, s, log, nil)
		reverted, _ := log.snapshot()
		if !slices.Equal(reverted, []string{"first"}) {
			t.Errorf("reverted %v, want [first]: a hung revert must not stop the next one", reverted)
		}
		if res.Verdict != result.VerdictError || res.Rollback.Clean {
			t.Errorf("verdict %s (%s), rollback %+v: want error, unclean", res.Verdict, res.Reason, res.Rollback)
		}
		if res.Faults[1].RevertError == "" || res.Faults[0].RevertError != "" {
			t.Errorf("revert errors first %q second %q, want only second", res.Faults[0].RevertError, res.Faults[1].RevertError)
		}
		if !hasEvent(res, result.EventRevert, "starting the next revert alongside it") {
			t.Errorf("no event says the next revert started early; events %v", res.Events)
		}
	})
}

// TestRunRevertsKeepReverseOrder: reverts that return in time run one after another, last
// injected first.
func TestRunRevertsKeepReverseOrder(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		log := &revertLog{attempts: map[string]int{}}
		s := scriptedScenario(scripted("a", scriptedCfg{RevertTakes: time.Second}), scripted("b", scriptedCfg{RevertTakes: 2 * time.Second}), scripted("c", scriptedCfg{}))
		res := runScripted(t, s, log, nil)
		reverted, _ := log.snapshot()
		if !slices.Equal(reverted, []string{"c", "b", "a"}) || res.Verdict != result.VerdictPass {
			t.Errorf("reverted %v verdict %s (%s), want [c b a] and pass", reverted, res.Verdict, res.Reason)
		}
	})
}

// TestRunFailingRevertIsRetried: a revert that fails twice (throttled) and then works leaves a
// clean rollback.
func TestRunFailingRevertIsRetried(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		log := &revertLog{attempts: map[string]int{}}
		res := runScripted(t, scriptedScenario(scripted("flaky", scriptedCfg{FailReverts: 2})), log, nil)
		reverted, attempts := log.snapshot()
		if !slices.Equal(reverted, []string{"flaky"}) || attempts["flaky"] != 3 {
			t.Errorf("reverted %v after %d attempts, want reverted on attempt 3", reverted, attempts["flaky"])
		}
		if res.Verdict != result.VerdictPass || !res.Rollback.Clean {
			t.Errorf("verdict %s (%s), rollback %+v: want pass with a clean rollback", res.Verdict, res.Reason, res.Rollback)
		}
		if !hasEvent(res, result.EventRevert, "revert attempt 1 failed: throttled") {
			t.Errorf("failed attempt not on the timeline: %v", res.Events)
		}
	})
}

// TestRunRevertRetriesEndWithBudget: a revert that always fails is retried until its budget
// ends, then reported; the retries never run past limits.rollback.
func TestRunRevertRetriesEndWithBudget(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		log := &revertLog{attempts: map[string]int{}}
		s := scriptedScenario(scripted("broken", scriptedCfg{FailReverts: -1}))
		s.Limits.Rollback = 20 * time.Second
		start := time.Now()
		res := runScripted(t, s, log, nil)
		_, attempts := log.snapshot()
		if attempts["broken"] < 3 {
			t.Errorf("%d attempts, want retries within the budget", attempts["broken"])
		}
		if res.Verdict != result.VerdictError || !strings.Contains(res.Faults[0].RevertError, "attempts within") {
			t.Errorf("verdict %s, revert error %q: want error naming the attempts", res.Verdict, res.Faults[0].RevertError)
		}
		// Synthetic time: the whole drill (about 1 s of observation) plus a 20 s rollback and
		// the after-check's retries, far below what an unbounded retry loop would take.
		if took := time.Since(start); took > time.Minute {
			t.Errorf("drill took %v, want rollback bounded by limits.rollback", took)
		}
	})
}

// TestRunDeclaredRevertTimeoutIsGranted: a revert whose type declares a limit longer than its
// fair share gets that long.
func TestRunDeclaredRevertTimeoutIsGranted(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		log := &revertLog{attempts: map[string]int{}}
		// limits.rollback 1m over two reverts: a share is 30s; "slow" needs 40s and says so.
		s := scriptedScenario(scripted("quick", scriptedCfg{}), scripted("slow", scriptedCfg{RevertTakes: 40 * time.Second, Declared: 50 * time.Second}))
		res := runScripted(t, s, log, nil)
		reverted, _ := log.snapshot()
		if !slices.Contains(reverted, "slow") || res.Verdict != result.VerdictPass {
			t.Errorf("reverted %v verdict %s (%s): want slow reverted within its declared 50s", reverted, res.Verdict, res.Reason)
		}
	})
}

// TestRunInterruptedWithFailedRevertIsError: an interrupted drill that could not revert a
// fault is an error naming the fault left in place, not a clean abort.
func TestRunInterruptedWithFailedRevertIsError(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		log := &revertLog{attempts: map[string]int{}}
		s := scriptedScenario(scripted("stuck", scriptedCfg{FailReverts: -1}))
		s.Limits.Observe = 10 * time.Second
		s.Limits.Rollback = 5 * time.Second
		sigs := make(chan os.Signal, 1)
		time.AfterFunc(500*time.Millisecond, func() { sigs <- os.Interrupt })
		res := runScripted(t, s, log, sigs)
		if res.Verdict != result.VerdictError || res.Abort != result.AbortInterrupted {
			t.Errorf("verdict %s abort %q, want error with abort interrupted", res.Verdict, res.Abort)
		}
		if !strings.Contains(res.Reason, "left in place: stuck") {
			t.Errorf("reason %q does not name the fault left in place", res.Reason)
		}
	})
}

// TestRunPanicsAreRecovered: a panic in probe, fault or step code ends the drill as an error
// naming the panic and the type, and every injected fault is still reverted.
func TestRunPanicsAreRecovered(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		modify func(s *scenarios.Scenario)
		reason string
		revert bool // whether "ok" is injected and must be reverted
	}{
		{"probe", func(s *scenarios.Scenario) {
			s.Probes[0].Type = "panicky"
			s.Limits.Observe = 10 * time.Second
		}, "probe health (panicky) panicked: probe exploded", true},
		{"fault", func(s *scenarios.Scenario) {
			s.Faults = append(s.Faults, scripted("boom", scriptedCfg{PanicInject: true}))
		}, "fault boom (scripted-boom) panicked: inject exploded", true},
		{"step", func(s *scenarios.Scenario) {
			s.Recovery = []scenarios.StepSpec{{Name: "fix", Type: "panicky"}}
		}, "step fix (panicky) panicked: step exploded", true},
		{"revert", func(s *scenarios.Scenario) {
			s.Faults = append(s.Faults, scripted("boom", scriptedCfg{PanicRevert: true}))
		}, "revert of fault boom (scripted-boom) panicked: revert exploded", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				log := &revertLog{attempts: map[string]int{}}
				s := scriptedScenario(scripted("ok", scriptedCfg{}))
				c.modify(s)
				res := runScripted(t, s, log, nil)
				if res.Verdict != result.VerdictError || !strings.Contains(res.Reason, c.reason) {
					t.Errorf("verdict %s reason %q, want error containing %q", res.Verdict, res.Reason, c.reason)
				}
				reverted, attempts := log.snapshot()
				if c.revert && !slices.Contains(reverted, "ok") {
					t.Errorf("fault ok not reverted after the panic: %v", reverted)
				}
				if attempts["boom"] > 1 {
					t.Errorf("panicking revert retried %d times: a panic is a bug, not a transient failure", attempts["boom"])
				}
				if !res.Rollback.Ran {
					t.Error("rollback did not run")
				}
			})
		})
	}
}

// TestSamplerInFlightIsCapped: timeout/interval + 2 samples may be in flight, but never more
// than MaxInFlightCap: 1ms with a 10s timeout would otherwise hold 10,002 requests open
// against a hung target.
func TestSamplerInFlightIsCapped(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		interval, timeout time.Duration
		want              int
	}{
		{100 * time.Millisecond, time.Second, 12},
		{time.Millisecond, 10 * time.Second, MaxInFlightCap},
		{time.Nanosecond, time.Hour, MaxInFlightCap},
	} {
		s := NewSampler(NewClock(), probeFunc(func(context.Context) error { return nil }), SamplerConfig{Interval: c.interval, Timeout: c.timeout})
		if s.cfg.MaxInFlight != c.want {
			t.Errorf("interval %v timeout %v: in-flight bound %d, want %d", c.interval, c.timeout, s.cfg.MaxInFlight, c.want)
		}
	}
}
