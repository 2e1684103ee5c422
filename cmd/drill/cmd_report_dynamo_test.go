package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drillhq/drill/compliance"
	"github.com/drillhq/drill/localstack/lstest"
	"github.com/drillhq/drill/result"
)

// TestReportFromDynamoDB: runs written to the results table the way 'drill run
// --dynamodb-table' writes them give, through 'drill report --source dynamodb', the same
// systems and statuses as the report built from a local history holding the same runs.
func TestReportFromDynamoDB(t *testing.T) {
	lstest.SkipUnserved(t, "dynamodb")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx := context.Background()
	emu := lstest.ForTest(t, lstest.StartOwn)
	emu.Require(t, "dynamodb")

	dir := t.TempDir()
	suitePath := writeProgramme(t, dir)
	q := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 10, 0, 0, 0, time.UTC) }
	runs := []*result.Result{
		runAt("etcd-1", "etcd-loss", "orders-etcd", q(7, 14), result.VerdictPass, 2310),
		runAt("etcd-2", "etcd-loss", "orders-etcd", q(9, 20), result.VerdictPass, 1890),
		runAt("web-1", "web-outage", "web", q(7, 3), result.VerdictPass, 4200),
		runAt("web-2", "web-outage", "web", q(8, 29), result.VerdictFail, 41000),
		runAt("old", "etcd-loss", "orders-etcd", q(3, 1), result.VerdictPass, 2100),
		runAt("later", "etcd-loss", "orders-etcd", q(10, 5), result.VerdictPass, 2000),
		// A system outside the suite: only --system brings it in.
		runAt("other-1", "cache-flush", "cache", q(8, 1), result.VerdictPass, 900),
	}
	db := filepath.Join(dir, "h.db")
	seedHistory(t, db, runs...)

	env := map[string]string{"AWS_ENDPOINT_URL": emu.Endpoint, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "DRILL_SPOOL": t.TempDir()}
	const table = "DrillReportResults"
	if code, _, stderr := runProgrammeCLI(t, env, "results", "init", "--table", table); code != 0 {
		t.Fatalf("results init: %s", stderr)
	}
	// The same code 'drill run --dynamodb-table' uses to write its results.
	writer, _, errb := newEnvApp(env)
	if err := saveResultsToDynamo(ctx, writer, dynamoOptions{table: table}, runs); err != nil {
		t.Fatalf("save results: %v\n%s", err, errb.String())
	}
	if n := strings.Count(errb.String(), "written to DynamoDB table "+table); n != len(runs) {
		t.Fatalf("%d of %d results written:\n%s", n, len(runs), errb.String())
	}

	report := func(args ...string) compliance.Report {
		t.Helper()
		args = append([]string{"report", "--period", "2026-Q3", "--format", "json"}, args...)
		code, out, stderr := runProgrammeCLI(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var rep compliance.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%v: json: %v\n%s", args, err, out)
		}
		return rep
	}
	statuses := func(rep compliance.Report) map[string]compliance.Status {
		m := map[string]compliance.Status{}
		for _, s := range rep.Systems {
			m[s.Name] = s.Status
		}
		return m
	}
	runIDs := func(rep compliance.Report) []string {
		var ids []string
		for _, r := range rep.Runs {
			ids = append(ids, r.RunID)
		}
		return ids
	}

	local := report("--suite", suitePath, "--history", db)
	remote := report("--suite", suitePath, "--source", "dynamodb", "--table", table)
	ls, rs := statuses(local), statuses(remote)
	if len(ls) != 3 || ls["orders-etcd"] != compliance.StatusCompliant || ls["web"] != compliance.StatusFailing || ls["billing"] != compliance.StatusNeverDrilled {
		t.Fatalf("local report statuses %v, want the programme's three systems", ls)
	}
	if !equalStatuses(ls, rs) {
		t.Errorf("statuses differ:\nlocal    %v\ndynamodb %v", ls, rs)
	}
	if l, r := strings.Join(runIDs(local), ","), strings.Join(runIDs(remote), ","); l != r {
		t.Errorf("runs in period differ: local %s, dynamodb %s", l, r)
	}
	if local.Summary != remote.Summary {
		t.Errorf("summaries differ:\nlocal    %+v\ndynamodb %+v", local.Summary, remote.Summary)
	}

	// --system adds a system the suite does not list; without a suite it alone is read.
	withCache := statuses(report("--suite", suitePath, "--source", "dynamodb", "--table", table, "--system", "cache"))
	if _, ok := withCache["cache"]; !ok || len(withCache) != 4 {
		t.Errorf("--suite plus --system cache: %v", withCache)
	}
	only := report("--source", "dynamodb", "--table", table, "--system", "web")
	if s := statuses(only); len(s) != 1 || s["web"] != compliance.StatusFailing {
		t.Errorf("--system web alone: %v", s)
	}

	// Neither a suite nor a system: a usage error saying why, not a Scan.
	code, _, stderr := runProgrammeCLI(t, env, "report", "--source", "dynamodb", "--table", table, "--format", "json")
	if code != int(result.ExitUsage) || !strings.Contains(stderr, "--suite") || !strings.Contains(stderr, "--system") || !strings.Contains(stderr, "never a table Scan") {
		t.Errorf("no systems: exit %d, stderr %q", code, stderr)
	}
	// --system reads DynamoDB; the local report takes its programme from --suite.
	if code, _, stderr := runProgrammeCLI(t, env, "report", "--history", db, "--system", "web", "--format", "json"); code != int(result.ExitUsage) || !strings.Contains(stderr, "--source dynamodb") {
		t.Errorf("local --system: exit %d, stderr %q", code, stderr)
	}
}

func equalStatuses(a, b map[string]compliance.Status) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// newEnvApp is an app whose environment is env only, with its outputs.
func newEnvApp(env map[string]string) (*app, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &app{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), log: discardLogger(),
		getenv: func(k string) string { return env[k] }}, &out, &errb
}
