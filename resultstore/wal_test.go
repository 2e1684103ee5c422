package resultstore_test

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/drillhq/drill/localstack/lstest"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/resultstore"
)

// hangingEndpoint is a loopback listener that accepts connections and never answers: a
// DynamoDB that hangs.
func hangingEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); _ = ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return "http://" + ln.Addr().String()
}

// saveBlocked runs Save against a hanging DynamoDB, checks that the result is in the spool
// (0600) while the put blocks, then cancels it: the state a SIGKILL during the put leaves.
func saveBlocked(t *testing.T, table, spool string, r *result.Result) {
	runID := r.RunID
	t.Helper()
	store := resultstore.New(dynamo(t, hangingEndpoint(t), 1), table, spool)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type saved struct {
		rep resultstore.SaveReport
		err error
	}
	out := make(chan saved, 1)
	go func() {
		rep, err := store.Save(ctx, r)
		out <- saved{rep, err}
	}()
	want := store.SpoolDir() + "/" + runID + ".json"
	deadline := time.Now().Add(10 * time.Second)
	for {
		fi, err := os.Stat(want)
		if err == nil {
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("spool file mode %v, want 0600", fi.Mode().Perm())
			}
			break
		}
		select {
		case s := <-out:
			t.Fatalf("Save returned (%+v, %v) before the result was seen in the spool", s.rep, s.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("result not in the spool while the put blocks: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case s := <-out:
		t.Fatalf("Save returned (%+v, %v) against a DynamoDB that never answers", s.rep, s.err)
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	select {
	case s := <-out:
		if s.err != nil || s.rep.Outcome != resultstore.Spooled || !errors.Is(s.rep.Cause, context.Canceled) {
			t.Fatalf("cancelled Save = (%+v, %v), want Spooled because of the cancel", s.rep, s.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Save did not honour the cancelled context")
	}
	if _, err := os.Stat(want); err != nil {
		t.Fatalf("cancelled Save left no spooled result: %v", err)
	}
}

func TestSaveSpoolsBeforePut(t *testing.T) {
	lstest.SkipUnserved(t, "dynamodb")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	saveBlocked(t, "ResultsWAL", t.TempDir(), sample("run-blocked", "orders", "warm-standby", time.Now().UTC()))
}

func TestSaveWriteAheadThenFlushOnce(t *testing.T) {
	lstest.SkipUnserved(t, "dynamodb")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	e := emu.Get(t)
	e.Require(t, "dynamodb")
	ctx := context.Background()
	api := dynamo(t, e.Endpoint, 3)
	const table = "ResultsWALFlush"
	if _, err := resultstore.CreateTable(ctx, api, table); err != nil {
		t.Fatal(err)
	}
	spool := t.TempDir()
	store := resultstore.New(api, table, spool)

	// A successful put leaves nothing in the spool.
	put := sample("run-put", "orders", "warm-standby", time.Now().UTC())
	rep, err := store.Save(ctx, put)
	if err != nil || rep.Outcome != resultstore.Written || rep.Cause != nil {
		t.Fatalf("Save = (%+v, %v), want Written", rep, err)
	}
	if p, err := store.Pending(); err != nil || len(p) != 0 {
		t.Fatalf("spool after a successful put = %v, %v; want empty", p, err)
	}

	// Simulated crashes: one during the put of a run DynamoDB already has (the put landed,
	// the process died before removing it), one during the put of a run it does not have.
	saveBlocked(t, table, spool, put)
	saveBlocked(t, table, spool, sample("run-crashed", "orders", "warm-standby", time.Now().UTC()))
	if p, _ := store.Pending(); len(p) != 2 {
		t.Fatalf("spool after the crashes = %v, want 2 results", p)
	}
	fr, err := store.Flush(ctx)
	if err != nil || fr.Written != 1 || fr.AlreadyPresent != 1 || fr.Remaining != 0 {
		t.Fatalf("Flush = (%+v, %v), want 1 written, 1 already present, 0 remaining", fr, err)
	}
	fr, err = store.Flush(ctx)
	if err != nil || fr.Written != 0 || fr.AlreadyPresent != 0 || fr.Remaining != 0 {
		t.Fatalf("second Flush = (%+v, %v), want nothing written", fr, err)
	}
	got, err := resultstore.BySystem(ctx, api, table, "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("items after flush = %d, want each run exactly once (2)", len(got))
	}
}
