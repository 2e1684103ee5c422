package etcdprobe

import (
	"context"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/backends/etcdenv/etcdenvtest"
	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/etcdlab/labtest"
	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

func newProbe(t *testing.T, typ runner.ProbeType, env *runner.Env, with any, timeout time.Duration) runner.Probe {
	t.Helper()
	p, err := typ.New(scenarios.ProbeSpec{Name: typ.Name, Type: typ.Name, With: with, Interval: 10 * time.Millisecond, Timeout: timeout}, env)
	if err != nil {
		t.Fatalf("%s: %v", typ.Name, err)
	}
	if c, ok := p.(runner.Closer); ok {
		t.Cleanup(func() { c.Close() })
	}
	return p
}

func check(p runner.Probe, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.Check(ctx)
}

// eventually retries a probe until it passes or the deadline passes.
func eventually(t *testing.T, p runner.Probe, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check(p, time.Second)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("probe still failing after %v: %v", within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWritesReadBackClassifiesOnRealCluster(t *testing.T) {
	t.Parallel()
	lab := labtest.Start(t, etcdlab.Options{Members: 3})
	env := etcdenvtest.Env(t, lab)
	w := newProbe(t, WritesType(), env, &WritesConfig{Prefix: "drill/writes/", ValueSize: 8}, 2*time.Second).(*Writes)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Concurrent checks (open-loop sampling): each gets its own sequence number.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := check(w, 5*time.Second); err != nil {
				t.Errorf("write: %v", err)
			}
		})
	}
	wg.Wait()
	snap, err := lab.SaveSnapshot(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for range 15 {
		if err := check(w, 5*time.Second); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	// Restoring the older snapshot loses the 15 acknowledged writes made after it.
	if err := lab.Restore(ctx, snap); err != nil {
		t.Fatal(err)
	}
	present, err := w.ReadBack(ctx)
	if err != nil {
		t.Fatalf("ReadBack: %v", err)
	}
	writes := w.Writes()
	seqs := map[uint64]bool{}
	for i, wr := range writes {
		if wr.Seq != uint64(i+1) || wr.Outcome != measure.WriteOK || wr.Ack < wr.Invoke {
			t.Errorf("write %d = %+v, want seq %d acknowledged after invoke", i, wr, i+1)
		}
		seqs[wr.Seq] = true
	}
	if len(seqs) != 35 {
		t.Fatalf("%d distinct sequence numbers for 35 writes", len(seqs))
	}
	loss := measure.ClassifyWrites(writes, present)
	if loss.Lost != 15 || loss.Recovered != 0 || loss.Unexpected != 0 || loss.RPO <= 0 {
		t.Errorf("after restoring the older snapshot: %+v; want 15 lost, RPO > 0", loss)
	}
	var wantLost []uint64
	for s := uint64(21); s <= 35; s++ {
		wantLost = append(wantLost, s)
	}
	if diff := cmp.Diff(wantLost, loss.LostSeqs); diff != "" {
		t.Errorf("lost seqs (-want +got):\n%s", diff)
	}

	// A write whose outcome the writer never learned but which is present counts as recovered;
	// a key the writer never wrote counts as unexpected.
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	if err := w.Check(cctx); err == nil {
		t.Fatal("write with a cancelled context succeeded")
	}
	last := w.Writes()[35]
	if last.Seq != 36 || last.Outcome != measure.WriteTimedOut {
		t.Fatalf("cancelled write recorded as %+v, want seq 36 timed out", last)
	}
	c, err := lab.Client()
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{36, 999} {
		if _, err := c.Put(ctx, w.key(seq), "x"); err != nil {
			t.Fatal(err)
		}
	}
	present, err = w.ReadBack(ctx)
	if err != nil {
		t.Fatal(err)
	}
	loss = measure.ClassifyWrites(w.Writes(), present)
	if loss.Lost != 15 || loss.Recovered != 1 || loss.Unexpected != 1 {
		t.Errorf("classification: %+v; want 15 lost, 1 recovered, 1 unexpected", loss)
	}

	// Keys of other runs (another prefix) are invisible; garbage under ours is an error.
	if !strings.HasPrefix(w.Prefix(), "drill/writes/labtest-") {
		t.Errorf("prefix %q does not carry the scenario name and run id", w.Prefix())
	}
	if _, err := c.Put(ctx, w.Prefix()+"not-a-number", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ReadBack(ctx); err == nil || !strings.Contains(err.Error(), "not a sequence number") {
		t.Errorf("ReadBack with a foreign key under the prefix: err %v", err)
	}
}

func TestHealthOnRealCluster(t *testing.T) {
	t.Parallel()
	lab := labtest.Start(t, etcdlab.Options{Members: 3})
	env := etcdenvtest.Env(t, lab)
	all := newProbe(t, HealthType(), env, &HealthConfig{Require: RequireAll}, time.Second)
	quorum := newProbe(t, HealthType(), env, &HealthConfig{Require: RequireQuorum}, time.Second)
	one := newProbe(t, HealthType(), env, &HealthConfig{Require: RequireAll, Members: []string{"m1"}}, time.Second)
	for name, p := range map[string]runner.Probe{"all": all, "quorum": quorum, "m1 only": one} {
		if err := check(p, 2*time.Second); err != nil {
			t.Errorf("%s on a healthy cluster: %v", name, err)
		}
	}

	leader, err := lab.Leader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	follower := "m1"
	if leader == follower {
		follower = "m2"
	}
	if err := lab.Kill(context.Background(), follower, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := check(all, 500*time.Millisecond); err == nil || !strings.Contains(err.Error(), "2 of 3 members answered") {
		t.Errorf("all-members health with a follower dead: %v", err)
	}
	// Quorum mode decides from the majority without waiting for the dead member to time out.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	err = quorum.Check(ctx)
	returnedEarly := ctx.Err() == nil
	cancel()
	if err != nil || !returnedEarly {
		t.Errorf("quorum health with a follower dead: err %v, returned before its deadline: %v", err, returnedEarly)
	}

	// Killing the leader too leaves one member: no quorum.
	if err := lab.Kill(context.Background(), leader, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := check(quorum, 500*time.Millisecond); err == nil {
		t.Errorf("quorum health with two of three members dead passed")
	}
	if err := lab.Start(context.Background(), follower, leader); err != nil {
		t.Fatal(err)
	}
	eventually(t, all, 20*time.Second)
}

func TestConsistencyOnRealCluster(t *testing.T) {
	t.Parallel()
	lab := labtest.Start(t, etcdlab.Options{Members: 3})
	env := etcdenvtest.Env(t, lab)
	p := newProbe(t, ConsistencyType(), env, &ConsistencyConfig{}, time.Second)
	c, err := lab.Client()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := c.Put(context.Background(), "k", strings.Repeat("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, p, 10*time.Second)
	if err := lab.Freeze(context.Background(), "m2"); err != nil {
		t.Fatal(err)
	}
	if err := check(p, 500*time.Millisecond); err == nil {
		t.Errorf("consistency passed with a frozen member")
	}
	if err := lab.Resume(context.Background(), "m2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, p, 10*time.Second)
}
