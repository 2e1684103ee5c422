// Package runner is the drill engine: it walks the phases of docs/DESIGN.md §1, samples probes
// open-loop, measures recovery, and always rolls back.
package runner

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/scenarios"
)

// Options configure one drill run.
type Options struct {
	Registry    *Registry
	Observer    Observer // nil: no live progress
	Log         *slog.Logger
	DryRun      bool
	ToolVersion string
	Provenance  result.Provenance // who and where, copied into the result
	// Interrupts delivers Ctrl-C/SIGTERM. The first one cancels the drill and moves it to
	// rollback; later ones are refused with a message while rollback runs.
	Interrupts <-chan os.Signal
	// Env, when set, is used instead of a fresh one (tests inject values this way).
	Env *Env
	// RunID, when set, is the run's id (the caller already named its journal and lock after
	// it); otherwise NewRunID makes one.
	RunID string
	// Journal, when set, records every injection before it happens (see Fault). nil: a crash
	// leaves no record, as for library callers that do not need recovery.
	Journal Journal
	// Samples, when set, receives every raw probe sample as a JSON line (SampleRecord), secrets
	// redacted. The runner itself keeps no samples, so this is the raw evidence. A slow or
	// failing writer never fails the drill: the timeline notes it once.
	Samples io.Writer
}

// Run executes one drill and returns its result. It never returns without having attempted to
// revert every injected fault.
func Run(ctx context.Context, s *scenarios.Scenario, opts Options) *result.Result {
	r := newRun(s, opts)
	r.execute(ctx)
	redactResult(r.res, s.Secrets)
	return r.res
}

type run struct {
	s    *scenarios.Scenario
	opts Options
	env  *Env
	log  *slog.Logger
	res  *result.Result

	// deliver keeps the observer's view in order with t0: an event computed relative to the
	// run's start must reach the observer before T0 does, and one relative to t0 after it.
	// Taken before mu, never while holding it.
	deliver sync.Mutex

	mu         sync.Mutex
	events     []timedEvent
	t0         time.Duration
	haveT0     bool
	phase      string
	aborted    string             // why the drill was aborted, as the timeline tells it
	abortKind  result.AbortReason // the same, typed
	abortPhase string             // the phase the drill was in when it was aborted
	abortSig   os.Signal          // the signal, for AbortInterrupted
	touched    bool               // prepare or injection started: rollback steps must run
	errs       []string
	inRollback bool
	observed   string // how observation ended: "held", "timeout", "stopped" or "step failed"
	// cancel stops the drill (not rollback): a panicking probe uses it to end the run early.
	cancel context.CancelCauseFunc

	probes    []*probeRun
	faults    []*faultRun
	cleanups  []namedCleanup
	sampleLog *sampleLog // nil without Options.Samples
}

type timedEvent struct {
	at time.Duration
	ev result.Event
}

type namedCleanup struct {
	name string
	fn   func(context.Context) error
}

type probeRun struct {
	spec    scenarios.ProbeSpec
	probe   Probe
	sampler *Sampler

	mu        sync.Mutex
	lastStart time.Duration
	known, up bool
	samples   int
	fails     int
	panicked  bool // reported once: a broken probe panics on every sample
}

type faultRun struct {
	planned   []string // targets Plan resolved before injection, for the journal
	spec      scenarios.StepSpec
	fault     Fault
	injected  bool
	injection Injection
	res       result.Fault
}

func newRun(s *scenarios.Scenario, opts Options) *run {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = redactLog(log, s.Secrets)
	if opts.Observer != nil {
		opts.Observer = redactingObserver{next: opts.Observer, secrets: s.Secrets}
	}
	env := opts.Env
	if env == nil {
		env = NewEnv(s, log)
	} else {
		env.Log = redactLog(env.Log, s.Secrets)
	}
	env.DryRun = opts.DryRun
	res := &result.Result{
		Schema:         result.Schema,
		RunID:          cmp.Or(opts.RunID, NewRunID()),
		Scenario:       s.Name,
		ScenarioFile:   s.File,
		ScenarioSHA256: s.SHA256,
		Description:    s.Description,
		System:         s.System,
		Owner:          s.Owner,
		Tags:           s.Tags,
		Cadence:        s.Cadence,
		ToolVersion:    opts.ToolVersion,
		Provenance:     opts.Provenance,
		DryRun:         opts.DryRun,
		StartedAt:      env.Clock.Origin().UTC(),
		Probes:         []result.Probe{},
		Faults:         []result.Fault{},
		Steps:          []result.Step{},
		Events:         []result.Event{},
	}
	// The targets are the scenario's whatever happens: a drill that stops before its fault must
	// not record a 0 s target that reports would take for the system's objective.
	res.Objectives.RTO.TargetMs = result.Ms(s.Objectives.RTO)
	if s.Objectives.RPO != nil {
		res.Objectives.RPO.TargetMs = result.Int64(result.Ms(*s.Objectives.RPO))
	}
	r := &run{s: s, opts: opts, env: env, log: log, res: res}
	env.setNote(func(msg string) { r.event(result.EventNote, "%s", msg) })
	return r
}

// NewRunID returns a fresh run id: UTC start time and 32 random bits.
func NewRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// event records a timeline event now and forwards it to the observer.
func (r *run) event(kind, format string, args ...any) {
	r.eventAt(r.env.Clock.Now(), kind, format, args...)
}

// eventAt records an event that happened at a given offset (a probe sample's start).
func (r *run) eventAt(at time.Duration, kind, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.deliver.Lock()
	defer r.deliver.Unlock()
	r.mu.Lock()
	ev := result.Event{AtMs: result.Ms(at - r.relOrigin()), Kind: kind, Message: msg}
	r.events = append(r.events, timedEvent{at: at, ev: ev})
	if kind == result.EventPhase {
		r.phase = msg
	}
	r.mu.Unlock()
	r.log.Debug("event", "kind", kind, "message", msg)
	if r.opts.Observer != nil {
		r.opts.Observer.Event(r.s.Name, ev)
	}
}

// relOrigin is t0 once known, else the start of the run. Callers hold r.mu.
func (r *run) relOrigin() time.Duration {
	if r.haveT0 {
		return r.t0
	}
	return 0
}

func (r *run) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.mu.Lock()
	r.errs = append(r.errs, msg)
	r.mu.Unlock()
	r.event(result.EventError, "%s", msg)
}

func (r *run) abort(kind result.AbortReason, sig os.Signal, why string) {
	r.mu.Lock()
	first := r.aborted == ""
	if first {
		r.aborted, r.abortKind, r.abortSig, r.abortPhase = why, kind, sig, r.phase
	}
	r.mu.Unlock()
	if first {
		r.event(result.EventSignal, "%s", why)
	}
}

// abortedSummary is the reason of an aborted run: what happened and how rollback went, not the
// progress message the user saw when it happened.
func (r *run) abortedSummary() string {
	r.mu.Lock()
	why, kind, sig, phase := r.aborted, r.abortKind, r.abortSig, r.abortPhase
	r.mu.Unlock()
	rb := r.res.Rollback
	left := r.leftInPlace()
	if kind != result.AbortInterrupted {
		if left != "" {
			return fmt.Sprintf("%s; rollback failed: left in place: %s (%s)", why, left, rb.Errors[0])
		}
		return why
	}
	outcome := "rollback clean"
	switch {
	case !rb.Ran:
		outcome = "nothing to roll back"
	case left != "":
		outcome = fmt.Sprintf("rollback failed: left in place: %s (%s)", left, rb.Errors[0])
	case !rb.Clean && len(rb.Errors) > 0:
		outcome = "rollback failed: " + rb.Errors[0]
	case !rb.Clean:
		outcome = "rollback failed"
	}
	if phase == "" {
		return fmt.Sprintf("interrupted by %v; %s", sig, outcome)
	}
	return fmt.Sprintf("interrupted by %v during %s; %s", sig, phase, outcome)
}

func (r *run) abortedReason() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.aborted
}

func (r *run) execute(parent context.Context) {
	s := r.s
	// drillCtx is cancelled by Ctrl-C, a tripped guard or limits.timeout; rollback and cleanup
	// use context.WithoutCancel(parent) so none of those can stop them.
	drillCtx, cancelDrill := context.WithCancelCause(parent)
	defer cancelDrill(nil)
	r.cancel = cancelDrill
	stopSignals := r.watchInterrupts(cancelDrill)
	defer stopSignals()

	r.event(result.EventPhase, PhaseLoad)
	r.event(result.EventStep, "scenario %s loaded from %s (sha256 %.12s)", s.Name, s.File, s.SHA256)

	timeoutCtx, cancelTimeout := context.WithTimeoutCause(drillCtx, s.Limits.Timeout, errDrillTimeout)
	defer cancelTimeout()

	defer r.finish(parent)

	r.event(result.EventPhase, PhaseConnect)
	if !r.connect(timeoutCtx) || !r.build() {
		return
	}
	if r.opts.DryRun {
		r.plan(timeoutCtx)
		return
	}

	r.announceTargets(timeoutCtx)

	r.event(result.EventPhase, PhaseSteady)
	r.res.SteadyState.Before = r.steadyState(timeoutCtx, false)
	if !r.res.SteadyState.Before.Passed {
		r.fail("system not in steady state: %s", strings.Join(r.res.SteadyState.Before.Failed, "; "))
		r.res.SteadyState.After.Skipped = "steady state failed before any fault"
		return
	}

	r.event(result.EventPhase, PhaseProbes)
	r.startProbes(timeoutCtx, cancelDrill)

	observeEnd := r.inject(timeoutCtx)
	for _, sm := range r.samplers() {
		sm.SetEnd(observeEnd) // samples that start later are outside the window: not kept
	}
	r.stopProbes()
	if r.sampleLog != nil {
		r.sampleLog.close() // every sample has completed: flush before measuring
	}
	r.measure(observeEnd)
	r.rollback(parent)
	r.dataCheck(parent)
	r.event(result.EventPhase, PhaseSteadyAft)
	r.res.SteadyState.After = r.steadyState(context.WithoutCancel(parent), true)
	if !r.res.SteadyState.After.Passed && r.res.SteadyState.After.Ran {
		r.fail("system not back in steady state after rollback: %s", strings.Join(r.res.SteadyState.After.Failed, "; "))
	}
}

var errDrillTimeout = errors.New("limits.timeout reached")

// watchInterrupts turns the first signal into a cancel and refuses the rest during rollback.
func (r *run) watchInterrupts(cancel context.CancelCauseFunc) (stop func()) {
	if r.opts.Interrupts == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		count := 0
		for {
			select {
			case <-done:
				return
			case sig := <-r.opts.Interrupts:
				count++
				if count == 1 {
					r.abort(result.AbortInterrupted, sig, fmt.Sprintf("interrupted by %v: stopping the drill and rolling back (faults will be reverted; a second signal will not stop rollback)", sig))
					cancel(fmt.Errorf("interrupted by %v", sig))
					continue
				}
				r.event(result.EventSignal, "received %v again: refusing to exit until rollback has finished (faults must be reverted; use SIGKILL only if you accept leaving them in place)", sig)
			}
		}
	}()
	return func() { close(done) }
}

func (r *run) connect(ctx context.Context) bool {
	for _, c := range r.opts.Registry.Connectors() {
		if !c.Wants(r.s) {
			continue
		}
		r.event(result.EventStep, "connecting %s", c.Name())
		var cleanup func(context.Context) error
		err := catchPanic("connector "+c.Name(), func() (err error) {
			cleanup, err = c.Connect(r.scopeConnector(ctx, c.Name()), r.env)
			return err
		})
		r.notePanic(err)
		if cleanup != nil {
			r.cleanups = append(r.cleanups, namedCleanup{c.Name(), cleanup})
		}
		if err != nil {
			r.fail("connect %s: %v", c.Name(), ctxErr(ctx, err))
			return false
		}
	}
	return true
}

// build constructs every probe, fault and step after connect, so types can use its values.
func (r *run) build() bool {
	reg := r.opts.Registry
	ok := true
	for _, p := range r.s.Probes {
		t, found := reg.probes[p.Type]
		if !found {
			r.fail("probe %s: type %q is not registered", p.Name, p.Type)
			ok = false
			continue
		}
		var pr Probe
		err := catchPanic(fmt.Sprintf("probe %s (%s)", p.Name, p.Type), func() (err error) {
			pr, err = t.New(p, r.env)
			return err
		})
		r.notePanic(err)
		if err != nil {
			r.fail("probe %s: %v", p.Name, err)
			ok = false
			continue
		}
		r.probes = append(r.probes, &probeRun{spec: p, probe: pr})
	}
	for _, f := range r.s.Faults {
		t, found := reg.faults[f.Type]
		if !found {
			r.fail("fault %s: type %q is not registered", f.Name, f.Type)
			ok = false
			continue
		}
		var fl Fault
		err := catchPanic(fmt.Sprintf("fault %s (%s)", f.Name, f.Type), func() (err error) {
			fl, err = t.New(f.With, r.env)
			return err
		})
		r.notePanic(err)
		if err != nil {
			r.fail("fault %s: %v", f.Name, err)
			ok = false
			continue
		}
		r.faults = append(r.faults, &faultRun{spec: f, fault: fl, res: result.Fault{Name: f.Name, Type: f.Type, Targets: []string{}}})
	}
	for _, phase := range [][]scenarios.StepSpec{r.s.Prepare, r.s.Recovery, r.s.Rollback} {
		for _, st := range phase {
			if _, found := reg.steps[st.Type]; !found {
				r.fail("step %s: type %q is not registered", st.Name, st.Type)
				ok = false
			}
		}
	}
	return ok
}

func (r *run) newStep(spec scenarios.StepSpec) (Step, error) {
	t := r.opts.Registry.steps[spec.Type]
	return t.New(spec.With, r.env)
}

// plan resolves fault targets for --dry-run without injecting anything.
func (r *run) plan(ctx context.Context) {
	for _, f := range r.faults {
		f.res.Targets = []string{}
		p, ok := f.fault.(Planner)
		if !ok {
			// A type that resolves nothing in advance (a command, a random majority of a lab)
			// has no target list to show; "targets: none" would read as if it hit nothing.
			r.event(result.EventFault, "plan: fault %s (%s) would be injected", f.spec.Name, f.spec.Type)
			continue
		}
		targets, err := planSafely(ctx, f, p)
		if err != nil {
			f.res.Error = fmt.Sprintf("resolve targets: %v", err)
			r.fail("fault %s: resolve targets: %v", f.spec.Name, err)
			continue
		}
		f.res.Targets = targets
		r.event(result.EventFault, "plan: fault %s (%s) would be injected; targets: %s", f.spec.Name, f.spec.Type, targetList(targets))
	}
}

// announceTargets shows, before anything is touched, what each fault plans to act on, so an
// operator watching a drill against a real account sees the blast radius first. AWS selections
// are fixed per fault, so they are exactly what is injected; role-based picks ("the current
// leader") are re-resolved at injection, and the fault event then records the actual targets.
func (r *run) announceTargets(ctx context.Context) {
	for _, f := range r.faults {
		p, ok := f.fault.(Planner)
		if !ok {
			continue
		}
		targets, err := planSafely(ctx, f, p)
		if err != nil {
			r.event(result.EventFault, "%s (%s) targets could not be resolved yet: %v", f.spec.Name, f.spec.Type, err)
			continue
		}
		f.planned = targets
		r.event(result.EventFault, "%s (%s) planned targets: %s", f.spec.Name, f.spec.Type, targetList(targets))
	}
}

func targetList(t []string) string {
	if len(t) == 0 {
		return "none resolved yet"
	}
	return strings.Join(t, ", ")
}

// steadyState checks every steadyState probe. After rollback a system may need a moment (a
// restarted member rejoining), so the after-check retries for up to limits.observe (at least 5s).
func (r *run) steadyState(ctx context.Context, after bool) result.Check {
	c := result.Check{Ran: true, Passed: true}
	if len(r.s.SteadyState) == 0 {
		c.Skipped = "no steadyState probes listed"
		return c
	}
	deadline := time.Now()
	if after {
		deadline = deadline.Add(max(r.s.Limits.Observe, 5*time.Second))
	}
	for _, name := range r.s.SteadyState {
		pr := r.probeByName(name)
		if pr == nil {
			continue // the loader guarantees references resolve
		}
		for {
			sctx, cancel := context.WithTimeout(ctx, pr.spec.Timeout)
			err := r.checkProbe(sctx, pr)
			cancel()
			if err == nil {
				break
			}
			if !after || time.Now().After(deadline) || ctx.Err() != nil {
				c.Passed = false
				c.Failed = append(c.Failed, fmt.Sprintf("%s: %v", name, err))
				break
			}
			select {
			case <-time.After(pr.spec.Interval):
			case <-ctx.Done():
			}
		}
	}
	return c
}

func (r *run) probeByName(name string) *probeRun {
	for _, p := range r.probes {
		if p.spec.Name == name {
			return p
		}
	}
	return nil
}

func (r *run) startProbes(ctx context.Context, cancelDrill context.CancelCauseFunc) {
	if r.opts.Samples != nil {
		r.sampleLog = newSampleLog(r.opts.Samples, r.res.RunID, r.s.Secrets, func(msg string) {
			r.log.Warn(msg)
			r.event(result.EventNote, "%s", msg)
		})
	}
	for i, pr := range r.probes {
		pr.sampler = NewSampler(r.env.Clock, probeFunc(func(ctx context.Context) error { return r.checkProbe(ctx, pr) }), SamplerConfig{
			Interval: pr.spec.Interval,
			Timeout:  pr.spec.Timeout,
			Phase:    GridPhase(i, len(r.probes), pr.spec.Interval),
			OnSample: func(sm measure.Sample) { r.onSample(pr, sm, cancelDrill) },
		})
		// Samplers get the drill context minus cancellation of samples already running: they
		// stop scheduling on Stop or when the drill is cancelled.
		pr.sampler.Start(ctx)
	}
	go r.statusLoop(ctx)
}

func (r *run) onSample(pr *probeRun, sm measure.Sample, cancelDrill context.CancelCauseFunc) {
	if r.sampleLog != nil {
		r.sampleLog.add(pr.spec.Name, sm)
	}
	pr.mu.Lock()
	pr.samples++
	if !sm.OK {
		pr.fails++
	}
	changed := false
	if !pr.known || sm.Start > pr.lastStart {
		changed = !pr.known || pr.up != sm.OK
		pr.known, pr.up, pr.lastStart = true, sm.OK, sm.Start
	}
	pr.mu.Unlock()
	if !changed {
		return
	}
	// Attributed to the sample's start, like the measurement itself.
	if sm.OK {
		r.eventAt(sm.Start, result.EventProbe, "%s up", pr.spec.Name)
	} else {
		r.eventAt(sm.Start, result.EventProbe, "%s down: %s", pr.spec.Name, sm.Err)
	}
	if !sm.OK && pr.spec.Role == scenarios.RoleGuard {
		why := fmt.Sprintf("guard probe %s tripped: %s", pr.spec.Name, sm.Err)
		r.abort(result.AbortGuard, nil, why)
		cancelDrill(errors.New(why))
	}
	r.publishStatus()
}

func (r *run) statusLoop(ctx context.Context) {
	if r.opts.Observer == nil {
		return
	}
	t := time.NewTicker(StatusEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.mu.Lock()
			done := r.inRollback
			r.mu.Unlock()
			if done {
				return
			}
			r.publishStatus()
		}
	}
}

func (r *run) publishStatus() {
	if r.opts.Observer == nil {
		return
	}
	st := Status{Scenario: r.s.Name}
	r.mu.Lock()
	st.Phase = r.phase
	if r.haveT0 {
		d := r.env.Clock.Now() - r.t0
		st.SinceT0 = &d
	}
	r.mu.Unlock()
	for _, pr := range r.probes {
		pr.mu.Lock()
		st.Probes = append(st.Probes, ProbeStatus{Name: pr.spec.Name, Role: pr.spec.Role, Known: pr.known, Up: pr.up, Samples: pr.samples, Fails: pr.fails})
		pr.mu.Unlock()
	}
	r.opts.Observer.Status(st)
}

// inject runs prepare, the faults and the recovery steps, then observes until recovery has held
// for limits.observe or the drill ends. It returns the end of the observation window.
func (r *run) inject(ctx context.Context) time.Duration {
	r.mu.Lock()
	r.touched = true
	r.mu.Unlock()
	if len(r.s.Prepare) > 0 {
		r.event(result.EventPhase, PhasePrepare)
		for _, st := range r.s.Prepare {
			if !sleepCtx(ctx, st.After) || !r.runStep(ctx, "prepare", st) {
				r.noteCtxEnd(ctx, "prepare")
				return r.env.Clock.Now()
			}
		}
	}

	r.event(result.EventPhase, PhaseInject)
	for i, f := range r.faults {
		if !sleepCtx(ctx, f.spec.After) {
			r.noteCtxEnd(ctx, "inject")
			return r.env.Clock.Now()
		}
		// Before t0: the fsync is not part of the outage being timed.
		if err := r.journalIntent(ctx, f); err != nil {
			if ctx.Err() != nil {
				r.noteCtxEnd(ctx, "inject")
				return r.env.Clock.Now()
			}
			f.res.Error = fmt.Sprintf("not injected: %v", err)
			r.fail("inject %s: not injected, the journal could not record it first: %v", f.spec.Name, err)
			return r.env.Clock.Now()
		}
		at := r.env.Clock.Now()
		if i == 0 {
			// MarkT0 takes every sampler's lock; deliver is taken only after it, never around it,
			// so a sampler reporting an event while holding its own lock cannot deadlock with us.
			at = MarkT0(r.env.Clock, r.samplers())
			r.deliver.Lock()
			r.mu.Lock()
			r.t0, r.haveT0 = at, true
			r.mu.Unlock()
			if o, ok := r.opts.Observer.(T0Observer); ok {
				o.T0(r.s.Name)
			}
			r.deliver.Unlock()
			wall := r.env.Clock.Wall(at)
			r.res.T0 = wall.UTC().Format(result.T0Layout)
			r.env.setT0(wall)
		}
		ictx, scope := r.scopeFault(ctx, f)
		var inj Injection
		err := catchPanic(fmt.Sprintf("fault %s (%s)", f.spec.Name, f.spec.Type), func() (err error) {
			inj, err = f.fault.Inject(ictx)
			return err
		})
		until := r.env.Clock.Now()
		r.notePanic(err)
		r.afterInject(ctx, f, scope, inj, err)
		f.injection = inj
		f.injected = err == nil || inj.Revert != nil
		f.res.InjectedAtMs = result.Int64(result.Ms(at - r.t0))
		f.res.InjectedUntilMs = result.Int64(result.Ms(until - r.t0))
		if inj.Targets != nil {
			f.res.Targets = inj.Targets
			r.env.setFaultTargets(f.spec.Name, inj.Targets)
		}
		if err != nil {
			f.res.Error = ctxErr(ctx, err).Error()
			r.fail("inject %s: %v", f.spec.Name, ctxErr(ctx, err))
			return r.env.Clock.Now()
		}
		// Stamped when Inject returned, and saying how long it took: the outage began somewhere
		// between t0 and here, which bounds how exactly the RTO can be read. A fault that names
		// no targets (a shell command) acted on whatever it ran: "targets: none" would read as if
		// nothing had been hit.
		took := (until - at).Round(time.Microsecond)
		if len(inj.Targets) == 0 {
			r.eventAt(until, result.EventFault, "%s injected (%s) in %v", f.spec.Name, f.spec.Type, took)
		} else {
			r.eventAt(until, result.EventFault, "%s injected (%s) in %v; targets: %s", f.spec.Name, f.spec.Type, took, strings.Join(inj.Targets, ", "))
		}
	}

	// Recovery steps run in order, each no earlier than t0 + after, while observation goes on.
	// A failed step stops the runbook and, unless it may fail (continueOnError), observation
	// too: the recovery it was part of can no longer come, and waiting for limits.timeout would
	// only keep the system broken for longer.
	stepsDone := make(chan struct{})
	var failedStep string // set before stepsDone is closed
	go func() {
		defer close(stepsDone)
		if len(r.s.Recovery) == 0 {
			return
		}
		r.event(result.EventStep, "recovery steps start")
		for _, st := range r.s.Recovery {
			wait := r.t0 + st.After - r.env.Clock.Now()
			if !sleepCtx(ctx, wait) {
				return
			}
			if !r.runStep(ctx, "recovery", st) {
				if ctx.Err() != nil {
					return
				}
				if st.ContinueOnError {
					continue
				}
				failedStep = st.Name
				return
			}
		}
	}()

	r.event(result.EventPhase, PhaseObserve)
	end := r.observe(ctx, stepsDone, func() string { return failedStep })
	<-stepsDone // a recovery step is bounded by ctx; rollback must not overlap it
	return end
}

// observe waits until every availability probe has been healthy for limits.observe after t0
// and the recovery steps are done, or until ctx ends, or until a recovery step has failed
// (failedStep, read once stepsDone is closed, names it).
func (r *run) observe(ctx context.Context, stepsDone <-chan struct{}, failedStep func() string) time.Duration {
	tick := time.NewTicker(r.pollInterval())
	defer tick.Stop()
	steps := false
	for {
		select {
		case <-ctx.Done():
			r.noteCtxEnd(ctx, "observe")
			r.observed = "stopped"
			if errors.Is(context.Cause(ctx), errDrillTimeout) {
				r.observed = "timeout"
			}
			return r.env.Clock.Now()
		case <-stepsDone:
			steps, stepsDone = true, nil
			if name := failedStep(); name != "" {
				r.event(result.EventStep, "recovery step %s failed: observation stops, rollback starts", name)
				r.observed = "step failed"
				return r.env.Clock.Now()
			}
		case <-tick.C:
		}
		r.promiseWindow()
		if !steps {
			continue
		}
		if held, end := r.recoveryHeld(); held {
			r.event(result.EventStep, "recovery held for %v on every availability probe", r.s.Limits.Observe)
			r.observed = "held"
			return end
		}
	}
}

func (r *run) pollInterval() time.Duration {
	p := 50 * time.Millisecond
	for _, pr := range r.probes {
		p = min(p, max(pr.spec.Interval/2, time.Millisecond))
	}
	return p
}

// recoveryHeld reports whether every availability probe has been healthy for limits.observe,
// judged on completed samples. It also returns where the observation window ends: just after
// the newest sample the judgement rests on, so samples still in flight at that moment, which
// were not part of the evidence, cannot land inside the window and overturn it.
func (r *run) recoveryHeld() (bool, time.Duration) {
	now := r.env.Clock.Now()
	end, any := time.Duration(0), false
	for _, pr := range r.probes {
		if pr.spec.Role != scenarios.RoleAvailability {
			continue
		}
		healthy, newest, ok := pr.sampler.HealthyFor(now)
		if !ok || healthy < r.s.Limits.Observe {
			return false, 0
		}
		// A slow sample that started before the newest answer could still fail and move the
		// recovery: wait for it (it is bounded by the probe timeout) before declaring recovery.
		if oldest, running := pr.sampler.OldestInFlight(); running && oldest < newest {
			return false, 0
		}
		if !any || newest < end {
			end, any = newest, true
		}
	}
	return true, end + 1
}

// promiseWindow tells every sampler how far the observation window is sure to reach, so each
// can fold the samples before that point and keep memory flat. Observation ends either when
// recoveryHeld judges, at one past the oldest of the availability probes' newest answers, which
// only move forward, or when the drill is stopped, at the clock's current reading: both are at
// or after the oldest newest answer now. It must run on the goroutine that judges (observe), so
// no promise is made after the judgement it could overtake. With no availability probe the
// window ends before it starts, and nothing is promised.
func (r *run) promiseWindow() {
	if !r.haveT0 {
		return
	}
	bound, any := time.Duration(0), false
	for _, pr := range r.probes {
		if pr.spec.Role != scenarios.RoleAvailability {
			continue
		}
		newest, ok := pr.sampler.Newest()
		if !ok {
			return // no answer since t0 yet: nothing to promise
		}
		if !any || newest < bound {
			bound, any = newest, true
		}
	}
	if !any {
		return
	}
	for _, sm := range r.samplers() {
		sm.Promise(bound)
	}
}

// samplers lists the probes' samplers (all set once probes have started).
func (r *run) samplers() []*Sampler {
	out := make([]*Sampler, 0, len(r.probes))
	for _, pr := range r.probes {
		if pr.sampler != nil {
			out = append(out, pr.sampler)
		}
	}
	return out
}

// noteCtxEnd records why a phase ended early: interrupt, guard or timeout.
func (r *run) noteCtxEnd(ctx context.Context, phase string) {
	cause := context.Cause(ctx)
	if cause == nil {
		return
	}
	if errors.Is(cause, errDrillTimeout) {
		r.event(result.EventError, "limits.timeout (%v) reached during %s", r.s.Limits.Timeout, phase)
		if phase != "observe" {
			r.fail("limits.timeout (%v) reached during %s", r.s.Limits.Timeout, phase)
		}
	}
}

func (r *run) runStep(ctx context.Context, phase string, spec scenarios.StepSpec) bool {
	started := r.env.Clock.Now()
	r.mu.Lock()
	rel := started - r.relOrigin()
	r.mu.Unlock()
	sr := result.Step{Phase: phase, Name: spec.Name, Type: spec.Type, StartedAtMs: result.Int64(result.Ms(rel))}
	r.event(result.EventStep, "%s step %s (%s) started", phase, spec.Name, spec.Type)
	err := catchPanic(fmt.Sprintf("step %s (%s)", spec.Name, spec.Type), func() error {
		step, err := r.newStep(spec)
		if err != nil {
			return err
		}
		defer closeIfCloser(step)
		return step.Run(ctx)
	})
	r.notePanic(err)
	sr.DurationMs = result.Ms(r.env.Clock.Now() - started)
	if err != nil {
		sr.Error = ctxErr(ctx, err).Error()
	}
	r.mu.Lock()
	r.res.Steps = append(r.res.Steps, sr)
	r.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil && phase != "rollback" {
			r.event(result.EventStep, "%s step %s stopped: %v", phase, spec.Name, ctxErr(ctx, err))
			return false
		}
		if spec.ContinueOnError {
			// The runbook allows this step to fail; whether the system recovered decides.
			r.event(result.EventStep, "%s step %s failed, continuing (continueOnError): %v", phase, spec.Name, err)
			return false
		}
		r.fail("%s step %s: %v", phase, spec.Name, ctxErr(ctx, err))
		return false
	}
	r.event(result.EventStep, "%s step %s done in %v", phase, spec.Name, time.Duration(sr.DurationMs)*time.Millisecond)
	return true
}

func (r *run) stopProbes() {
	var wg sync.WaitGroup
	for _, pr := range r.probes {
		if pr.sampler == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); pr.sampler.Stop() }()
	}
	wg.Wait()
}

// measure computes per-probe recovery and the RTO (docs/DESIGN.md §3).
func (r *run) measure(end time.Duration) {
	rto := result.RTO{TargetMs: result.Ms(r.s.Objectives.RTO)}
	var worst time.Duration
	recoveredAll, anyAvail := true, false
	for _, pr := range r.probes {
		p := result.Probe{Name: pr.spec.Name, Type: pr.spec.Type, Role: pr.spec.Role, IntervalMs: result.Ms(pr.spec.Interval)}
		if pr.sampler == nil || !r.haveT0 {
			r.res.Probes = append(r.res.Probes, p)
			continue
		}
		p.Samples, _ = pr.sampler.Counts()
		rec := pr.sampler.Recovery(end)
		p.Failures = rec.Failures
		p.LastError = rec.LastError
		p.NoDisruption = rec.NoDisruption
		if rec.Failures > 0 {
			p.FirstFailureMs = result.Int64(result.Ms(rec.FirstFailure))
		}
		for _, d := range rec.Down {
			p.Down = append(p.Down, result.Interval{FromMs: result.Ms(d.From), ToMs: result.Ms(d.To)})
		}
		if rec.Recovered {
			p.RecoveredMs = result.Int64(result.Ms(rec.At))
			if !rec.NoDisruption {
				p.DowntimeMs = result.Int64(result.Ms(rec.Downtime))
			} else {
				p.DowntimeMs = result.Int64(0)
			}
		}
		if pr.spec.Role == scenarios.RoleAvailability {
			anyAvail = true
			rto.ResolutionMs = max(rto.ResolutionMs, result.Ms(pr.spec.Interval))
			if !rec.Recovered {
				recoveredAll = false
				r.event(result.EventProbe, "%s did not recover by the end of observation", pr.spec.Name)
			} else if rec.At >= worst {
				worst = rec.At
				rto.Probe = pr.spec.Name
			}
			if rec.NoDisruption {
				r.event(result.EventProbe, "%s: no disruption observed (a fault that disturbs nothing proves little)", pr.spec.Name)
			}
		}
		r.res.Probes = append(r.res.Probes, p)
	}
	// Only an observation that ran after every fault was injected measures a recovery; after a
	// failed injection the probes saw a system that was never (fully) disturbed.
	if r.haveT0 && r.observed != "" && anyAvail && recoveredAll {
		rto.MeasuredMs = result.Int64(result.Ms(worst))
		rto.Met = worst <= r.s.Objectives.RTO
	}
	r.res.Objectives.RTO = rto
}

// rollback reverts every injected fault in reverse order, then runs the rollback steps. It uses
// a context that Ctrl-C cannot cancel, bounded by limits.rollback.
func (r *run) rollback(parent context.Context) {
	r.mu.Lock()
	r.inRollback = true
	r.mu.Unlock()
	r.event(result.EventPhase, PhaseRollback)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), r.s.Limits.Rollback)
	defer cancel()
	rb := result.Rollback{Ran: true, Clean: true}
	var reverts []*faultRun
	for i := len(r.faults) - 1; i >= 0; i-- {
		if f := r.faults[i]; f.injected && f.injection.Revert != nil {
			reverts = append(reverts, f)
		}
	}
	r.revertAll(ctx, reverts)
	for _, f := range reverts {
		if f.res.RevertError != "" {
			rb.Clean = false
			rb.Errors = append(rb.Errors, fmt.Sprintf("revert %s: %s", f.spec.Name, f.res.RevertError))
			continue
		}
		r.journalReverted(ctx, f, "reverted by the drill")
	}
	r.mu.Lock()
	touched := r.touched
	r.mu.Unlock()
	if !touched && len(r.s.Rollback) > 0 {
		r.event(result.EventStep, "rollback steps skipped: nothing was changed")
	}
	for _, st := range r.s.Rollback {
		if !touched {
			break
		}
		if !r.runStep(ctx, "rollback", st) {
			rb.Clean = false
			rb.Errors = append(rb.Errors, fmt.Sprintf("rollback step %s failed", st.Name))
		}
	}
	r.res.Rollback = rb
}

// dataCheck reads back what data probes wrote and computes the RPO.
func (r *run) dataCheck(parent context.Context) {
	rpo := result.RPO{}
	if r.s.Objectives.RPO != nil {
		rpo.TargetMs = result.Int64(result.Ms(*r.s.Objectives.RPO))
	}
	var worst time.Duration
	measured := true
	for i, pr := range r.probes {
		dp, ok := pr.probe.(DataProbe)
		if !ok || pr.spec.Role != scenarios.RoleData {
			continue
		}
		if rpo.DataProbes == 0 {
			r.event(result.EventPhase, PhaseDataCheck)
		}
		rpo.DataProbes++
		ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), max(r.s.Limits.Rollback, time.Minute))
		var present map[uint64]bool
		err := catchPanic(fmt.Sprintf("probe %s (%s) read-back", pr.spec.Name, pr.spec.Type), func() (err error) {
			present, err = dp.ReadBack(ctx)
			return err
		})
		r.notePanic(err)
		cancel()
		d := &result.Data{}
		if err != nil {
			d.Error = err.Error()
			measured = false
			r.fail("data check %s: read back: %v", pr.spec.Name, err)
			r.res.Probes[i].Data = d
			continue
		}
		loss := measure.ClassifyWrites(dp.Writes(), present)
		*d = result.Data{Written: loss.Written, Acknowledged: loss.Acknowledged, Lost: loss.Lost, Recovered: loss.Recovered, Unexpected: loss.Unexpected, RPOMs: result.Int64(result.Ms(loss.RPO))}
		r.res.Probes[i].Data = d
		rpo.LostWrites += loss.Lost
		rpo.RecoveredWrites += loss.Recovered
		rpo.UnexpectedWrites += loss.Unexpected
		rpo.AcknowledgedTotal += loss.Acknowledged
		worst = max(worst, loss.RPO)
		r.event(result.EventDataLoss, "%s: %d written, %d acknowledged, %d lost, %d recovered, RPO %v", pr.spec.Name, loss.Written, loss.Acknowledged, loss.Lost, loss.Recovered, loss.RPO)
		if loss.Unexpected > 0 {
			r.fail("data check %s: %d keys present that were never written: the probe itself is broken", pr.spec.Name, loss.Unexpected)
		}
	}
	switch {
	case rpo.DataProbes == 0:
		// Nothing measured: met only when no target was set.
		rpo.Met = rpo.TargetMs == nil
		r.restorePointRPO(&rpo)
	case measured:
		rpo.Source = result.RPOSourceDataProbe
		rpo.MeasuredMs = result.Int64(result.Ms(worst))
		rpo.Met = rpo.TargetMs == nil || worst <= *r.s.Objectives.RPO
	}
	r.res.Objectives.RPO = rpo
}

// restorePointRPO measures the RPO of a run without data probes from the recovery points
// restore steps reported: t0 minus the oldest one, since every write after it is gone. A point
// after t0 (a point-in-time restore to after the fault) loses nothing the fault did not: 0.
func (r *run) restorePointRPO(rpo *result.RPO) {
	points := r.env.RestorePoints()
	t0, ok := r.env.T0()
	if len(points) == 0 || !ok {
		return
	}
	oldest := points[0]
	for _, p := range points[1:] {
		if p.At.Before(oldest.At) {
			oldest = p
		}
	}
	d := max(t0.Sub(oldest.At), 0)
	at := oldest.At.UTC()
	rpo.Source, rpo.RestorePoint, rpo.RestoredFrom = result.RPOSourceRestorePoint, &at, oldest.What
	rpo.MeasuredMs = result.Int64(result.Ms(d))
	rpo.Met = rpo.TargetMs == nil || d <= *r.s.Objectives.RPO
	r.event(result.EventDataLoss, "RPO %v from the restore point %s (%s)", d.Round(time.Millisecond), at.Format(time.RFC3339Nano), oldest.What)
}

// finish runs connector cleanups, closes resources, and sets the verdict.
func (r *run) finish(parent context.Context) {
	if !r.res.Rollback.Ran && !r.opts.DryRun {
		// Reached when an early phase failed: still revert anything injected.
		r.rollback(parent)
	}
	for _, pr := range r.probes {
		closeIfCloser(pr.probe)
	}
	for _, f := range r.faults {
		closeIfCloser(f.fault)
		r.res.Faults = append(r.res.Faults, f.res)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), r.s.Limits.Rollback)
	defer cancel()
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		c := r.cleanups[i]
		err := catchPanic("clean up of connector "+c.name, func() error { return c.fn(r.scopeConnector(ctx, c.name)) })
		r.notePanic(err)
		if err != nil {
			r.fail("clean up %s: %v", c.name, err)
		}
	}
	r.verdict()
	r.res.FinishedAt = time.Now().UTC()
	r.mu.Lock()
	// Probe events are stamped with their sample's start, which can precede events recorded
	// while the sample was in flight: order the timeline by time.
	sort.SliceStable(r.events, func(i, j int) bool { return r.events[i].at < r.events[j].at })
	for _, te := range r.events {
		ev := te.ev
		ev.AtMs = result.Ms(te.at - r.relOrigin())
		r.res.Events = append(r.res.Events, ev)
	}
	r.mu.Unlock()
}

const dryRunReason = "dry run: nothing injected, no verdict on the system"

func (r *run) verdict() {
	res := r.res
	r.mu.Lock()
	errs := append([]string(nil), r.errs...)
	r.mu.Unlock()
	obj := res.Objectives
	switch {
	case r.abortedReason() != "":
		res.Verdict, res.Reason, res.Abort = result.VerdictAborted, r.abortedSummary(), r.abortKind
		if res.Rollback.Ran && !res.Rollback.Clean {
			// A stop that left a fault in place is not a clean abort: the system is still
			// broken and someone must act. Abort still says why the drill stopped early.
			res.Verdict = result.VerdictError
		}
	case len(errs) > 0:
		res.Verdict, res.Reason = result.VerdictError, errs[0]
	case r.opts.DryRun:
		// pass keeps the exit code 0 that scripts rely on; dryRun: true in the result and the
		// wording below say it is no verdict on the system.
		res.Verdict, res.Reason = result.VerdictPass, dryRunReason
		r.event(result.EventVerdict, "%s", dryRunReason)
		return
	case obj.RTO.MeasuredMs == nil:
		res.Verdict, res.Reason = result.VerdictFail, r.notRecoveredReason()
	case !obj.RTO.Met:
		res.Verdict, res.Reason = result.VerdictFail, fmt.Sprintf("RTO %v exceeds target %v", msDur(*obj.RTO.MeasuredMs), r.s.Objectives.RTO)
	case !obj.RPO.Met:
		switch {
		case obj.RPO.MeasuredMs == nil:
			res.Verdict, res.Reason = result.VerdictFail, "RPO target set but no data probe or restore point measured it"
		case obj.RPO.Source == result.RPOSourceRestorePoint:
			res.Verdict, res.Reason = result.VerdictFail, fmt.Sprintf("RPO %v exceeds target %v (restored to %s, %s)", msDur(*obj.RPO.MeasuredMs), *r.s.Objectives.RPO, obj.RPO.RestorePoint.Format(time.RFC3339), obj.RPO.RestoredFrom)
		default:
			writes := "writes"
			if obj.RPO.LostWrites == 1 {
				writes = "write"
			}
			res.Verdict, res.Reason = result.VerdictFail, fmt.Sprintf("RPO %v exceeds target %v (%d acknowledged %s lost)", msDur(*obj.RPO.MeasuredMs), *r.s.Objectives.RPO, obj.RPO.LostWrites, writes)
		}
	default:
		res.Verdict = result.VerdictPass
		if res.Undisturbed() {
			res.Unproven, res.UnprovenReason = true, result.UnprovenText
		}
	}
	unproven := ""
	if res.Unproven {
		unproven = " (UNPROVEN: " + res.UnprovenReason + ")"
	}
	r.event(result.EventVerdict, "%s%s%s", res.Verdict, prefixed(": ", res.Reason), unproven)
}

// notRecoveredReason names the probes still failing and how the observation ended.
func (r *run) notRecoveredReason() string {
	var down []string
	for _, p := range r.res.Probes {
		if p.Role == scenarios.RoleAvailability && p.RecoveredMs == nil {
			down = append(down, p.Name)
		}
	}
	probes := strings.Join(down, ", ")
	if r.observed == "held" {
		return fmt.Sprintf("not recovered: %s failed again at the end of observation", probes)
	}
	return fmt.Sprintf("not recovered within limits.timeout (%v): %s still failing", r.s.Limits.Timeout, probes)
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func msDur(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

func closeIfCloser(v any) {
	if c, ok := v.(Closer); ok {
		// A panicking Close must not stop the closes and cleanups after it.
		_ = catchPanic("close", c.Close)
	}
}

// ctxErr prefers the cancellation cause (interrupt, guard, timeout) over a bare "context canceled".
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if cause := context.Cause(ctx); cause != nil && errors.Is(err, ctx.Err()) {
			return cause
		}
	}
	return err
}

// sleepCtx waits d unless ctx ends first; it reports whether the wait completed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
