package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/drillhq/drill/result"
)

// Journal is where the runner records injections before they happen, so a drill killed mid-run
// leaves a record `drill recover` can revert from (journal.Writer implements it).
type Journal interface {
	// Injecting durably records that fault is about to change targets; record is the revert data
	// of the fault's type, nil for the runner's own intent line. An error means: do not inject.
	Injecting(ctx context.Context, fault, typ string, targets []string, record json.RawMessage) error
	// Reverted records that fault is back in its original state.
	Reverted(ctx context.Context, fault, note string) error
	// Creating durably records that a connector is about to set up a resource of type typ (see
	// ResourceType); Removed that it is gone again, or kept on purpose.
	Creating(ctx context.Context, typ string, targets []string, record json.RawMessage) error
	Removed(ctx context.Context, typ, note string) error
}

type resourceScopeKey struct{}

// resourceScope is what Env.JournalResource finds in the contexts the runner passes to a
// connector's Connect and cleanup.
type resourceScope struct {
	r         *run
	connector string
}

// scopeConnector returns the context to pass to connector c's Connect or cleanup.
func (r *run) scopeConnector(ctx context.Context, c string) context.Context {
	return context.WithValue(ctx, resourceScopeKey{}, &resourceScope{r: r, connector: c})
}

// JournalResource durably records, before a connector creates it, a resource of the registered
// resource type typ (a lab: its directory, then its processes) and record, the data its type's
// Recover decodes to remove it from a new process. Call it from Connect with Connect's ctx,
// before creating anything, and again with the cumulative record as more becomes known (a later
// call supersedes the earlier one); if it fails, create nothing. Outside a drill (a
// connector's own unit test) it does nothing.
func (e *Env) JournalResource(ctx context.Context, typ string, targets []string, record any) error {
	sc, _ := ctx.Value(resourceScopeKey{}).(*resourceScope)
	if sc == nil {
		return nil
	}
	t, ok := sc.r.opts.Registry.resources[typ]
	if !ok {
		return fmt.Errorf("journal %s of connector %s: resource type not registered, drill recover could not remove it", typ, sc.connector)
	}
	raw, err := json.Marshal(record)
	if err != nil {
		return fmt.Errorf("journal %s: encode record: %w", typ, err)
	}
	if err := t.checkRecord(raw); err != nil {
		return fmt.Errorf("journal %s: %w", typ, err)
	}
	if j := sc.r.opts.Journal; j != nil {
		return j.Creating(ctx, typ, targets, raw)
	}
	return nil
}

// ResourceRemoved records that the resource of type typ that JournalResource recorded is gone,
// or kept on purpose (note says which, e.g. --keep-lab), so a later `drill recover` leaves it
// alone. Call it from the connector's cleanup with the cleanup's ctx (or from Connect when
// setting up failed and left nothing). A resource never marked removed stays in the journal:
// `drill run` then refuses its system until `drill recover` has removed it. Failing to record
// it is only a warning: the resource is gone, and recover of a gone resource is a no-op.
func (e *Env) ResourceRemoved(ctx context.Context, typ, note string) {
	sc, _ := ctx.Value(resourceScopeKey{}).(*resourceScope)
	if sc == nil || sc.r.opts.Journal == nil {
		return
	}
	if err := sc.r.opts.Journal.Removed(context.WithoutCancel(ctx), typ, note); err != nil && e.Log != nil {
		e.Log.Warn(typ+" removed but not recorded in the journal; drill recover will find nothing to do", "err", err)
	}
}

type faultScopeKey struct{}

// faultScope is what Env.Journal finds in the context the runner passes to one fault's Inject:
// records land under that fault's name, whatever Env the fault kept from its constructor.
type faultScope struct {
	r         *run
	f         *faultRun
	check     func(json.RawMessage) error // nil: the type has no Recover
	noRevert  bool                        // the type declared WithoutRevert
	journaled atomic.Bool
}

func (s *faultScope) journal(ctx context.Context, targets []string, record any) error {
	name := s.f.spec.Name
	raw, err := json.Marshal(record)
	if err != nil {
		return fmt.Errorf("journal fault %s: encode record: %w", name, err)
	}
	if s.check != nil {
		if err := s.check(raw); err != nil {
			return fmt.Errorf("journal fault %s: %w", name, err)
		}
	}
	if j := s.r.opts.Journal; j != nil {
		if err := j.Injecting(ctx, name, s.f.spec.Type, targets, raw); err != nil {
			return err
		}
	}
	s.journaled.Store(true)
	return nil
}

// journalIntent records, before a fault's Inject is called, that it is about to run and what it
// planned to act on: even a type that journals nothing of its own then leaves a trace that
// `drill recover` can show for a revert by hand.
func (r *run) journalIntent(ctx context.Context, f *faultRun) error {
	if r.opts.Journal == nil {
		return nil
	}
	return r.opts.Journal.Injecting(ctx, f.spec.Name, f.spec.Type, f.planned, nil)
}

// scopeFault returns the context to pass to f's Inject.
func (r *run) scopeFault(ctx context.Context, f *faultRun) (context.Context, *faultScope) {
	sc := &faultScope{r: r, f: f}
	if t, ok := r.opts.Registry.faults[f.spec.Type]; ok {
		sc.check, sc.noRevert = t.checkRecord, t.NoRevert
	}
	return context.WithValue(ctx, faultScopeKey{}, sc), sc
}

// afterInject closes the journal entry of a fault that left nothing to revert, and catches a
// recoverable type that changed something without journaling first.
func (r *run) afterInject(ctx context.Context, f *faultRun, sc *faultScope, inj Injection, injectErr error) {
	if inj.Revert != nil {
		if sc.noRevert {
			r.fail("fault %s (%s) returned a revert although its type declares none (WithoutRevert): drill recover would close it as nothing to undo", f.spec.Name, f.spec.Type)
		}
		if sc.check != nil && !sc.journaled.Load() {
			r.fail("fault %s (%s) journaled no revert data before injecting: a drill killed now could not be recovered (the type must call env.Journal before its change)", f.spec.Name, f.spec.Type)
		}
		return
	}
	note := "nothing to undo"
	if injectErr != nil {
		note = "injection failed with nothing to undo"
	}
	r.journalReverted(ctx, f, note)
}

// journalReverted records a completed revert. A failure to record it is reported but does not
// fail the revert: `drill recover` would run the (idempotent) revert once more, no harm done.
func (r *run) journalReverted(ctx context.Context, f *faultRun, note string) {
	if r.opts.Journal == nil {
		return
	}
	if err := r.opts.Journal.Reverted(context.WithoutCancel(ctx), f.spec.Name, note); err != nil {
		r.event(result.EventError, "%v (drill recover will find %s still journaled; its revert is idempotent)", err, f.spec.Name)
	}
}
