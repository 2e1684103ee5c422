package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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
	leases map[string][]*resultstore.Lease // by system: one per endpoint its results go to
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
	g := &systemGuard{ctx: context.WithoutCancel(ctx), a: a, dir: dir, locks: map[string]*journal.Lock{}, leases: map[string][]*resultstore.Lease{}}
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
		if err := g.lease(ctx, f, ss); err != nil {
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
	host, _ := os.Hostname()
	for _, l := range g.leases[s.System] {
		ctx, cancel := context.WithTimeout(g.ctx, 10*time.Second)
		if err := l.SetHolder(ctx, resultstore.LeaseHolder{Host: host, PID: os.Getpid(), RunID: opts.RunID, Scenario: s.Name}); err != nil {
			fmt.Fprintf(g.a.stderr, "drill: warning: %v (a refused drill will not be told the run id)\n", err)
		}
		cancel()
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

// lease takes the DynamoDB lease of every system, so drills on other hosts are excluded too, in
// the table its results go to: at the endpoint dynamoFor picks for each of its scenarios (the
// same decision as the results write, so the lease and the results can never be in different
// places). A lease held by a live drill refuses the run; a table that cannot be reached only
// warns, as the results themselves are spooled then: the local lock still holds on this host.
func (g *systemGuard) lease(ctx context.Context, f runFlags, ss []*scenarios.Scenario) error {
	type target struct{ endpoint, system string }
	names := map[target][]string{}
	for _, s := range ss {
		k := target{dynamoFor(f, s).endpoint, s.System}
		names[k] = append(names[k], s.Name)
	}
	targets := slices.SortedFunc(maps.Keys(names), func(a, b target) int {
		return cmp.Or(cmp.Compare(a.endpoint, b.endpoint), cmp.Compare(a.system, b.system))
	})
	host, _ := os.Hostname()
	clients := map[string]*dynamodb.Client{}
	for _, k := range targets {
		o, err := dynamoOptions{table: f.dynamo, endpoint: k.endpoint}.resolve(g.a)
		if err != nil {
			return err
		}
		api, ok := clients[k.endpoint]
		if !ok {
			if api, err = o.client(ctx); err != nil {
				fmt.Fprintf(g.a.stderr, "drill: warning: no DynamoDB lease (client: %v); only this host's lock protects %s\n", err, k.system)
				continue
			}
			clients[k.endpoint] = api
		}
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		h := resultstore.LeaseHolder{Host: host, PID: os.Getpid(), Scenario: strings.Join(names[k], ", ")}
		l, err := resultstore.AcquireLease(lctx, api, o.table, k.system, h, leaseTTL, nil,
			func(err error) { fmt.Fprintf(g.a.stderr, "drill: warning: %v\n", err) })
		cancel()
		var held *resultstore.LeaseHeldError
		switch {
		case errors.As(err, &held):
			return &exitError{code: result.ExitError, msg: fmt.Sprintf("%v: one drill per system at a time; nothing was run", err)}
		case err != nil:
			fmt.Fprintf(g.a.stderr, "drill: warning: %v; only this host's lock protects %s\n", err, k.system)
		default:
			g.leases[k.system] = append(g.leases[k.system], l)
		}
	}
	return nil
}

func (g *systemGuard) release() {
	for _, ls := range g.leases {
		for _, l := range ls {
			ctx, cancel := context.WithTimeout(g.ctx, 10*time.Second)
			if err := l.Release(ctx); err != nil {
				fmt.Fprintf(g.a.stderr, "drill: warning: %v (it lapses within %v)\n", err, leaseTTL)
			}
			cancel()
		}
	}
	for _, l := range g.locks {
		_ = l.Release()
	}
}
