package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/drillhq/drill/localstack"
	"github.com/drillhq/drill/localstack/lstest"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/resultstore"
)

// TestRunAWSDrillThroughCLI runs a shipped AWS drill with `drill run` against an emulator
// (LocalStack where Docker exists, else moto) seeded with the DR topology, and checks JSON,
// JUnit and the DynamoDB item the run writes. Not parallel: it sets AWS_ENDPOINT_URL.
func TestRunAWSDrillThroughCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an AWS emulator")
	}
	ctx := context.Background()
	// The drill breaks a health check and writes its result to DynamoDB.
	lstest.SkipUnserved(t, "route53", "dynamodb")
	lstest.KnownBug(t, lstest.KindLocalStackHost, lstest.BugRoute53FalseFlags)
	emu := lstest.ForTest(t, lstest.Start)
	emu.Require(t, "route53", "dynamodb")
	t.Setenv("AWS_ENDPOINT_URL", emu.Endpoint)
	cfg, err := localstack.ClientConfig(ctx, "us-east-1", emu.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	fx, err := localstack.DefaultFixture()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := localstack.Seed(ctx, cfg, fx, createResultsTable); err != nil {
		t.Fatalf("seed DR topology: %v", err)
	}

	out := t.TempDir()
	jsonPath, junitPath := filepath.Join(out, "r.json"), filepath.Join(out, "j.xml")
	code, stdout, stderr := runCLI(t, "run", "-q", "--json", jsonPath, "--junit", junitPath,
		"--dynamodb-table", resultstore.DefaultTable, "../../scenarios/library/aws/route53-dns-failover.yaml")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var res result.Result
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(junitPath); err != nil {
		t.Errorf("JUnit not written: %v", err)
	}
	items, err := resultstore.ByScenario(ctx, dynamodb.NewFromConfig(cfg), resultstore.DefaultTable, res.Scenario, 0)
	if err != nil || len(items) != 1 || items[0].RunID != res.RunID {
		t.Fatalf("DynamoDB holds %d items for %s (%v), want exactly this run", len(items), res.Scenario, err)
	}

	// drill history reads the same record back from DynamoDB, by system and by scenario.
	for _, by := range [][]string{{"--system", res.System}, {"--scenario", res.Scenario}} {
		code, stdout, stderr = runCLI(t, append([]string{"history", "--source", "dynamodb", "--json"}, by...)...)
		if code != 0 {
			t.Fatalf("history --source dynamodb %v: exit %d: %s", by, code, stderr)
		}
		var runs []result.Result
		if err := json.Unmarshal([]byte(stdout), &runs); err != nil || len(runs) != 1 || runs[0].RunID != res.RunID {
			t.Errorf("history --source dynamodb %v = %d runs (%v), want this run", by, len(runs), err)
		}
	}
	if code, _, stderr := runCLI(t, "history", "--source", "dynamodb"); code != 2 || !strings.Contains(stderr, "never a table Scan") {
		t.Errorf("history --source dynamodb without a key: exit %d, %q; want a usage error", code, stderr)
	}
}

// TestRunRefusedWhileDynamoDBLeaseHeld: with --dynamodb-table, a drill on another host holding
// the system's lease refuses this one (exit 3, naming it); once released, the drill runs and
// gives the lease back.
func TestRunRefusedWhileDynamoDBLeaseHeld(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an AWS emulator")
	}
	ctx := context.Background()
	emu, err := lstest.Start(ctx)
	if err != nil {
		t.Skipf("no AWS emulator could start (run `make moto`): %v", err)
	}
	t.Cleanup(func() { _ = emu.Stop() })
	t.Setenv("AWS_ENDPOINT_URL", emu.Endpoint)
	cfg, err := localstack.ClientConfig(ctx, "us-east-1", emu.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	api := dynamodb.NewFromConfig(cfg)
	if _, err := resultstore.CreateTable(ctx, api, "LeaseCLI"); err != nil {
		t.Fatal(err)
	}
	other, err := resultstore.AcquireLease(ctx, api, "LeaseCLI", "files", resultstore.LeaseHolder{Host: "other-host", PID: 4242, RunID: "run-elsewhere"}, time.Minute, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	scen := fileOutageScenario(t, "leased", "5s", "0.1")
	code, _, stderr := runCLIState(t, state, "run", "-q", "--dynamodb-table", "LeaseCLI", scen)
	if code != result.ExitError || !strings.Contains(stderr, "other-host") || !strings.Contains(stderr, "run-elsewhere") {
		t.Fatalf("exit %d, want 3 naming the lease holder\n%s", code, stderr)
	}
	if err := other.Release(ctx); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLIState(t, state, "run", "-q", "--dynamodb-table", "LeaseCLI", scen)
	if code != 0 {
		t.Fatalf("after release: exit %d\n%s", code, stderr)
	}
	again, err := resultstore.AcquireLease(ctx, api, "LeaseCLI", "files", resultstore.LeaseHolder{RunID: "next"}, time.Minute, nil, nil)
	if err != nil {
		t.Fatalf("the drill did not give its lease back: %v", err)
	}
	again.Release(ctx)
}
