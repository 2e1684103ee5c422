package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/journal"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/runner"
)

type recoverFlags struct {
	list      bool
	history   string
	noHistory bool
	system    string
	forget    string
	timeout   time.Duration
}

func newRecoverCmd(a *app) *cobra.Command {
	var f recoverFlags
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "Revert the faults a killed drill left in place, from its journal",
		Long: `Every drill journals each fault, fsync'd, before it changes anything, and removes the
journal once every fault is reverted. A drill that was killed (SIGKILL, OOM, a lost CI
runner) leaves its journal behind: recover lists what is still broken and reverts it with
the fault type's own revert, from the journaled data, oldest run first and faults in
reverse order, as the drill's rollback would have. The scenario's rollback steps are not
run again: if it has any, check whether they are still needed.

Labs a drill started (environment.etcd.lab, environment.postgres.lab) are journaled before
they exist, so the lab of a drill killed at any point, even while it was starting, is listed
(type etcd-lab or postgres-lab) and removed: processes, shared memory, directory. A lab kept
with --keep-lab is left running; 'drill lab down [--postgres] --dir DIR' removes it.

A fault of a type with nothing to undo (a reboot, a termination) is closed as such. A fault
whose type cannot revert from its journal (not in this build) is named with what to revert by
hand; after doing so, 'drill recover --forget RUN' closes that run's journal. --list says
which applies to each fault (REVERT column). Recover takes each
system's lock, so it never races a drill that is running.

The journal lives beside the history store: --history PATH's directory, else
$DRILL_HISTORY's, else $XDG_STATE_HOME/drill, else ~/.local/state/drill.

Exit code: 0 nothing is left to revert afterwards (also when there was nothing to do),
3 something could not be reverted (each is named, with the reason).`,
		Example: `  drill recover --list
  drill recover
  drill recover --system orders-etcd
  drill recover --forget 20260922T093000Z-9e8d7c6b`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRecover(cmd.Context(), a, f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.list, "list", false, "list what killed runs left, revert nothing")
	fl.StringVar(&f.history, "history", "", "history store `PATH`; the journal is in its directory (default $DRILL_HISTORY or ~/.local/state/drill/history.db)")
	fl.BoolVar(&f.noHistory, "no-history", false, "do not record recovered runs in the history store")
	fl.StringVar(&f.system, "system", "", "only runs of this `SYSTEM`")
	fl.StringVar(&f.forget, "forget", "", "mark every fault of run `ID` reverted (after reverting it by hand) and close its journal")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "limit for each fault's revert")
	return cmd
}

// recoverFailure is one fault left in place, and why.
type recoverFailure struct {
	run, fault, why string
}

func runRecover(ctx context.Context, a *app, f recoverFlags) error {
	dir, err := stateDir(a, f.history)
	if err != nil {
		return err
	}
	runs, err := journal.List(journal.Dir(dir))
	if err != nil {
		return &exitError{code: result.ExitError, msg: err.Error()}
	}
	runs = slices.DeleteFunc(runs, func(r journal.Run) bool { return f.system != "" && r.System != f.system })
	if f.forget != "" {
		runs = slices.DeleteFunc(runs, func(r journal.Run) bool { return r.RunID != f.forget })
		if len(runs) == 0 {
			return usageErrorf("no journal of run %q in %s", f.forget, journal.Dir(dir))
		}
	}
	if len(runs) == 0 {
		fmt.Fprintf(a.stdout, "nothing to recover: no journal in %s\n", journal.Dir(dir))
		return nil
	}
	for _, r := range runs {
		for _, s := range r.Skipped {
			fmt.Fprintf(a.stderr, "drill: journal %s: %s\n", r.Path, s)
		}
	}
	if f.list {
		return listLeftovers(a, dir, runs)
	}
	reg := newRegistry(a, registryOptions{})
	var failures []recoverFailure
	for _, r := range runs {
		failures = append(failures, recoverRun(ctx, a, f, dir, reg, r)...)
	}
	if len(failures) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%d fault(s) could not be reverted and are still journaled:", len(failures))
		for _, fl := range failures {
			fmt.Fprintf(&b, "\n  run %s fault %s: %s", fl.run, fl.fault, fl.why)
		}
		return &exitError{code: result.ExitError, msg: b.String()}
	}
	return nil
}

func listLeftovers(a *app, dir string, runs []journal.Run) error {
	reg := newRegistry(a, registryOptions{})
	t := newTable(a)
	t.Header("RUN ID", "STARTED (UTC)", "SCENARIO", "SYSTEM", "FAULT", "TYPE", "TARGETS", "STATE", "REVERT")
	for _, r := range runs {
		state := "left by a killed drill"
		if h, held := journal.Held(dir, r.System); held && h.RunID == r.RunID {
			state = "running (" + h.String() + ")"
		}
		pending := r.Pending()
		if len(pending) == 0 {
			pending = []journal.Fault{{Name: "-", Type: "-", Targets: []string{"nothing left to revert"}}}
		}
		for _, fl := range pending {
			name := fl.Name
			if fl.Resource {
				name = "(set up by the drill)"
			}
			if err := t.Append(r.RunID, r.Started.UTC().Format("2006-01-02 15:04:05"), r.Scenario, r.System, name, fl.Type, targetsText(fl.Targets), state, revertText(reg, fl)); err != nil {
				return &exitError{code: result.ExitError, msg: fmt.Sprintf("recover table: %v", err)}
			}
		}
	}
	if err := t.Render(); err != nil {
		return &exitError{code: result.ExitError, msg: fmt.Sprintf("recover table: %v", err)}
	}
	return nil
}

// revertText says what `drill recover` would do with a pending fault.
func revertText(reg *runner.Registry, fl journal.Fault) string {
	if fl.Type == "-" {
		return "-"
	}
	var known, recoverable, noRevert bool
	if fl.Resource {
		// A resource (a lab) lives in its own name space: a fault type of the same name says
		// nothing about how it is removed.
		rt, ok := reg.Resource(fl.Type)
		known, recoverable = ok, rt.Recover != nil
	} else {
		ft, ok := reg.Fault(fl.Type)
		known, recoverable, noRevert = ok, ft.Recover != nil, ft.NoRevert
	}
	switch {
	case !known:
		return "by hand (type not in this build)"
	case noRevert:
		return "none needed (type has no revert)"
	case !recoverable:
		return "by hand"
	case fl.Record == nil:
		return "none needed (killed before the change)"
	}
	return "automatic"
}

// recoverRun reverts one run's pending faults under its system's lock, newest first.
func recoverRun(ctx context.Context, a *app, f recoverFlags, dir string, reg *runner.Registry, r journal.Run) []recoverFailure {
	fail := func(fault, format string, args ...any) []recoverFailure {
		return []recoverFailure{{run: r.RunID, fault: fault, why: fmt.Sprintf(format, args...)}}
	}
	lock, err := journal.LockSystem(dir, r.System, journal.Holder{RunID: "recover " + r.RunID})
	if err != nil {
		var held *journal.HeldError
		if errors.As(err, &held) && held.Holder.RunID == r.RunID {
			fmt.Fprintf(a.stdout, "run %s (%s) is still running (%s): not touched\n", r.RunID, r.Scenario, held.Holder)
			return nil
		}
		return fail("*", "%v; run drill recover again when it is free", err)
	}
	defer lock.Release()
	w, err := journal.OpenAppend(r.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // another recover closed it between List and the lock
	}
	if err != nil {
		return fail("*", "%v", err)
	}
	pending := r.Pending()
	var failures []recoverFailure
	for i := len(pending) - 1; i >= 0; i-- {
		fl := pending[i]
		note, why := recoverFault(ctx, a, f, reg, r, fl)
		if why != "" {
			failures = append(failures, recoverFailure{run: r.RunID, fault: failureName(fl), why: why})
			continue
		}
		if err := w.Resolved(ctx, fl, note); err != nil {
			failures = append(failures, recoverFailure{run: r.RunID, fault: failureName(fl), why: fmt.Sprintf("reverted, but %v", err)})
			continue
		}
		fmt.Fprintf(a.stdout, "run %s: %s on %s: %s\n", r.RunID, describeEntry(fl), targetsText(fl.Targets), note)
	}
	removed, err := w.Finish()
	if err != nil {
		return append(failures, recoverFailure{run: r.RunID, fault: "*", why: err.Error()})
	}
	if removed {
		switch {
		case !injectedAny(r):
			fmt.Fprintf(a.stdout, "run %s (%s): killed before injecting anything; journal removed\n", r.RunID, r.Scenario)
		case len(pending) == 0:
			fmt.Fprintf(a.stdout, "run %s (%s): killed after every fault was reverted; journal removed\n", r.RunID, r.Scenario)
		}
		recordKilledRun(ctx, a, f, r)
	}
	return failures
}

// recoverFault reverts one fault from its record; it returns how, or why it could not.
func recoverFault(ctx context.Context, a *app, f recoverFlags, reg *runner.Registry, r journal.Run, fl journal.Fault) (note, why string) {
	if f.forget != "" {
		return "marked reverted by hand (--forget)", ""
	}
	if fl.Resource {
		return recoverResource(ctx, a, f, reg, r, fl)
	}
	t, ok := reg.Fault(fl.Type)
	if ok && t.NoRevert {
		return "nothing to undo: type " + fl.Type + " has no revert", ""
	}
	if !ok || t.Recover == nil {
		reason := "its type cannot revert from a journal"
		if !ok {
			reason = "its type is not registered in this build"
		}
		return "", fmt.Sprintf("cannot revert automatically (%s): revert fault %s (type %s) of scenario %s on %s by hand, as that scenario's rollback would, then run 'drill recover --forget %s'",
			reason, fl.Name, fl.Type, orNone(r.ScenarioFile), targetsText(fl.Targets), r.RunID)
	}
	if fl.Record == nil {
		// The fault's contract is to journal before each change: the drill died between the
		// runner's intent line and that record, so nothing was changed.
		return "nothing to revert: the drill died before the fault changed anything", ""
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.timeout)
	defer cancel()
	if err := t.Recover(rctx, runner.NewEnv(nil, a.log), fl.Record); err != nil {
		return "", err.Error()
	}
	return "reverted by drill recover", ""
}

// recoverResource removes what a killed drill set up (a lab) from its record.
func recoverResource(ctx context.Context, a *app, f recoverFlags, reg *runner.Registry, r journal.Run, fl journal.Fault) (note, why string) {
	t, ok := reg.Resource(fl.Type)
	if !ok {
		return "", fmt.Sprintf("cannot remove automatically (type %s is not registered in this build): remove %s by hand, then run 'drill recover --forget %s'",
			fl.Type, targetsText(fl.Targets), r.RunID)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.timeout)
	defer cancel()
	if err := t.Recover(rctx, runner.NewEnv(nil, a.log), fl.Record); err != nil {
		return "", err.Error()
	}
	return "removed by drill recover (unless kept with --keep-lab: then left running, as warned above)", ""
}

// failureName names fl in "run R fault NAME: why".
func failureName(fl journal.Fault) string {
	if fl.Resource {
		return fl.Name + " (set up by the drill)"
	}
	return fl.Name
}

// injectedAny reports whether r journaled a fault (not only what it set up).
func injectedAny(r journal.Run) bool {
	for _, fl := range r.Faults {
		if !fl.Resource {
			return true
		}
	}
	return false
}

// recordKilledRun puts the recovered run in history, so it stays visible as interrupted once its
// journal is gone. A run already in history (it died after writing its result) is left alone.
func recordKilledRun(ctx context.Context, a *app, f recoverFlags, r journal.Run) {
	if f.noHistory {
		return
	}
	p, err := historyPath(a, f.history)
	if err != nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	st, err := history.Open(p)
	if err == nil {
		defer st.Close()
		var found bool
		if _, found, err = st.Get(ctx, r.RunID); err == nil && !found {
			res := killedResult(r, false)
			for i := range res.Faults {
				res.Faults[i].RevertError = ""
			}
			res.Reason = fmt.Sprintf("interrupted: the drill process died mid-run; %d fault(s) reverted by drill recover at %s", pendingFaults(r), time.Now().UTC().Format(time.RFC3339))
			res.FinishedAt = time.Now().UTC()
			err = st.Append(ctx, res)
		}
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "drill: warning: run %s not recorded in history: %v\n", r.RunID, err)
	}
}
