package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/result"
)

// writeProgramme writes a suite of three scenarios into dir and returns the suite path:
//
//	orders-etcd / etcd-loss    quarterly, critical
//	web / web-outage           monthly (the suite overrides the scenario's quarterly), high
//	billing / billing-restore  annual, medium
func writeProgramme(t *testing.T, dir string) string {
	t.Helper()
	files := map[string]string{
		"drills/etcd-loss.yaml":       "version: 1\nname: etcd-loss\nsystem: orders-etcd\nowner: platform\ncadence: quarterly\nobjectives: { rto: 10s, rpo: 0s }\n",
		"drills/web-outage.yaml":      "version: 1\nname: web-outage\nsystem: web\nowner: web-team\ncadence: quarterly\nobjectives: { rto: 30s }\n",
		"drills/billing-restore.yaml": "version: 1\nname: billing-restore\nsystem: billing\ncadence: annual\nobjectives: { rto: 4h, rpo: 24h }\n",
		"suite.yaml": `version: 1
name: prod
scenarios:
  - path: drills/etcd-loss.yaml
    criticality: critical
  - path: drills/web-outage.yaml
    cadence: monthly
    criticality: high
  - path: drills/billing-*.yaml
    criticality: medium
`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "suite.yaml")
}

func TestDueVerb(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	suitePath := writeProgramme(t, dir)
	db := filepath.Join(dir, "h.db")
	now := time.Now().UTC()
	seedHistory(t, db,
		// The only passing run of etcd-loss is four months old: past its quarterly cadence.
		runAt("etcd-old", "etcd-loss", "orders-etcd", now.AddDate(0, -4, 0), result.VerdictPass, 2000),
		runAt("etcd-fail", "etcd-loss", "orders-etcd", now.AddDate(0, 0, -10), result.VerdictFail, 20000),
		// web-outage passed 20 days ago; monthly from the suite: due in about 10 days.
		runAt("web-ok", "web-outage", "web", now.AddDate(0, 0, -20), result.VerdictPass, 3000),
	)

	code, out, stderr := runProgrammeCLI(t, nil, "due", "--suite", suitePath, "--history", db)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := tableRows(out)
	if len(lines) != 3 {
		t.Fatalf("want 3 drills, got:\n%s", out)
	}
	for i, want := range [][]string{
		{"overdue", "etcd-loss", "orders-etcd", "critical", "quarterly", "overdue by"},
		{"never-run", "billing-restore", "billing", "medium", "annual", "never run"},
		{"due-soon", "web-outage", "web", "high", "monthly", "due in"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("row %d %q lacks %q", i, lines[i], w)
			}
		}
	}

	code, js, _ := runProgrammeCLI(t, nil, "due", "--suite", suitePath, "--history", db, "--json")
	var got struct {
		Drills []struct {
			Scenario  string
			Status    string
			NeedsRun  bool
			LastPass  *struct{ RunID string }
			OverdueMs int64
		}
	}
	if code != 0 || json.Unmarshal([]byte(js), &got) != nil {
		t.Fatalf("--json: exit %d, %q", code, js)
	}
	type row struct {
		Scenario, Status string
		NeedsRun         bool
		LastPass         string
	}
	var rows []row
	for _, d := range got.Drills {
		r := row{d.Scenario, d.Status, d.NeedsRun, ""}
		if d.LastPass != nil {
			r.LastPass = d.LastPass.RunID
		}
		rows = append(rows, r)
		if d.Scenario == "etcd-loss" && (d.OverdueMs < 20*24*3600*1000 || d.OverdueMs > 40*24*3600*1000) {
			t.Errorf("etcd-loss overdue by %d ms; want about one month", d.OverdueMs)
		}
	}
	want := []row{{"etcd-loss", "overdue", true, "etcd-old"}, {"billing-restore", "never-run", true, ""}, {"web-outage", "due-soon", false, "web-ok"}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("--json (-want +got):\n%s", diff)
	}

	if code, _, _ := runProgrammeCLI(t, nil, "due", "--suite", suitePath, "--history", db, "--exit-code"); code != 1 {
		t.Errorf("--exit-code with overdue drills: exit %d, want 1", code)
	}
}

func TestDueFromHistoryOnly(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "h.db")
	now := time.Now().UTC()
	seedHistory(t, db, runAt("w", "web-outage", "web", now.AddDate(0, 0, -2), result.VerdictPass, 3000))
	code, out, stderr := runProgrammeCLI(t, nil, "due", "--history", db, "--exit-code")
	if code != 0 || !strings.Contains(out, "compliant") && !strings.Contains(out, "due-soon") {
		t.Errorf("exit %d, out:\n%s\nerr: %s", code, out, stderr)
	}
	code, out, stderr = runProgrammeCLI(t, nil, "due", "--history", filepath.Join(t.TempDir(), "none.db"))
	if code != 0 || out != "" || !strings.Contains(stderr, "no drills known") {
		t.Errorf("empty history: exit %d, out %q, err %q", code, out, stderr)
	}
}

func TestDueBadSuite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nscenarios:\n  - path: missing.yaml\n    criticality: tier-1\n"), 0o644)
	for _, verb := range []string{"due", "report"} {
		code, out, stderr := runProgrammeCLI(t, nil, verb, "--suite", bad, "--history", filepath.Join(dir, "h.db"))
		if code != 2 || out != "" {
			t.Errorf("%s: exit %d, out %q", verb, code, out)
		}
		for _, want := range []string{bad + ":3:11: scenario file", bad + `:4:18: unknown criticality "tier-1"`, "is invalid; nothing was done"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s stderr lacks %q:\n%s", verb, want, stderr)
			}
		}
	}
	if code, _, stderr := runProgrammeCLI(t, nil, "due", "--suite", filepath.Join(dir, "absent.yaml")); code != 2 || !strings.Contains(stderr, "read suite") {
		t.Errorf("missing suite: exit %d, %q", code, stderr)
	}
}

// tableRows returns the data rows of an ASCII table.
// tableRows returns a table's body rows, each as one line: the lines of a row whose cells
// wrapped (continuation lines have an empty first cell) are joined cell by cell.
func tableRows(out string) []string {
	var rows [][]string
	for i, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") || i <= 1 {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		if n := len(rows); n > 0 && cells[0] == "" && len(cells) == len(rows[n-1]) {
			for j, c := range cells {
				if c != "" {
					rows[n-1][j] = strings.TrimSpace(rows[n-1][j] + " " + c)
				}
			}
			continue
		}
		rows = append(rows, cells)
	}
	lines := make([]string, len(rows))
	for i, cells := range rows {
		lines[i] = "| " + strings.Join(cells, " | ") + " |"
	}
	return lines
}
