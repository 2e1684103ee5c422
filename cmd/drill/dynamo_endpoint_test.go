package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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
