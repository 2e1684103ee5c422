package resultstore_test

import (
	"context"
	"errors"
	"github.com/drillhq/drill/localstack/lstest"
	"testing"
	"time"

	"github.com/drillhq/drill/resultstore"
)

func TestLeaseOneHolderPerSystem(t *testing.T) {
	lstest.SkipUnserved(t, "dynamodb")
	e := emu.Get(t)
	ctx := context.Background()
	api := dynamo(t, e.Endpoint, 3)
	if _, err := resultstore.CreateTable(ctx, api, "ResultsLease"); err != nil {
		t.Fatal(err)
	}
	a, err := resultstore.AcquireLease(ctx, api, "ResultsLease", "orders", resultstore.LeaseHolder{Host: "host-a", PID: 11, RunID: "run-a", Scenario: "s"}, time.Minute, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = resultstore.AcquireLease(ctx, api, "ResultsLease", "orders", resultstore.LeaseHolder{Host: "host-b", PID: 22, RunID: "run-b"}, time.Minute, nil, nil)
	var held *resultstore.LeaseHeldError
	if !errors.As(err, &held) || held.Holder.RunID != "run-a" || held.Holder.Host != "host-a" || held.Holder.PID != 11 {
		t.Fatalf("second lease: %v (%+v), want held by run-a on host-a pid 11", err, held)
	}
	// Another system is free.
	other, err := resultstore.AcquireLease(ctx, api, "ResultsLease", "payments", resultstore.LeaseHolder{RunID: "run-c"}, time.Minute, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	other.Release(ctx)
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := resultstore.AcquireLease(ctx, api, "ResultsLease", "orders", resultstore.LeaseHolder{RunID: "run-b"}, time.Minute, nil, nil)
	if err != nil {
		t.Fatalf("lease after release: %v", err)
	}
	defer b.Release(ctx)

	// A holder that died stops renewing: once its lease has expired, another host takes it.
	later := func() time.Time { return time.Now().Add(2 * time.Minute) }
	c, err := resultstore.AcquireLease(ctx, api, "ResultsLease", "orders", resultstore.LeaseHolder{RunID: "run-d"}, time.Minute, later, nil)
	if err != nil {
		t.Fatalf("lease over an expired one: %v", err)
	}
	c.Release(ctx)
}

// The holder renews its lease, so a live drill longer than ttl keeps it.
func TestLeaseRenewedWhileHeld(t *testing.T) {
	lstest.SkipUnserved(t, "dynamodb")
	e := emu.Get(t)
	ctx := context.Background()
	api := dynamo(t, e.Endpoint, 3)
	if _, err := resultstore.CreateTable(ctx, api, "ResultsRenew"); err != nil {
		t.Fatal(err)
	}
	lost := make(chan error, 10)
	a, err := resultstore.AcquireLease(ctx, api, "ResultsRenew", "orders", resultstore.LeaseHolder{RunID: "run-a"}, 900*time.Millisecond, nil, func(err error) { lost <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release(ctx)
	time.Sleep(2 * time.Second)
	if _, err := resultstore.AcquireLease(ctx, api, "ResultsRenew", "orders", resultstore.LeaseHolder{RunID: "run-b"}, time.Minute, nil, nil); err == nil {
		t.Fatal("lease taken from a live holder that renews it")
	}
	select {
	case err := <-lost:
		t.Fatalf("renewal failed: %v", err)
	default:
	}
}

// SetHolder names the run in our lease, so a refused drill is told it; once the lease was taken
// over (ours lapsed) it changes nothing of the new holder's.
func TestLeaseSetHolder(t *testing.T) {
	lstest.SkipUnserved(t, "dynamodb")
	e := emu.Get(t)
	ctx := context.Background()
	api := dynamo(t, e.Endpoint, 3)
	if _, err := resultstore.CreateTable(ctx, api, "ResultsLeaseHolder"); err != nil {
		t.Fatal(err)
	}
	a, err := resultstore.AcquireLease(ctx, api, "ResultsLeaseHolder", "orders", resultstore.LeaseHolder{Host: "host-a", PID: 11, Scenario: "s"}, time.Minute, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetHolder(ctx, resultstore.LeaseHolder{Host: "host-a", PID: 11, RunID: "run-a", Scenario: "s"}); err != nil {
		t.Fatal(err)
	}
	_, err = resultstore.AcquireLease(ctx, api, "ResultsLeaseHolder", "orders", resultstore.LeaseHolder{Host: "host-b", PID: 22}, time.Minute, nil, nil)
	var held *resultstore.LeaseHeldError
	if !errors.As(err, &held) || held.Holder.RunID != "run-a" || held.Holder.Host != "host-a" || held.Holder.PID != 11 {
		t.Fatalf("second lease: %v (%+v), want held by run-a on host-a pid 11", err, held)
	}
	// Taken over after ours lapsed: our SetHolder must fail and leave the new holder named.
	later := func() time.Time { return time.Now().Add(2 * time.Minute) }
	b, err := resultstore.AcquireLease(ctx, api, "ResultsLeaseHolder", "orders", resultstore.LeaseHolder{Host: "host-b", PID: 22, RunID: "run-b"}, time.Minute, later, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release(ctx)
	if err := a.SetHolder(ctx, resultstore.LeaseHolder{Host: "host-a", PID: 11, RunID: "run-a2"}); err == nil {
		t.Error("SetHolder on a lease taken over succeeded")
	}
	_ = a.Release(ctx)
	_, err = resultstore.AcquireLease(ctx, api, "ResultsLeaseHolder", "orders", resultstore.LeaseHolder{Host: "host-c"}, time.Minute, nil, nil)
	if !errors.As(err, &held) || held.Holder.RunID != "run-b" {
		t.Fatalf("after a stale SetHolder: %v (%+v), want still held by run-b", err, held)
	}
}
