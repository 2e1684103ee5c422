package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drillhq/drill/compliance"
	"github.com/drillhq/drill/result"
)

func TestReportVerb(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	suitePath := writeProgramme(t, dir)
	db := filepath.Join(dir, "h.db")
	q := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 10, 0, 0, 0, time.UTC) }
	seedHistory(t, db,
		runAt("etcd-1", "etcd-loss", "orders-etcd", q(7, 14), result.VerdictPass, 2310),
		runAt("etcd-2", "etcd-loss", "orders-etcd", q(9, 20), result.VerdictPass, 1890),
		runAt("web-1", "web-outage", "web", q(7, 3), result.VerdictPass, 4200),
		runAt("web-2", "web-outage", "web", q(8, 29), result.VerdictFail, 41000),
		runAt("old", "etcd-loss", "orders-etcd", q(3, 1), result.VerdictPass, 2100),
		runAt("later", "etcd-loss", "orders-etcd", q(10, 5), result.VerdictPass, 2000),
	)

	outs := map[string]string{}
	for _, name := range []string{"r.json", "r.md", "r.html"} {
		out := filepath.Join(dir, name)
		code, stdout, stderr := runProgrammeCLI(t, nil, "report", "--suite", suitePath, "--history", db, "--period", "2026-Q3", "--out", out)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		if stdout != "" || !strings.Contains(stderr, "wrote "+out+" (2026-Q3): 3 systems, 1 compliant, 0 overdue, 1 failing, 1 never drilled, 0 unproven; 4 runs in period") {
			t.Errorf("%s: stdout %q, stderr %q", name, stdout, stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		outs[name] = string(b)
	}

	var rep compliance.Report
	if err := json.Unmarshal([]byte(outs["r.json"]), &rep); err != nil {
		t.Fatalf("json output: %v", err)
	}
	if rep.Schema != compliance.Schema || rep.Period.Label != "2026-Q3" || rep.Suite == nil || rep.Suite.Name != "prod" {
		t.Errorf("json header: %+v", rep)
	}
	status := map[string]compliance.Status{}
	for _, s := range rep.Systems {
		status[s.Name] = s.Status
	}
	if status["orders-etcd"] != compliance.StatusCompliant || status["web"] != compliance.StatusFailing || status["billing"] != compliance.StatusNeverDrilled {
		t.Errorf("statuses %v", status)
	}
	for _, e := range rep.Evidence {
		if e.RunID == "later" {
			t.Error("a run after the period is cited")
		}
	}
	if !strings.HasPrefix(outs["r.html"], "<!doctype html>") || !strings.Contains(outs["r.html"], "etcd-2") {
		t.Error("html output is not the report")
	}
	if !strings.HasPrefix(outs["r.md"], "# Disaster-recovery drill compliance report") || !strings.Contains(outs["r.md"], "| web | web-team | high | monthly |") {
		t.Errorf("markdown output:\n%s", outs["r.md"])
	}

	// --format wins over the extension; no --out writes to stdout.
	code, stdout, _ := runProgrammeCLI(t, nil, "report", "--history", db, "--since", "2026-07-01", "--until", "2026-09-30", "--format", "md")
	if code != 0 || !strings.Contains(stdout, "2026-07-01 to 2026-09-30") || !strings.Contains(stdout, "all scenarios in history") {
		t.Errorf("stdout md: exit %d\n%s", code, stdout)
	}
}

func TestReportBadInput(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "h.db")
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"--period", "2026-Q5"}, "--period: invalid period"},
		{[]string{"--period", "last quarter"}, "invalid period"},
		{[]string{"--period", "2026-Q3", "--since", "2026-07-01"}, "either --period or --since/--until"},
		{[]string{"--since", "2026-09-01", "--until", "2026-08-01"}, "empty period"},
		{[]string{"--since", "July"}, `--since: invalid date "July"`},
		{[]string{"--format", "docx"}, `--format must be html, md, json or pdf, not "docx"`},
		{[]string{"--out", filepath.Join(t.TempDir(), "no", "such", "dir", "r.html")}, "write"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runProgrammeCLI(t, nil, append([]string{"report", "--history", db}, tt.args...)...)
		wantCode := 2
		if tt.msg == "write" {
			wantCode = 3
		}
		if code != wantCode || stdout != "" || !strings.Contains(stderr, tt.msg) {
			t.Errorf("report %v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, wantCode, tt.msg)
		}
	}
}

func TestReportDefaultPeriodIsCurrentQuarter(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	p, err := reportPeriod("", "", "", now)
	if err != nil {
		t.Fatal(err)
	}
	if now.Before(p.Since) || !now.Before(p.Until) || p.Until.Sub(p.Since) < 89*24*time.Hour || !strings.Contains(p.Label, "-Q") {
		t.Errorf("default period %+v does not hold now %s", p, now)
	}
}
