package runner

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/scenarios"
)

// Retry backoff for a failing revert: short at first, because most failures are a transient
// API or network error, and capped so a revert keeps trying often until its budget ends.
const (
	revertBackoffMin = 250 * time.Millisecond
	revertBackoffMax = 5 * time.Second
)

// panicError is a panic in type code (a probe, fault, step or connector) turned into an error:
// drill has faults in place when type code runs, so a bug in one type must not end the process
// before rollback.
type panicError struct {
	what  string // "probe health (http)"
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("%s panicked: %v", e.what, e.value) }

// catchPanic runs fn and returns a *panicError if it panics. Only panics on the calling
// goroutine are caught: goroutines a type starts itself must recover their own.
func catchPanic(what string, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{what: what, value: v, stack: debug.Stack()}
		}
	}()
	return fn()
}

// notePanic logs the stack of a recovered panic, which the one-line error does not carry.
func (r *run) notePanic(err error) {
	if pe, ok := errors.AsType[*panicError](err); ok {
		r.log.Error("recovered panic in type code", "what", pe.what, "panic", fmt.Sprint(pe.value), "stack", string(pe.stack))
	}
}

// checkProbe takes one sample with panics recovered. A panicking probe makes the drill an error
// and stops it, so rollback starts at once rather than after a run whose evidence is broken.
func (r *run) checkProbe(ctx context.Context, pr *probeRun) error {
	err := catchPanic(fmt.Sprintf("probe %s (%s)", pr.spec.Name, pr.spec.Type), func() error { return pr.probe.Check(ctx) })
	if _, ok := errors.AsType[*panicError](err); ok {
		pr.mu.Lock()
		first := !pr.panicked
		pr.panicked = true
		pr.mu.Unlock()
		if first {
			r.notePanic(err)
			r.fail("%v", err)
			if r.cancel != nil {
				r.cancel(err)
			}
		}
	}
	return err
}

// probeFunc adapts a function to Probe, so the sampler runs the panic-safe check.
type probeFunc func(ctx context.Context) error

func (f probeFunc) Check(ctx context.Context) error { return f(ctx) }

// revertTimeout is the time limit a fault's type declares for its revert, or 0.
func revertTimeout(spec scenarios.StepSpec) time.Duration {
	if rb, ok := spec.With.(scenarios.RevertBounded); ok {
		d, _ := rb.RevertTimeout()
		return d
	}
	return 0
}

// revertAll reverts faults in the order given (the reverse of injection). Each revert gets its
// own budget: a fair share of limits.rollback, or the longer revert timeout its type declares,
// and is retried with backoff within it. A revert still running when its share is used up does
// not hold back the next one, which starts then: one hung revert must not leave every other
// fault in place. ctx carries the overall limits.rollback deadline, which stays a hard bound.
func (r *run) revertAll(ctx context.Context, faults []*faultRun) {
	if len(faults) == 0 {
		return
	}
	share := r.s.Limits.Rollback / time.Duration(len(faults))
	var wg sync.WaitGroup
	for _, f := range faults {
		budget := max(share, revertTimeout(f.spec))
		done := make(chan struct{})
		wg.Go(func() {
			defer close(done)
			r.revertOne(ctx, f, budget)
		})
		t := time.NewTimer(share)
		select {
		case <-done:
		case <-t.C:
			r.event(result.EventRevert, "%s: revert still running after its share of limits.rollback (%v); starting the next revert alongside it", f.spec.Name, share)
		}
		t.Stop()
	}
	wg.Wait()
}

// revertOne reverts one fault, retrying failures with backoff until its budget ends. Reverts
// are required to be idempotent (see Injection), so a retry after a failure that did part of
// the work is safe. A panic is not retried: it is a bug, not a transient failure.
func (r *run) revertOne(parent context.Context, f *faultRun, budget time.Duration) {
	at := r.env.Clock.Now()
	f.res.RevertedAtMs = result.Int64(result.Ms(at - r.t0))
	if parent.Err() != nil {
		err := fmt.Errorf("not started: limits.rollback (%v) used up by earlier reverts", r.s.Limits.Rollback)
		f.res.RevertError = err.Error()
		r.fail("revert %s: %v", f.spec.Name, err)
		return
	}
	ctx, cancel := context.WithTimeout(parent, budget)
	defer cancel()
	what := fmt.Sprintf("revert of fault %s (%s)", f.spec.Name, f.spec.Type)
	backoff := revertBackoffMin
	var err error
	attempt := 1
	for ; ; attempt++ {
		err = catchPanic(what, func() error { return f.injection.Revert(ctx) })
		if err == nil {
			break
		}
		if _, panicked := errors.AsType[*panicError](err); panicked {
			r.notePanic(err)
			break
		}
		if ctx.Err() != nil {
			break
		}
		r.event(result.EventRevert, "%s: revert attempt %d failed: %v; retrying in %v", f.spec.Name, attempt, err, backoff)
		if !sleepCtx(ctx, backoff) {
			break
		}
		backoff = min(2*backoff, revertBackoffMax)
	}
	if err != nil {
		if attempt > 1 {
			err = fmt.Errorf("%d attempts within %v, last: %w", attempt, budget, err)
		}
		f.res.RevertError = err.Error()
		r.fail("revert %s: %v", f.spec.Name, err)
		return
	}
	if attempt > 1 {
		r.event(result.EventRevert, "%s reverted (attempt %d)", f.spec.Name, attempt)
		return
	}
	r.event(result.EventRevert, "%s reverted", f.spec.Name)
}

// leftInPlace names the injected faults whose revert did not succeed.
func (r *run) leftInPlace() string {
	var names []string
	for _, f := range r.faults {
		if f.injected && f.res.RevertError != "" {
			names = append(names, f.spec.Name)
		}
	}
	return strings.Join(names, ", ")
}

func planSafely(ctx context.Context, f *faultRun, p Planner) (targets []string, err error) {
	err = catchPanic(fmt.Sprintf("fault %s (%s) plan", f.spec.Name, f.spec.Type), func() (err error) {
		targets, err = p.Plan(ctx)
		return err
	})
	return targets, err
}
