package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/localstack"
	"github.com/drillhq/drill/localstack/lstest"
	"github.com/drillhq/drill/result"
)

// TestResultsVerbs: a run's result is spooled while DynamoDB is unreachable, `results init`
// creates the table, `results flush` writes the spooled result once, a second flush writes
// nothing.
func TestResultsVerbs(t *testing.T) {
	ctx := context.Background()
	lstest.SkipUnserved(t, "dynamodb")
	emu := lstest.ForTest(t, lstest.StartOwn)
	emu.Require(t, "dynamodb")
	spool := t.TempDir()
	env := map[string]string{"DRILL_SPOOL": spool, "AWS_REGION": "us-east-1"}
	newApp := func(endpoint string) (*app, *bytes.Buffer, *bytes.Buffer) {
		var out, errb bytes.Buffer
		return &app{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), log: discardLogger(),
			getenv: func(k string) string {
				if k == awsenv.EnvEndpoint {
					return endpoint
				}
				return env[k]
			}}, &out, &errb
	}
	run := func(a *app, args ...string) error {
		cmd := newResultsCmd(a)
		cmd.SetArgs(args)
		cmd.SetOut(a.stdout)
		cmd.SetErr(a.stderr)
		return cmd.ExecuteContext(ctx)
	}

	closed, err := localstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	offline, _, errb := newApp(fmt.Sprintf("http://127.0.0.1:%d", closed))
	res := &result.Result{Schema: result.Schema, RunID: "run-cli", Scenario: "aws-pilot-light", System: "orders", Verdict: result.VerdictPass, StartedAt: time.Now().UTC()}
	if err := saveResultsToDynamo(ctx, offline, dynamoOptions{}, []*result.Result{res}); err != nil {
		t.Fatalf("saving while unreachable must spool, not fail: %v", err)
	}
	if !strings.Contains(errb.String(), "spooled to "+spool) || !strings.Contains(errb.String(), "drill results flush") {
		t.Errorf("stderr does not say the result was spooled and how to flush it:\n%s", errb.String())
	}

	online, out, _ := newApp(emu.Endpoint)
	if err := run(online, "init"); err != nil {
		t.Fatalf("results init: %v", err)
	}
	if err := run(online, "init"); err != nil {
		t.Fatalf("second results init: %v", err)
	}
	if !strings.Contains(out.String(), "created DynamoDB table DRTestResults") || !strings.Contains(out.String(), "already exists") {
		t.Errorf("init output:\n%s", out.String())
	}
	out.Reset()
	if err := run(online, "flush"); err != nil {
		t.Fatalf("results flush: %v", err)
	}
	if err := run(online, "flush"); err != nil {
		t.Fatalf("second results flush: %v", err)
	}
	want := "1 written, 0 already present, 0 still spooled"
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], want) || !strings.HasPrefix(lines[1], "0 written, 0 already present, 0 still spooled") {
		t.Errorf("flush output:\n%s\nwant first %q then nothing left", out.String(), want)
	}

	again, _, errb2 := newApp(emu.Endpoint)
	if err := saveResultsToDynamo(ctx, again, dynamoOptions{}, []*result.Result{res}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb2.String(), "already in DynamoDB") {
		t.Errorf("saving the same run twice: %s", errb2.String())
	}
}
