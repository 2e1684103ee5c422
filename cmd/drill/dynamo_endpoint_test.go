package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/drillhq/drill/localstack"
	"github.com/drillhq/drill/localstack/lstest"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/resultstore"
)

// TestRunResultGoesToScenarioEmulator: with --dynamodb-table, a scenario whose
// environment.aws.endpoint is on loopback has its result written there, not to
// AWS_ENDPOINT_URL (a closed port here), and nothing is left in the spool. Not parallel: it
// sets environment variables.
func TestRunResultGoesToScenarioEmulator(t *testing.T) {
	lstest.SkipUnserved(t, "dynamodb")
	ctx := context.Background()
	emu := lstest.ForTest(t, lstest.StartOwn)
	emu.Require(t, "dynamodb")
	closed, err := localstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	spool := t.TempDir()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL", fmt.Sprintf("http://127.0.0.1:%d", closed))
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("DRILL_SPOOL", spool)
	cfg, err := localstack.ClientConfig(ctx, "us-east-1", emu.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	api := dynamodb.NewFromConfig(cfg)
	const table = "ResultsScenarioEndpoint"
	if _, err := resultstore.CreateTable(ctx, api, table); err != nil {
		t.Fatal(err)
	}
	scen := fileOutageScenario(t, "emulated", "5s", "0.1")
	body, err := os.ReadFile(scen)
	if err != nil {
		t.Fatal(err)
	}
	body = append(body, fmt.Sprintf("environment:\n  aws: { endpoint: %q }\n", emu.Endpoint)...)
	if err := os.WriteFile(scen, body, 0o644); err != nil {
		t.Fatal(err)
	}

	code, _, stderr := runCLIState(t, t.TempDir(), "run", "-q", "--dynamodb-table", table, scen)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "written to DynamoDB table "+table) {
		t.Errorf("stderr does not say the result was written:\n%s", stderr)
	}
	items, err := resultstore.BySystem(ctx, api, table, "files", 0)
	if err != nil || len(items) != 1 || items[0].Verdict != result.VerdictPass {
		t.Fatalf("the scenario's emulator holds %d items (%v), want this run", len(items), err)
	}
	st := resultstore.New(api, table, spool)
	if p, err := st.Pending(); err != nil || len(p) != 0 {
		t.Errorf("spool after a written result = %v, %v; want empty", p, err)
	}
}

// TestLeaseGoesToScenarioEmulator: with --dynamodb-table and no --dynamodb-endpoint, the lease of
// a scenario whose environment.aws.endpoint is an emulator is taken there, where its result goes,
// not at AWS_ENDPOINT_URL (a closed port here). While the first drill (the built binary) holds
// it, a second runner with its own state directory, as on another host, is refused by the
// lease alone: exit 3 naming the holder's host, pid and run id. Not parallel: it builds and runs
// the binary against its own emulator.
func TestLeaseGoesToScenarioEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary against an AWS emulator")
	}
	lstest.SkipUnserved(t, "dynamodb")
	ctx := context.Background()
	emu := lstest.ForTest(t, lstest.StartOwn)
	emu.Require(t, "dynamodb")
	closed, err := localstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := localstack.ClientConfig(ctx, "us-east-1", emu.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	api := dynamodb.NewFromConfig(cfg)
	const table = "LeaseScenarioEndpoint"
	if _, err := resultstore.CreateTable(ctx, api, table); err != nil {
		t.Fatal(err)
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	// The first drill waits in steady state on a probe that never answers (loopback), holding
	// the lease for as long as the test needs.
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang); srv.Close() })
	dir := t.TempDir()
	scen := filepath.Join(dir, "leased.yaml")
	if err := os.WriteFile(scen, []byte(fmt.Sprintf(`version: 1
name: leased
system: leased-system
objectives: { rto: 10s }
environment:
  aws: { endpoint: %q }
probes:
  - { name: hang, type: http, interval: 1s, timeout: 2m, with: { url: %q } }
steadyState: [hang]
faults:
  - { name: f, type: command, with: { run: "true" } }
limits: { timeout: 5m, observe: 1s }
`, emu.Endpoint, srv.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(state string) []string {
		return append(os.Environ(), "AWS_EC2_METADATA_DISABLED=true", "AWS_REGION=us-east-1",
			"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
			fmt.Sprintf("AWS_ENDPOINT_URL=http://127.0.0.1:%d", closed),
			"DRILL_SPOOL="+filepath.Join(state, "spool"), "DRILL_HISTORY="+filepath.Join(state, "history.db"))
	}
	first := exec.Command(filepath.Join(bin, "drill"), "run", "-q", "--dynamodb-table", table, scen)
	first.Env = env(filepath.Join(dir, "a"))
	var firstErr strings.Builder
	first.Stderr = &firstErr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Process.Kill(); _ = first.Wait() })

	// The lease item appears on the emulator, naming the first drill's pid and, once it named
	// its run, the run id.
	key := map[string]types.AttributeValue{
		resultstore.AttrPK: &types.AttributeValueMemberS{Value: "LEASE#leased-system"},
		resultstore.AttrSK: &types.AttributeValueMemberS{Value: "LEASE"},
	}
	var runID string
	for deadline := time.Now().Add(time.Minute); runID == ""; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no lease with a run id on the scenario's emulator after 1m; first drill:\n%s", firstErr.String())
		}
		out, err := api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil || out.Item == nil {
			continue
		}
		if pid, ok := out.Item["pid"].(*types.AttributeValueMemberN); !ok || pid.Value != strconv.Itoa(first.Process.Pid) {
			t.Fatalf("lease item %v, want pid %d", out.Item, first.Process.Pid)
		}
		if r, ok := out.Item[resultstore.AttrRunID].(*types.AttributeValueMemberS); ok {
			runID = r.Value
		}
	}

	second := exec.Command(filepath.Join(bin, "drill"), "run", "-q", "--dynamodb-table", table, scen)
	second.Env = env(filepath.Join(dir, "b"))
	var secondErr strings.Builder
	second.Stderr = &secondErr
	_ = second.Run()
	host, _ := os.Hostname()
	stderr := secondErr.String()
	if code := second.ProcessState.ExitCode(); code != result.ExitError || !strings.Contains(stderr, "DynamoDB lease") ||
		!strings.Contains(stderr, host) || !strings.Contains(stderr, fmt.Sprintf("pid %d", first.Process.Pid)) || !strings.Contains(stderr, runID) {
		t.Errorf("second runner: exit %d, want 3 naming the lease holder (host %s, pid %d, run %s)\n%s", code, host, first.Process.Pid, runID, stderr)
	}

	// Interrupted, the first drill gives its lease back.
	if err := first.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	if out, err := api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)}); err != nil || out.Item != nil {
		t.Errorf("lease after the first drill ended: %v %v, want released\n%s", out, err, firstErr.String())
	}
}
