package resultstore_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/internal/testenv"
	"github.com/drillhq/drill/localstack/lstest"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/resultstore"
)

var emu lstest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	emu.Close()
	os.Exit(code)
}

func sample(runID, system, scenario string, started time.Time) *result.Result {
	rto := int64(1234)
	return &result.Result{
		Schema: result.Schema, RunID: runID, Scenario: scenario, System: system, Verdict: result.VerdictPass,
		StartedAt: started, FinishedAt: started.Add(time.Minute), ToolVersion: "test",
		Objectives: result.Objectives{RTO: result.RTO{TargetMs: 900000, MeasuredMs: &rto, Met: true, ResolutionMs: 1000}},
		Events:     []result.Event{{AtMs: 0, Kind: result.EventPhase, Message: "inject"}},
	}
}

func dynamo(t *testing.T, endpoint string, attempts int) *dynamodb.Client {
	t.Helper()
	cfg, err := awsenv.LoadConfig(context.Background(), awsenv.ConfigOptions{Region: "us-east-1", Endpoint: endpoint, MaxAttempts: attempts, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return dynamodb.NewFromConfig(cfg)
}

func TestItemKeysSortByTime(t *testing.T) {
	t.Parallel()
	early := sample("run-b", "orders", "warm-standby", time.Date(2026, 1, 2, 3, 4, 5, 100_000_000, time.UTC))
	late := sample("run-a", "orders", "warm-standby", time.Date(2026, 1, 2, 3, 4, 5, 120_000_000, time.FixedZone("x", 0)))
	a, b := resultstore.SortKey(early), resultstore.SortKey(late)
	if !(a < b) {
		t.Errorf("sort keys %q and %q do not sort in time order", a, b)
	}
	item, err := resultstore.Item(early)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, k := range []string{resultstore.AttrPK, resultstore.AttrSK, resultstore.AttrGSI1PK, resultstore.AttrRunID} {
		got[k] = item[k].(*types.AttributeValueMemberS).Value
	}
	want := map[string]string{"PK": "SYSTEM#orders", "SK": "2026-01-02T03:04:05.100000000Z#run-b", "GSI1PK": "SCENARIO#warm-standby", "runId": "run-b"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	back, err := resultstore.Decode(item)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(early, back); diff != "" {
		t.Errorf("decoded result (-want +got):\n%s", diff)
	}
}

func TestLargeResultIsCompressed(t *testing.T) {
	t.Parallel()
	r := sample("big", "orders", "s", time.Now().UTC())
	for i := range 20000 {
		r.Events = append(r.Events, result.Event{AtMs: int64(i), Kind: result.EventProbe, Message: fmt.Sprintf("probe web down: connection refused #%d", i)})
	}
	item, err := resultstore.Item(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, inline := item[resultstore.AttrResult]; inline {
		t.Fatal("a result over the item limit was stored inline")
	}
	gz := item[resultstore.AttrResultGz].(*types.AttributeValueMemberB).Value
	if len(gz) > 400<<10 {
		t.Errorf("compressed result is %d bytes, over DynamoDB's item limit", len(gz))
	}
	back, err := resultstore.Decode(item)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Events) != len(r.Events) {
		t.Errorf("decoded %d events, want %d", len(back.Events), len(r.Events))
	}
}

// TestConditionalPutNeverDuplicates writes the same run many times, concurrently: exactly one
// write creates the item and the history query returns it once.
func TestConditionalPutNeverDuplicates(t *testing.T) {
	lstest.SkipUnserved(t, "dynamodb")
	e := emu.Get(t)
	e.Require(t, "dynamodb")
	ctx := context.Background()
	api := dynamo(t, e.Endpoint, 3)
	if created, err := resultstore.CreateTable(ctx, api, "ResultsDup"); err != nil || !created {
		t.Fatalf("CreateTable = %v, %v", created, err)
	}
	if created, err := resultstore.CreateTable(ctx, api, "ResultsDup"); err != nil || created {
		t.Fatalf("second CreateTable = %v, %v; want already there, no error", created, err)
	}
	store := resultstore.New(api, "ResultsDup", t.TempDir())
	r := sample("run-dup", "payments", "rds-failover", time.Now().UTC())
	var wg sync.WaitGroup
	var mu sync.Mutex
	written := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := store.Put(ctx, r)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				written++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if written != 1 {
		t.Errorf("%d of 8 puts created the item, want exactly 1", written)
	}
	rep, err := store.Save(ctx, r)
	if err != nil || rep.Outcome != resultstore.AlreadyPresent {
		t.Errorf("Save of a stored run = %+v, %v; want AlreadyPresent", rep, err)
	}
	got, err := resultstore.BySystem(ctx, api, "ResultsDup", "payments", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RunID != "run-dup" {
		t.Errorf("history for the system = %d items, want the run once", len(got))
	}
}

func TestHistoryQueries(t *testing.T) {
	lstest.SkipUnserved(t, "dynamodb")
	e := emu.Get(t)
	e.Require(t, "dynamodb")
	ctx := context.Background()
	api := dynamo(t, e.Endpoint, 3)
	if _, err := resultstore.CreateTable(ctx, api, "ResultsHistory"); err != nil {
		t.Fatal(err)
	}
	store := resultstore.New(api, "ResultsHistory", t.TempDir())
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	runs := []*result.Result{
		sample("r1", "orders", "warm-standby", t0),
		sample("r2", "orders", "dns-failover", t0.Add(time.Hour)),
		sample("r3", "orders", "warm-standby", t0.Add(2*time.Hour)),
		sample("r4", "billing", "warm-standby", t0.Add(3*time.Hour)),
	}
	for _, r := range runs {
		if _, err := store.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(rs []*result.Result) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.RunID)
		}
		return out
	}
	bySystem, err := resultstore.BySystem(ctx, api, "ResultsHistory", "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"r3", "r2", "r1"}, ids(bySystem)); diff != "" {
		t.Errorf("by system, newest first (-want +got):\n%s", diff)
	}
	byScenario, err := resultstore.ByScenario(ctx, api, "ResultsHistory", "warm-standby", 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"r4", "r3"}, ids(byScenario)); diff != "" {
		t.Errorf("by scenario, newest two (-want +got):\n%s", diff)
	}
}

// TestSpoolWhenUnreachableThenFlush: the emulator is stopped, the result is spooled; the
// emulator comes back (empty, as moto keeps state in memory), the table is created again,
// flush writes the item, and it is there exactly once however often flush runs.
func TestSpoolWhenUnreachableThenFlush(t *testing.T) {
	// Skip, with the reason, when no emulator can start at all or it lacks DynamoDB.
	lstest.SkipUnserved(t, "dynamodb")
	emu.Get(t).Require(t, "dynamodb")
	ctx := context.Background()
	own, err := lstest.StartMoto(ctx)
	if err != nil {
		testenv.Need(t, "AWS emulator (moto)", "make moto", "this test stops its own moto server and none could start: "+err.Error())
	}
	t.Cleanup(func() { _ = own.Stop() })
	api := dynamo(t, own.Endpoint, 2)
	if _, err := resultstore.CreateTable(ctx, api, resultstore.DefaultTable); err != nil {
		t.Fatal(err)
	}
	spool := t.TempDir()
	store := resultstore.New(api, "", spool)

	if err := own.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	r := sample("run-offline", "orders", "warm-standby", time.Now().UTC())
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	rep, err := store.Save(sctx, r)
	cancel()
	if err != nil {
		t.Fatalf("Save while unreachable: %v", err)
	}
	if rep.Outcome != resultstore.Spooled || rep.Cause == nil || !strings.HasPrefix(rep.SpoolFile, spool) {
		t.Fatalf("Save while unreachable = %+v, want Spooled under %s with a cause", rep, spool)
	}
	pending, err := store.Pending()
	if err != nil || len(pending) != 1 {
		t.Fatalf("Pending = %v, %v; want the one spooled result", pending, err)
	}
	if _, err := store.Flush(ctx); err == nil {
		t.Fatal("Flush while unreachable reported success")
	}
	if pending, _ := store.Pending(); len(pending) != 1 {
		t.Fatalf("a failed flush lost the spooled result: %v", pending)
	}

	if err := own.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := resultstore.CreateTable(ctx, api, resultstore.DefaultTable); err != nil {
		t.Fatal(err)
	}
	fr, err := store.Flush(ctx)
	if err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if fr.Written != 1 || fr.Remaining != 0 {
		t.Errorf("Flush = %+v, want 1 written, 0 remaining", fr)
	}
	// A second flush (and a re-spooled copy of the same run) must not duplicate the item.
	if _, err := store.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := resultstore.BySystem(ctx, api, resultstore.DefaultTable, "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RunID != "run-offline" {
		t.Fatalf("items for the system after flush = %d, want the run exactly once", len(got))
	}
	if diff := cmp.Diff(r, got[0]); diff != "" {
		t.Errorf("stored result (-want +got):\n%s", diff)
	}
}
