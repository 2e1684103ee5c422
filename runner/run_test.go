package runner

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"fmt"
	"github.com/drillhq/drill/internal/redact"
	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/scenarios"
)

// service is a stand-in system whose health the test controls through faults.
type service struct {
	mu       sync.Mutex
	down     bool
	hang     bool
	reverted []string
	events   []string
}

func (s *service) setDown(v bool) { s.mu.Lock(); s.down = v; s.mu.Unlock() }
func (s *service) log(e string)   { s.mu.Lock(); s.events = append(s.events, e); s.mu.Unlock() }

type serviceProbe struct{ svc *service }

func (p serviceProbe) Check(ctx context.Context) error {
	p.svc.mu.Lock()
	down, hang := p.svc.down, p.svc.hang
	p.svc.mu.Unlock()
	if hang {
		<-ctx.Done()
		return ctx.Err()
	}
	if down {
		return errors.New("connection refused")
	}
	return nil
}

// outageCfg is the `with:` of the test fault: take the service down for `for`, optionally
// failing the injection or the revert.
type outageCfg struct {
	For        time.Duration
	Forever    bool
	FailInject bool
	FailRevert bool
	NoDisrupt  bool
	Slow       time.Duration // Inject takes this long before the outage begins (a shell starting)
}

type outageFault struct {
	name string
	cfg  outageCfg
	svc  *service
}

func (f *outageFault) Inject(ctx context.Context) (Injection, error) {
	f.svc.log("inject " + f.name)
	revert := func(ctx context.Context) error {
		f.svc.log("revert " + f.name)
		f.svc.mu.Lock()
		f.svc.reverted = append(f.svc.reverted, f.name)
		f.svc.mu.Unlock()
		f.svc.setDown(false)
		if f.cfg.FailRevert {
			return errors.New("revert refused")
		}
		return nil
	}
	if f.cfg.FailInject {
		return Injection{Revert: revert}, errors.New("permission denied")
	}
	time.Sleep(f.cfg.Slow)
	if !f.cfg.NoDisrupt {
		f.svc.setDown(true)
		if !f.cfg.Forever {
			time.AfterFunc(f.cfg.For, func() { f.svc.setDown(false) })
		}
	}
	return Injection{Targets: []string{"svc-" + f.name}, Revert: revert}, nil
}

type funcStep func(ctx context.Context) error

func (f funcStep) Run(ctx context.Context) error { return f(ctx) }

func testRegistry(svc *service) *Registry {
	reg := NewRegistry()
	reg.AddProbe(ProbeType{Name: "svc", New: func(spec scenarios.ProbeSpec, env *Env) (Probe, error) { return serviceProbe{svc}, nil }})
	reg.AddFault(FaultType{Name: "outage", New: func(cfg any, env *Env) (Fault, error) {
		return &outageFault{name: "f", cfg: *cfg.(*outageCfg), svc: svc}, nil
	}})
	reg.AddStep(StepType{Name: "log", New: func(cfg any, env *Env) (Step, error) {
		msg := cfg.(string)
		return funcStep(func(ctx context.Context) error { svc.log(msg); return nil }), nil
	}})
	reg.AddStep(StepType{Name: "heal", New: func(cfg any, env *Env) (Step, error) {
		return funcStep(func(ctx context.Context) error { svc.setDown(false); return nil }), nil
	}})
	return reg
}

func testScenario(fault outageCfg) *scenarios.Scenario {
	return &scenarios.Scenario{
		Name: "t", System: "sys", File: "t.yaml",
		Objectives: scenarios.Objectives{RTO: 2 * time.Second},
		Probes: []scenarios.ProbeSpec{{
			Name: "health", Type: "svc", Role: scenarios.RoleAvailability,
			Interval: 20 * time.Millisecond, Timeout: 100 * time.Millisecond,
		}},
		SteadyState: []string{"health"},
		Faults:      []scenarios.StepSpec{{Name: "down", Type: "outage", With: &fault}},
		Limits:      scenarios.Limits{Timeout: 30 * time.Second, Observe: 1 * time.Second, Rollback: time.Minute},
	}
}

func TestRunMeasuresRTOOfKnownOutage(t *testing.T) {
	t.Parallel()
	for _, outage := range []time.Duration{1500 * time.Millisecond, 250 * time.Millisecond, 1990 * time.Millisecond, 2500 * time.Millisecond} {
		t.Run(outage.String(), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				svc := &service{}
				res := Run(t.Context(), testScenario(outageCfg{For: outage}), Options{Registry: testRegistry(svc)})
				rto := res.Objectives.RTO
				if rto.MeasuredMs == nil {
					t.Fatalf("RTO not measured; verdict %s: %s", res.Verdict, res.Reason)
				}
				got := time.Duration(*rto.MeasuredMs) * time.Millisecond
				// Samples sit on a 20ms grid, so recovery is seen at the first grid point at or
				// after the outage ends: never early, at most one interval late.
				if got < outage || got > outage+20*time.Millisecond {
					t.Errorf("measured RTO %v for a %v outage, want within [outage, outage+interval]", got, outage)
				}
				wantVerdict := result.VerdictPass
				if outage > 2*time.Second {
					wantVerdict = result.VerdictFail
				}
				if res.Verdict != wantVerdict {
					t.Errorf("verdict %s (%s), want %s", res.Verdict, res.Reason, wantVerdict)
				}
				if rto.ResolutionMs != 20 || rto.Probe != "health" {
					t.Errorf("resolution %d probe %q", rto.ResolutionMs, rto.Probe)
				}
				p := res.Probes[0]
				if p.DowntimeMs == nil || *p.DowntimeMs < outage.Milliseconds()-20 || *p.DowntimeMs > outage.Milliseconds()+20 {
					t.Errorf("downtime %v, want about %v", p.DowntimeMs, outage)
				}
				if p.NoDisruption || len(p.Down) != 1 {
					t.Errorf("noDisruption=%v down=%v", p.NoDisruption, p.Down)
				}
				if res.T0 == "" || !res.Rollback.Clean || len(svc.reverted) != 1 {
					t.Errorf("t0=%q rollback=%+v reverted=%v", res.T0, res.Rollback, svc.reverted)
				}
			})
		})
	}
}

func TestRunNeverRecoveredIsUnboundedFail(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		s := testScenario(outageCfg{Forever: true})
		s.Limits.Timeout = 5 * time.Second
		res := Run(t.Context(), s, Options{Registry: testRegistry(svc)})
		if res.Objectives.RTO.MeasuredMs != nil || res.Objectives.RTO.Met {
			t.Errorf("RTO %+v, want unbounded and not met", res.Objectives.RTO)
		}
		if res.Verdict != result.VerdictFail || result.ExitCode(res.Verdict) != 1 {
			t.Errorf("verdict %s (%s), want fail", res.Verdict, res.Reason)
		}
		if len(svc.reverted) != 1 {
			t.Errorf("fault not reverted after timeout: %v", svc.reverted)
		}
	})
}

func TestRunNoDisruptionIsFlagged(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		res := Run(t.Context(), testScenario(outageCfg{NoDisrupt: true}), Options{Registry: testRegistry(&service{})})
		p := res.Probes[0]
		if !p.NoDisruption || p.RecoveredMs == nil || *p.RecoveredMs != 0 {
			t.Errorf("probe %+v, want no disruption, recovered at 0", p)
		}
		if !hasEvent(res, result.EventProbe, "no disruption observed") {
			t.Errorf("no 'no disruption observed' event in %v", res.Events)
		}
	})
}

func TestRunSteadyStateFailureInjectsNothing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{down: true}
		res := Run(t.Context(), testScenario(outageCfg{For: time.Second}), Options{Registry: testRegistry(svc)})
		if res.Verdict != result.VerdictError || !strings.Contains(res.Reason, "not in steady state") {
			t.Errorf("verdict %s (%s), want error: not in steady state", res.Verdict, res.Reason)
		}
		for _, e := range svc.events {
			if strings.HasPrefix(e, "inject") {
				t.Errorf("fault injected although steady state failed: %v", svc.events)
			}
		}
		if res.T0 != "" || res.Faults[0].InjectedAtMs != nil {
			t.Errorf("t0 %q / injectedAt %v set without injection", res.T0, res.Faults[0].InjectedAtMs)
		}
	})
}

func TestRunInjectionFailureStillReverts(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		res := Run(t.Context(), testScenario(outageCfg{FailInject: true}), Options{Registry: testRegistry(svc)})
		if res.Verdict != result.VerdictError || !strings.Contains(res.Reason, "permission denied") {
			t.Errorf("verdict %s (%s), want error with the injection failure", res.Verdict, res.Reason)
		}
		if len(svc.reverted) != 1 {
			t.Errorf("partially injected fault was not reverted: %v", svc.reverted)
		}
		if res.Faults[0].Error == "" {
			t.Errorf("fault error not recorded: %+v", res.Faults[0])
		}
	})
}

func TestRunRollbackFailureIsError(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		res := Run(t.Context(), testScenario(outageCfg{For: 100 * time.Millisecond, FailRevert: true}), Options{Registry: testRegistry(&service{})})
		if res.Verdict != result.VerdictError || res.Rollback.Clean || len(res.Rollback.Errors) != 1 {
			t.Errorf("verdict %s rollback %+v, want error with one rollback error", res.Verdict, res.Rollback)
		}
		if res.Faults[0].RevertError == "" || res.Faults[0].RevertedAtMs == nil {
			t.Errorf("fault result %+v lacks revert error/time", res.Faults[0])
		}
	})
}

func TestRunInterruptRollsBackAndRefusesSecondSignal(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		sigs := make(chan os.Signal, 2)
		s := testScenario(outageCfg{Forever: true})
		// Rollback blocks until the test has sent the second signal, so it is provably refused.
		release := make(chan struct{})
		s.Rollback = []scenarios.StepSpec{{Name: "wait", Type: "wait"}}
		reg := testRegistry(svc)
		reg.AddStep(StepType{Name: "wait", New: func(any, *Env) (Step, error) {
			return funcStep(func(ctx context.Context) error {
				sigs <- syscall.SIGINT
				time.Sleep(10 * time.Millisecond)
				select {
				case <-release:
				case <-ctx.Done():
					return ctx.Err()
				}
				svc.log("rollback step finished")
				return nil
			}), nil
		}})
		time.AfterFunc(time.Second, func() { sigs <- os.Interrupt })
		time.AfterFunc(2*time.Second, func() { close(release) })
		res := Run(t.Context(), s, Options{Registry: reg, Interrupts: sigs})
		if res.Verdict != result.VerdictAborted || result.ExitCode(res.Verdict) != 3 {
			t.Errorf("verdict %s (%s), want aborted", res.Verdict, res.Reason)
		}
		// The reason says what happened, not what the progress line said at the time.
		if res.Abort != result.AbortInterrupted || res.Reason != "interrupted by interrupt during observe; rollback clean" {
			t.Errorf("abort %q reason %q, want interrupted during observe with a clean rollback", res.Abort, res.Reason)
		}
		if len(svc.reverted) != 1 {
			t.Errorf("fault not reverted after Ctrl-C: %v", svc.reverted)
		}
		if !hasEvent(res, result.EventSignal, "refusing to exit until rollback has finished") {
			t.Errorf("second signal not refused; events: %v", res.Events)
		}
		if svc.events[len(svc.events)-1] != "rollback step finished" {
			t.Errorf("rollback step cut short: %v", svc.events)
		}
	})
}

func TestRunRecoveryStepsRunAfterDelayFromT0(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		s := testScenario(outageCfg{Forever: true})
		s.Recovery = []scenarios.StepSpec{{Name: "heal", Type: "heal", After: 700 * time.Millisecond}}
		res := Run(t.Context(), s, Options{Registry: testRegistry(svc)})
		if res.Verdict != result.VerdictPass {
			t.Fatalf("verdict %s (%s)", res.Verdict, res.Reason)
		}
		if got := *res.Objectives.RTO.MeasuredMs; got < 700 || got > 720 {
			t.Errorf("RTO %dms, want the heal step's 700ms (+ one interval)", got)
		}
		if len(res.Steps) != 1 || *res.Steps[0].StartedAtMs != 700 {
			t.Errorf("steps %+v, want heal started at +700ms", res.Steps)
		}
	})
}

func TestRunGuardTripAborts(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		s := testScenario(outageCfg{Forever: true})
		s.Probes = append(s.Probes, scenarios.ProbeSpec{Name: "guard", Type: "svc", Role: scenarios.RoleGuard, Interval: 50 * time.Millisecond, Timeout: 50 * time.Millisecond})
		res := Run(t.Context(), s, Options{Registry: testRegistry(svc)})
		if res.Verdict != result.VerdictAborted || res.Abort != result.AbortGuard || !strings.Contains(res.Reason, "guard probe guard tripped") {
			t.Errorf("verdict %s (%s), want aborted by guard", res.Verdict, res.Reason)
		}
		if len(svc.reverted) != 1 {
			t.Errorf("not reverted: %v", svc.reverted)
		}
	})
}

func TestRunHungProbeDoesNotStretchGrid(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{hang: true}
		clock := NewClock()
		var mu sync.Mutex
		var samples []measure.Sample
		sm := NewSampler(clock, serviceProbe{svc}, SamplerConfig{Interval: 10 * time.Millisecond, Timeout: 45 * time.Millisecond,
			OnSample: func(s measure.Sample) { mu.Lock(); samples = append(samples, s); mu.Unlock() }})
		sm.Start(t.Context())
		time.Sleep(time.Second)
		sm.Stop()
		slices.SortFunc(samples, func(a, b measure.Sample) int { return cmp.Compare(a.Start, b.Start) })
		// 100 grid points in 1s: a hung target must not reduce the sample count.
		if len(samples) < 100 || len(samples) > 101 {
			t.Fatalf("%d samples in 1s at 10ms, want 100", len(samples))
		}
		for i, s := range samples {
			if want := time.Duration(i) * 10 * time.Millisecond; s.Start != want {
				t.Fatalf("sample %d started at %v, want %v (grid)", i, s.Start, want)
			}
			if s.OK {
				t.Fatalf("sample %d of a hung target succeeded", i)
			}
		}
		var limited int
		for _, s := range samples {
			if s.Err == ErrInFlightLimit.Error() {
				limited++
			}
		}
		if limited != 0 {
			t.Errorf("%d samples hit the in-flight bound although timeout/interval+2 slots suffice", limited)
		}
	})
}

func TestRunDataProbeRPO(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		dp := &fakeDataProbe{lose: map[uint64]bool{5: true, 6: true}}
		reg := testRegistry(svc)
		reg.AddProbe(ProbeType{Name: "writes", New: func(spec scenarios.ProbeSpec, env *Env) (Probe, error) { dp.clock = env.Clock; return dp, nil }})
		s := testScenario(outageCfg{For: 300 * time.Millisecond})
		rpo := 50 * time.Millisecond
		s.Objectives.RPO = &rpo
		s.Probes = append(s.Probes, scenarios.ProbeSpec{Name: "w", Type: "writes", Role: scenarios.RoleData, Interval: 100 * time.Millisecond, Timeout: 50 * time.Millisecond})
		res := Run(t.Context(), s, Options{Registry: reg})
		got := res.Objectives.RPO
		// Writes every 100ms, each acked 1ms after invoke; 5 and 6 lost, 4 survived:
		// RPO = ack(6) - ack(4) = 200ms.
		if got.LostWrites != 2 || got.MeasuredMs == nil || *got.MeasuredMs != 200 || got.Met {
			t.Errorf("rpo %+v, want 2 lost, 200ms, not met", got)
		}
		if res.Verdict != result.VerdictFail {
			t.Errorf("verdict %s (%s), want fail on RPO", res.Verdict, res.Reason)
		}
	})
}

type fakeDataProbe struct {
	mu     sync.Mutex
	clock  *Clock
	seq    uint64
	writes []measure.Write
	lose   map[uint64]bool
}

func (p *fakeDataProbe) Check(ctx context.Context) error {
	p.mu.Lock()
	p.seq++
	w := measure.Write{Seq: p.seq, Invoke: p.clock.Now()}
	p.mu.Unlock()
	time.Sleep(time.Millisecond)
	w.Ack = p.clock.Now()
	p.mu.Lock()
	p.writes = append(p.writes, w)
	p.mu.Unlock()
	return nil
}

func (p *fakeDataProbe) Writes() []measure.Write {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]measure.Write(nil), p.writes...)
}

func (p *fakeDataProbe) ReadBack(ctx context.Context) (map[uint64]bool, error) {
	present := map[uint64]bool{}
	for _, w := range p.Writes() {
		if !p.lose[w.Seq] {
			present[w.Seq] = true
		}
	}
	return present, nil
}

func hasEvent(res *result.Result, kind, substr string) bool {
	for _, e := range res.Events {
		if e.Kind == kind && strings.Contains(e.Message, substr) {
			return true
		}
	}
	return false
}

// stallProbe fails fast while the service is down, and hangs then fails for samples that start
// inside a stall window (a disk stall on the target).
type stallProbe struct {
	svc                *service
	base               time.Time
	stallFrom, stallTo time.Duration
	stallFor           time.Duration
}

func (p stallProbe) Check(ctx context.Context) error {
	if at := time.Since(p.base); at >= p.stallFrom && at < p.stallTo {
		time.Sleep(p.stallFor)
		return errors.New("stalled")
	}
	return serviceProbe{p.svc}.Check(ctx)
}

// TestRunSamplesInFlightAtDecisionDoNotOverturnIt: recovery is judged on completed samples; a
// stall that begins just as that judgement is made must not turn a recovered drill into
// "not recovered".
func TestRunSamplesInFlightAtDecisionDoNotOverturnIt(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		base := time.Now()
		reg := NewRegistry()
		reg.AddProbe(ProbeType{Name: "stall", New: func(spec scenarios.ProbeSpec, env *Env) (Probe, error) {
			// Outage 0-1s; recovery held from 1.0s + 0.49s observe; the stall starts at 1.47s.
			return stallProbe{svc: svc, base: base, stallFrom: 1470 * time.Millisecond, stallTo: 1600 * time.Millisecond, stallFor: 80 * time.Millisecond}, nil
		}})
		reg.AddFault(FaultType{Name: "outage", New: func(cfg any, env *Env) (Fault, error) {
			return &outageFault{name: "f", cfg: *cfg.(*outageCfg), svc: svc}, nil
		}})
		s := testScenario(outageCfg{For: time.Second})
		s.Probes[0].Type = "stall"
		s.Limits.Observe = 490 * time.Millisecond
		res := Run(t.Context(), s, Options{Registry: reg})
		if res.Verdict != result.VerdictPass {
			t.Fatalf("verdict %s (%s); want pass: the stall began after recovery was judged", res.Verdict, res.Reason)
		}
		if got := *res.Objectives.RTO.MeasuredMs; got < 1000 || got > 1020 {
			t.Errorf("RTO %dms, want 1000 (+ one interval)", got)
		}
	})
}

type plannedFault struct {
	outageFault
	planned bool
}

func (f *plannedFault) Plan(context.Context) ([]string, error) {
	f.planned = true
	return []string{"i-1", "i-2"}, nil
}

func TestRunAnnouncesTargetsBeforeInjecting(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		reg := testRegistry(svc)
		reg.AddFault(FaultType{Name: "planned", New: func(cfg any, env *Env) (Fault, error) {
			return &plannedFault{outageFault: outageFault{name: "p", cfg: outageCfg{For: 100 * time.Millisecond}, svc: svc}}, nil
		}})
		s := testScenario(outageCfg{})
		s.Faults[0].Type = "planned"
		res := Run(t.Context(), s, Options{Registry: reg})
		announced, injected := -1, -1
		for i, e := range res.Events {
			if strings.Contains(e.Message, "planned targets: i-1, i-2") {
				announced = i
			}
			if e.Kind == result.EventPhase && e.Message == PhaseInject {
				injected = i
			}
		}
		if announced < 0 || injected < 0 || announced > injected {
			t.Errorf("targets announced at event %d, inject phase at %d: want the announcement first; events %+v", announced, injected, res.Events)
		}
	})
}

// TestRunDryRunPlanLines: a fault that resolves targets lists them; one that resolves nothing in
// advance (a command) gets no targets clause, which would read as if it hit nothing.
func TestRunDryRunPlanLines(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		fault string
		want  string
	}{
		{"planned", "plan: fault down (planned) would be injected; targets: i-1, i-2"},
		{"outage", "plan: fault down (outage) would be injected"},
	} {
		t.Run(tt.fault, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				svc := &service{}
				reg := testRegistry(svc)
				reg.AddFault(FaultType{Name: "planned", New: func(cfg any, env *Env) (Fault, error) {
					return &plannedFault{outageFault: outageFault{name: "p", svc: svc}}, nil
				}})
				s := testScenario(outageCfg{})
				s.Faults[0].Type = tt.fault
				res := Run(t.Context(), s, Options{Registry: reg, DryRun: true})
				var plans []string
				for _, e := range res.Events {
					if strings.HasPrefix(e.Message, "plan: ") {
						plans = append(plans, e.Message)
					}
				}
				if len(plans) != 1 || plans[0] != tt.want {
					t.Errorf("plan lines %q, want [%q]", plans, tt.want)
				}
			})
		})
	}
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n <= 0 {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestRunSamplesFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		w        func() io.Writer
		wantNote string // a timeline note the run must carry
	}{
		{name: "every sample written", w: func() io.Writer { return &bytes.Buffer{} }},
		{name: "a failing writer does not fail the drill", w: func() io.Writer { return &failingWriter{} }, wantNote: "--samples: writing samples failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				svc := &service{}
				s := testScenario(outageCfg{For: 300 * time.Millisecond})
				s.Secrets = redact.New("refused")
				w := tt.w()
				res := Run(t.Context(), s, Options{Registry: testRegistry(svc), Samples: w})
				if res.Verdict != result.VerdictPass {
					t.Fatalf("verdict %s (%s), want pass", res.Verdict, res.Reason)
				}
				if tt.wantNote != "" && !hasEvent(res, result.EventNote, tt.wantNote) {
					t.Errorf("no note %q in the timeline", tt.wantNote)
				}
				buf, ok := w.(*bytes.Buffer)
				if !ok {
					return
				}
				var recs []SampleRecord
				fails := 0
				for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
					var rec SampleRecord
					if err := json.Unmarshal([]byte(line), &rec); err != nil {
						t.Fatalf("line %q: %v", line, err)
					}
					if rec.Run != res.RunID || rec.Probe != "health" {
						t.Errorf("record %+v: want run %s, probe health", rec, res.RunID)
					}
					if !rec.OK {
						fails++
						if strings.Contains(rec.Error, "refused") {
							t.Errorf("secret not redacted: %q", rec.Error)
						}
					}
					recs = append(recs, rec)
				}
				if len(recs) != res.Probes[0].Samples {
					t.Errorf("%d lines, want one per sample (%d)", len(recs), res.Probes[0].Samples)
				}
				if fails < res.Probes[0].Failures || fails == 0 {
					t.Errorf("%d failed lines, result counts %d failures after t0", fails, res.Probes[0].Failures)
				}
				checkAgainstRecorded(t, res, recs)
			})
		})
	}
}

func TestRunRecordsWhenInjectionEnded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		slow      time.Duration
		wantUntil int64
		wantEvent string
	}{
		{name: "instant", wantUntil: 0, wantEvent: "down injected (outage) in 0s"},
		{name: "a shell that takes 15ms", slow: 15 * time.Millisecond, wantUntil: 15, wantEvent: "down injected (outage) in 15ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				res := Run(t.Context(), testScenario(outageCfg{For: 200 * time.Millisecond, Slow: tt.slow}), Options{Registry: testRegistry(&service{})})
				f := res.Faults[0]
				if f.InjectedAtMs == nil || *f.InjectedAtMs != 0 || f.InjectedUntilMs == nil || *f.InjectedUntilMs != tt.wantUntil {
					t.Errorf("injectedAtMs %v, injectedUntilMs %v; want 0, %d", f.InjectedAtMs, f.InjectedUntilMs, tt.wantUntil)
				}
				found := false
				for _, ev := range res.Events {
					if ev.Kind == result.EventFault && strings.HasPrefix(ev.Message, tt.wantEvent) {
						found = ev.AtMs == tt.wantUntil
					}
				}
				if !found {
					t.Errorf("no fault event %q at +%dms in %+v", tt.wantEvent, tt.wantUntil, res.Events)
				}
			})
		})
	}
}

// checkAgainstRecorded replays the recorded samples through the batch computation and compares
// what does not depend on where observation ended (the service stays up after recovering, so
// samples after the end add nothing but successes) with what the streaming runner reported.
func checkAgainstRecorded(t *testing.T, res *result.Result, recs []SampleRecord) {
	t.Helper()
	t0Wall, err := time.Parse(result.T0Layout, res.T0)
	if err != nil {
		t.Fatal(err)
	}
	t0 := t0Wall.Sub(res.StartedAt)
	var samples []measure.Sample
	for _, r := range recs {
		start := time.Duration(r.StartMs * float64(time.Millisecond))
		samples = append(samples, measure.Sample{Start: start, End: start + time.Duration(r.LatencyMs*float64(time.Millisecond)), OK: r.OK, Err: r.Error})
	}
	rec := measure.ComputeRecovery(samples, t0, time.Hour)
	p := res.Probes[0]
	if !rec.Recovered || p.RecoveredMs == nil || p.DowntimeMs == nil || p.FirstFailureMs == nil {
		t.Fatalf("batch %+v, streamed %+v: want both recovered", rec, p)
	}
	var down []result.Interval
	for _, d := range rec.Down {
		down = append(down, result.Interval{FromMs: result.Ms(d.From), ToMs: result.Ms(d.To)})
	}
	got := []any{p.Failures, *p.FirstFailureMs, *p.RecoveredMs, *p.DowntimeMs, p.Down}
	want := []any{rec.Failures, result.Ms(rec.FirstFailure), result.Ms(rec.At), result.Ms(rec.Downtime), down}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("streamed result vs batch over the --samples records (-batch +streamed):\n%s", diff)
	}
}

// TestRunRecordsWhatItCouldJudge: whatever stops a drill, the result carries the scenario's
// targets, and an RTO is measured only when every fault was injected and observed.
func TestRunRecordsWhatItCouldJudge(t *testing.T) {
	t.Parallel()
	rpo := 500 * time.Millisecond
	tests := []struct {
		name         string
		svc          *service
		fault        outageCfg
		wantVerdict  result.Verdict
		wantMeasured bool
		wantUnproven bool
	}{
		{"not in steady state", &service{down: true}, outageCfg{For: time.Second}, result.VerdictError, false, false},
		{"injection failed", &service{}, outageCfg{FailInject: true}, result.VerdictError, false, false},
		{"recovered", &service{}, outageCfg{For: 300 * time.Millisecond}, result.VerdictPass, true, false},
		{"nothing disturbed", &service{}, outageCfg{NoDisrupt: true}, result.VerdictPass, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				s := testScenario(tt.fault)
				if tt.wantVerdict == result.VerdictError {
					s.Objectives.RPO = &rpo // no data probe: would fail a drill that ran
				}
				res := Run(t.Context(), s, Options{Registry: testRegistry(tt.svc)})
				if res.Verdict != tt.wantVerdict {
					t.Fatalf("verdict %s (%s), want %s", res.Verdict, res.Reason, tt.wantVerdict)
				}
				if got := res.Objectives.RTO.TargetMs; got != 2000 {
					t.Errorf("rto.targetMs %d, want the scenario's 2000", got)
				}
				if got := res.Objectives.RPO.TargetMs; s.Objectives.RPO != nil && (got == nil || *got != 500) {
					t.Errorf("rpo.targetMs %v, want the scenario's 500", got)
				}
				if got := res.Objectives.RTO.MeasuredMs != nil; got != tt.wantMeasured {
					t.Errorf("rto measured %v (%+v), want measured=%v", got, res.Objectives.RTO, tt.wantMeasured)
				}
				if res.Unproven != tt.wantUnproven || (res.Unproven && res.UnprovenReason == "") {
					t.Errorf("unproven %v (%q), want %v", res.Unproven, res.UnprovenReason, tt.wantUnproven)
				}
			})
		})
	}
}

func TestRunDryRunGivesNoVerdictWording(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		res := Run(t.Context(), testScenario(outageCfg{For: time.Second}), Options{Registry: testRegistry(svc), DryRun: true})
		if !res.DryRun || res.Verdict != result.VerdictPass {
			t.Errorf("dryRun %v verdict %s: want dryRun with exit-compatible pass", res.DryRun, res.Verdict)
		}
		for _, e := range res.Events {
			if e.Kind == result.EventVerdict && strings.HasPrefix(e.Message, "pass") {
				t.Errorf("dry run's verdict event says %q", e.Message)
			}
		}
		if len(svc.events) != 0 {
			t.Errorf("dry run touched the service: %v", svc.events)
		}
	})
}

// Without a data probe, the RPO is t0 minus the oldest recovery point a restore step reported;
// with one, the data probe measures it and restore points are only evidence.
func TestRunRestorePointRPO(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		target    time.Duration
		ages      []time.Duration // how long before t0 each restore point is
		dataProbe bool
		wantMs    int64
		wantSrc   string
		verdict   result.Verdict
	}{
		{"within target", 2 * time.Minute, []time.Duration{90 * time.Second}, false, 90_000, result.RPOSourceRestorePoint, result.VerdictPass},
		{"exceeds target", time.Minute, []time.Duration{90 * time.Second}, false, 90_000, result.RPOSourceRestorePoint, result.VerdictFail},
		{"oldest point counts", 2 * time.Minute, []time.Duration{10 * time.Second, 3 * time.Minute}, false, 180_000, result.RPOSourceRestorePoint, result.VerdictFail},
		{"point after t0 loses nothing", time.Second, []time.Duration{-5 * time.Second}, false, 0, result.RPOSourceRestorePoint, result.VerdictPass},
		{"data probe wins", time.Second, []time.Duration{90 * time.Second}, true, 0, result.RPOSourceDataProbe, result.VerdictPass},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				svc := &service{}
				reg := testRegistry(svc)
				reg.AddStep(NewStepType("restore", "", nil, func(_ *struct{}, env *Env) (Step, error) {
					return funcStep(func(ctx context.Context) error {
						t0, ok := env.T0()
						if !ok {
							return errors.New("no t0")
						}
						for _, age := range tt.ages {
							env.RecoveryPoint(t0.Add(-age), fmt.Sprintf("snapshot %v old", age))
						}
						svc.setDown(false)
						return nil
					}), nil
				}, AsRestorePoint()))
				s := testScenario(outageCfg{Forever: true})
				s.Objectives.RPO = &tt.target
				s.Recovery = []scenarios.StepSpec{{Name: "restore", Type: "restore", After: 100 * time.Millisecond}}
				if tt.dataProbe {
					dp := &fakeDataProbe{}
					reg.AddProbe(ProbeType{Name: "writes", Data: true, New: func(spec scenarios.ProbeSpec, env *Env) (Probe, error) { dp.clock = env.Clock; return dp, nil }})
					s.Probes = append(s.Probes, scenarios.ProbeSpec{Name: "w", Type: "writes", Role: scenarios.RoleData, Interval: 100 * time.Millisecond, Timeout: 50 * time.Millisecond})
				}
				res := Run(t.Context(), s, Options{Registry: reg})
				got := res.Objectives.RPO
				if got.MeasuredMs == nil || *got.MeasuredMs != tt.wantMs || got.Source != tt.wantSrc {
					t.Fatalf("rpo %+v (verdict %s: %s), want %dms from %s", got, res.Verdict, res.Reason, tt.wantMs, tt.wantSrc)
				}
				if res.Verdict != tt.verdict {
					t.Errorf("verdict %s (%s), want %s", res.Verdict, res.Reason, tt.verdict)
				}
				if tt.wantSrc == result.RPOSourceRestorePoint && (got.RestorePoint == nil || got.RestoredFrom == "") {
					t.Errorf("restore point not recorded: %+v", got)
				}
				if !hasEvent(res, result.EventNote, "restore point ") {
					t.Errorf("no note recording the restore point")
				}
			})
		})
	}
}

func TestRegistryDeclaresRPOSources(t *testing.T) {
	reg := NewRegistry()
	reg.AddProbe(NewProbeType("w", "", nil, func(*struct{}, scenarios.ProbeSpec, *Env) (Probe, error) { return nil, nil }, AsDataProbe()))
	reg.AddProbe(NewProbeType("h", "", nil, func(*struct{}, scenarios.ProbeSpec, *Env) (Probe, error) { return nil, nil }))
	reg.AddStep(NewStepType("r", "", nil, func(*struct{}, *Env) (Step, error) { return nil, nil }, AsRestorePoint()))
	reg.AddStep(NewStepType("s", "", nil, func(*struct{}, *Env) (Step, error) { return nil, nil }))
	var cat scenarios.RPOCatalog = reg
	if !cat.DataProbe("w") || cat.DataProbe("h") || cat.DataProbe("nope") {
		t.Errorf("DataProbe: w=%v h=%v nope=%v", cat.DataProbe("w"), cat.DataProbe("h"), cat.DataProbe("nope"))
	}
	if !cat.RestorePoint("r") || cat.RestorePoint("s") {
		t.Errorf("RestorePoint: r=%v s=%v", cat.RestorePoint("r"), cat.RestorePoint("s"))
	}
}
