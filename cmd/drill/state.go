package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/drillhq/drill/journal"
	"github.com/drillhq/drill/result"
)

// stateDir is where journals and system locks live: beside the history store, so --history and
// DRILL_HISTORY move all of drill's state together, else $XDG_STATE_HOME/drill or
// ~/.local/state/drill.
func stateDir(a *app, historyFlag string) (string, error) {
	p, err := historyPath(a, historyFlag)
	if err != nil {
		return "", err
	}
	return filepath.Dir(p), nil
}

// leftovers are journaled faults of dead runs not yet reverted, for the given systems (all when
// systems is nil). The caller holds those systems' locks, or knows it does not need to.
func leftovers(dir string, systems map[string]bool) ([]journal.Run, error) {
	runs, err := journal.List(journal.Dir(dir))
	if err != nil {
		return nil, err
	}
	var out []journal.Run
	for _, r := range runs {
		if len(r.Pending()) > 0 && (systems == nil || systems[r.System]) {
			out = append(out, r)
		}
	}
	return out, nil
}

// describeLeftovers names each unreverted fault and each lab not removed: run, scenario,
// fault, type and targets. Never the record: it can hold expanded secrets.
func describeLeftovers(runs []journal.Run) string {
	var b strings.Builder
	for _, r := range runs {
		fmt.Fprintf(&b, "\n  run %s (scenario %s, system %s, started %s, pid %d on %s):", r.RunID, r.Scenario, r.System, r.Started.UTC().Format(time.RFC3339), r.PID, r.Host)
		for _, f := range r.Pending() {
			fmt.Fprintf(&b, "\n    %s on %s", describeEntry(f), targetsText(f.Targets))
		}
	}
	return b.String()
}

// describeEntry names a journaled fault, or a resource the drill set up (a lab).
func describeEntry(f journal.Fault) string {
	if f.Resource {
		return f.Type + " (set up by the drill)"
	}
	return fmt.Sprintf("fault %s (%s)", f.Name, f.Type)
}

// pendingFaults counts the unreverted faults of r, resources aside.
func pendingFaults(r journal.Run) int {
	n := 0
	for _, f := range r.Pending() {
		if !f.Resource {
			n++
		}
	}
	return n
}

func targetsText(t []string) string {
	if len(t) == 0 {
		return "(targets not recorded)"
	}
	return strings.Join(t, ", ")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// killedResult is the history record of a run only its journal knows about: the process died
// before it could write one. running is true while the run's own process still holds the lock.
func killedResult(r journal.Run, running bool) *result.Result {
	res := &result.Result{
		Schema: result.Schema, RunID: r.RunID, Scenario: r.Scenario, ScenarioFile: r.ScenarioFile,
		System: r.System, StartedAt: r.Started.UTC(),
		Probes: []result.Probe{}, Faults: []result.Fault{}, Steps: []result.Step{}, Events: []result.Event{},
	}
	for _, f := range r.Faults {
		if f.Resource {
			continue // a lab is not a fault of the drill
		}
		rf := result.Fault{Name: f.Name, Type: f.Type, Targets: f.Targets}
		if rf.Targets == nil {
			rf.Targets = []string{}
		}
		if !f.Reverted {
			rf.RevertError = "not reverted: the drill died first"
		}
		res.Faults = append(res.Faults, rf)
	}
	if running {
		res.Reason = "running"
		return res
	}
	res.Verdict, res.Abort = result.VerdictAborted, result.AbortKilled
	if n := pendingFaults(r); n > 0 {
		res.Reason = fmt.Sprintf("interrupted: the drill process died mid-run; %d fault(s) not reverted (run 'drill recover')", n)
	} else {
		res.Reason = "interrupted: the drill process died mid-run; nothing left to revert"
	}
	return res
}
