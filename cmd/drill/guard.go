package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/drillhq/drill/journal"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/resultstore"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// systemGuard holds, for one `drill run`, the lock of every system its scenarios drill, and
// opens each run's journal.
type systemGuard struct {
	ctx    context.Context // without cancel: releasing must happen after Ctrl-C too
	a      *app
	dir    string
	locks  map[string]*journal.Lock
	leases []*resultstore.Lease
}

// leaseTTL is how long a DynamoDB lease outlives a holder that stopped renewing it (a killed
// drill): short enough that a lost CI runner does not block a system for long.
const leaseTTL = 2 * time.Minute

// guardSystems takes every system's lock before anything runs, then refuses systems a killed
// drill left broken. Locking first matters: a journal found while holding the lock cannot
// belong to a live drill, so it is a leftover, never a run in progress.
func guardSystems(ctx context.Context, a *app, f runFlags, ss []*scenarios.Scenario) (*systemGuard, error) {
	dir, err := stateDir(a, f.history)
	if err != nil {
		return nil, err
	}
	g := &systemGuard{ctx: context.WithoutCancel(ctx), a: a, dir: dir, locks: map[string]*journal.Lock{}}
	systems := map[string]bool{}
	names := map[string][]string{}
	for _, s := range ss {
		systems[s.System] = true
		names[s.System] = append(names[s.System], s.Name)
	}
	for _, sys := range sortedKeys(systems) {
		l, err := journal.LockSystem(dir, sys, journal.Holder{Scenario: strings.Join(names[sys], ", ")})
		if err != nil {
			g.release()
			var held *journal.HeldError
			if errors.As(err, &held) {
				return nil, &exitError{code: result.ExitError, msg: fmt.Sprintf("%v: one drill per system at a time; nothing was run", err)}
			}
			return nil, &exitError{code: result.ExitError, msg: err.Error()}
		}
		g.locks[sys] = l
	}
	if f.dynamo != "" {
		if err := g.lease(ctx, f, names); err != nil {
			g.release()
			return nil, err
		}
	}
	left, err := leftovers(dir, systems)
	if err != nil {
		g.release()
		return nil, &exitError{code: result.ExitError, msg: err.Error()}
	}
	if len(left) > 0 {
		if !f.force {
			g.release()
			return nil, &exitError{code: result.ExitError, msg: fmt.Sprintf("a killed drill left faults unreverted or its lab behind on the system(s) to drill; run 'drill recover' first (or --force to drill anyway):%s", describeLeftovers(left))}
		}
		fmt.Fprintf(a.stderr, "drill: warning: --force: drilling over what a killed drill left (faults unreverted, labs):%s\n", describeLeftovers(left))
	}
	return g, nil
}

// begin names the run, records it as the lock's holder and opens its journal; no journal, no
// drill, since a kill would then leave faults nobody knows about.
func (g *systemGuard) begin(s *scenarios.Scenario, opts *runner.Options) (*journal.Writer, error) {
	opts.RunID = runner.NewRunID()
	if err := g.locks[s.System].SetHolder(journal.Holder{RunID: opts.RunID, Scenario: s.Name}); err != nil {
		return nil, &exitError{code: result.ExitError, msg: err.Error()}
	}
	w, err := journal.Create(journal.Dir(g.dir), journal.RunInfo{RunID: opts.RunID, Scenario: s.Name, ScenarioFile: s.File, System: s.System})
	if err != nil {
		return nil, &exitError{code: result.ExitError, msg: fmt.Sprintf("%v: not running %s without a journal", err, s.Name)}
	}
	opts.Journal = w
	return w, nil
}

// end removes the journal when every fault was reverted, and otherwise says where it is.
func (g *systemGuard) end(w *journal.Writer, res *result.Result) {
	pending := w.Pending()
	removed, err := w.Finish()
	if err != nil {
		fmt.Fprintf(g.a.stderr, "drill: warning: %v\n", err)
	}
	if !removed && len(pending) > 0 {
		fmt.Fprintf(g.a.stderr, "drill: run %s left %d fault(s) unreverted (%v), recorded in %s: fix the cause and run 'drill recover'\n", res.RunID, len(pending), pending, w.Path())
	}
}

// lease takes the DynamoDB lease of every system, so drills on other hosts are excluded too. A
// lease held by a live drill refuses the run; a table that cannot be reached only warns, as the
// results themselves are spooled then: the local lock still holds on this host.
func (g *systemGuard) lease(ctx context.Context, f runFlags, names map[string][]string) error {
	o, err := dynamoOptions{table: f.dynamo, endpoint: f.dynamoURL}.resolve(g.a)
	if err != nil {
		return err
	}
	api, err := o.client(ctx)
	if err != nil {
		fmt.Fprintf(g.a.stderr, "drill: warning: no DynamoDB lease (client: %v); only this host's lock protects the system(s)\n", err)
		return nil
	}
	host, _ := os.Hostname()
	for _, sys := range slices.Sorted(maps.Keys(names)) {
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		h := resultstore.LeaseHolder{Host: host, PID: os.Getpid(), Scenario: strings.Join(names[sys], ", ")}
		l, err := resultstore.AcquireLease(lctx, api, o.table, sys, h, leaseTTL, nil,
			func(err error) { fmt.Fprintf(g.a.stderr, "drill: warning: %v\n", err) })
		cancel()
		var held *resultstore.LeaseHeldError
		switch {
		case errors.As(err, &held):
			return &exitError{code: result.ExitError, msg: fmt.Sprintf("%v: one drill per system at a time; nothing was run", err)}
		case err != nil:
			fmt.Fprintf(g.a.stderr, "drill: warning: %v; only this host's lock protects %s\n", err, sys)
		default:
			g.leases = append(g.leases, l)
		}
	}
	return nil
}

func (g *systemGuard) release() {
	for _, l := range g.leases {
		ctx, cancel := context.WithTimeout(g.ctx, 10*time.Second)
		if err := l.Release(ctx); err != nil {
			fmt.Fprintf(g.a.stderr, "drill: warning: %v (it lapses within %v)\n", err, leaseTTL)
		}
		cancel()
	}
	for _, l := range g.locks {
		_ = l.Release()
	}
}
