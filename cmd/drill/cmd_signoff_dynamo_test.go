package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/localstack"
	"github.com/drillhq/drill/localstack/lstest"
	"github.com/drillhq/drill/resultstore"
)

// A sign-off given --dynamodb-table lands in the results table and reads back.
func TestSignOffToDynamoDB(t *testing.T) {
	ctx := context.Background()
	emu, err := lstest.StartMoto(ctx)
	if err != nil {
		t.Skipf("no moto server could start: %v", err)
	}
	t.Cleanup(func() { _ = emu.Stop() })
	db := seedFailThenPass(t)
	env := map[string]string{"AWS_ENDPOINT_URL": emu.Endpoint, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "DRILL_SPOOL": t.TempDir()}
	if code, _, stderr := runProgrammeCLI(t, env, "results", "init"); code != 0 {
		t.Fatalf("results init: %s", stderr)
	}
	code, out, stderr := runProgrammeCLI(t, env, "signoff", "r-pass", "--by", "alice", "--role", "DR coordinator", "--history", db, "--dynamodb-table", "DRTestResults")
	if code != 0 || !strings.Contains(out, "signed off r-pass") || !strings.Contains(stderr, "also written to DynamoDB") {
		t.Fatalf("exit %d, out %q, err %q", code, out, stderr)
	}
	api := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(emu.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	sos, err := resultstore.SignOffs(ctx, api, "DRTestResults", "r-pass")
	if err != nil || len(sos) != 1 || sos[0].By != "alice" || sos[0].Role != "DR coordinator" {
		t.Errorf("sign-offs in DynamoDB %+v (%v)", sos, err)
	}
	// The table is still a results table: a system query does not trip over the sign-off.
	if _, err := resultstore.BySystem(ctx, api, "DRTestResults", "orders", 0); err != nil {
		t.Errorf("query by system: %v", err)
	}
}

// When DynamoDB is unreachable the sign-off is still in history, and the exit code says the
// mirror failed.
func TestSignOffDynamoDBUnreachable(t *testing.T) {
	t.Parallel()
	port, err := localstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	db := seedFailThenPass(t)
	env := map[string]string{"AWS_ENDPOINT_URL": fmt.Sprintf("http://127.0.0.1:%d", port), "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
	code, _, stderr := runProgrammeCLI(t, env, "signoff", "r-pass", "--by", "alice", "--history", db, "--dynamodb-table", "DRTestResults")
	if code != 3 || !strings.Contains(stderr, "sign-off recorded in history, but not in DynamoDB") {
		t.Fatalf("exit %d, err %q", code, stderr)
	}
	s, err := history.OpenReadOnly(db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if sos, _ := s.SignOffs(t.Context()); len(sos["r-pass"]) != 1 {
		t.Errorf("local sign-off missing: %+v", sos)
	}
}
