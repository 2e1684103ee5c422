package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/result"
)

// runProgrammeCLI runs the CLI in-process with its own environment (so history locations come
// from env, never the developer's real store).
func runProgrammeCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), log: discardLogger(),
		getenv: func(k string) string { return env[k] }}
	code := execute(context.Background(), a, args)
	if strings.Contains(errb.String(), "goroutine ") || strings.Contains(errb.String(), "panic") {
		t.Fatalf("stack trace on stderr:\n%s", errb.String())
	}
	return code, out.String(), errb.String()
}

func runAt(id, scenario, system string, at time.Time, verdict result.Verdict, rtoMs int64) *result.Result {
	r := &result.Result{
		Schema: result.Schema, RunID: id, Scenario: scenario, System: system, Cadence: "monthly",
		ScenarioFile: scenario + ".yaml", ToolVersion: "test", StartedAt: at, FinishedAt: at.Add(time.Minute),
		T0: at.Add(5 * time.Second).Format(result.T0Layout), Verdict: verdict,
		Objectives: result.Objectives{
			RTO: result.RTO{TargetMs: 10000, MeasuredMs: result.Int64(rtoMs), Met: rtoMs <= 10000, ResolutionMs: 50},
			RPO: result.RPO{TargetMs: result.Int64(0), MeasuredMs: result.Int64(0), Met: true, Source: result.RPOSourceDataProbe},
		},
	}
	if verdict == result.VerdictFail {
		r.Objectives.RPO.LostWrites = 3
	}
	return r
}

func seedHistory(t *testing.T, path string, runs ...*result.Result) {
	t.Helper()
	s, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, r := range runs {
		if err := s.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHistoryVerb(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "h.db")
	base := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	seedHistory(t, db,
		runAt("r1", "etcd-loss", "orders", base, result.VerdictPass, 2310),
		runAt("r2", "web-outage", "web", base.Add(48*time.Hour), result.VerdictFail, 14200),
		runAt("r3", "etcd-loss", "orders", base.Add(96*time.Hour), result.VerdictPass, 1890),
	)
	tests := []struct {
		name    string
		args    []string
		wantIDs []string // in output order
	}{
		{"all, newest first", nil, []string{"r3", "r2", "r1"}},
		{"by system", []string{"--system", "orders"}, []string{"r3", "r1"}},
		{"by scenario", []string{"--scenario", "web-outage"}, []string{"r2"}},
		{"since a date", []string{"--since", "2026-07-03"}, []string{"r3", "r2"}},
		{"until a date includes the day", []string{"--until", "2026-07-03"}, []string{"r2", "r1"}},
		{"limit", []string{"--limit", "1"}, []string{"r3"}},
		{"one run", []string{"--run", "r2"}, []string{"r2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, stderr := runProgrammeCLI(t, nil, append([]string{"history", "--history", db}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got []string
			for _, line := range strings.Split(out, "\n") {
				for _, id := range []string{"r1", "r2", "r3"} {
					if strings.Contains(line, " "+id+" ") {
						got = append(got, id)
					}
				}
			}
			if diff := cmp.Diff(tt.wantIDs, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s\n%s", diff, out)
			}

			code, js, _ := runProgrammeCLI(t, nil, append([]string{"history", "--history", db, "--json"}, tt.args...)...)
			var docs []result.Result
			if code != 0 || json.Unmarshal([]byte(js), &docs) != nil {
				t.Fatalf("--json: exit %d, output %q", code, js)
			}
			var jsIDs []string
			for _, d := range docs {
				jsIDs = append(jsIDs, d.RunID)
			}
			if diff := cmp.Diff(tt.wantIDs, jsIDs); diff != "" {
				t.Errorf("--json ids (-want +got):\n%s", diff)
			}
		})
	}

	_, out, _ := runProgrammeCLI(t, nil, "history", "--history", db)
	for _, want := range []string{"2026-07-05 09:00", "1.89 s / 10 s", "14.2 s / 10 s", "0 s / 0 s", "fail", "LOST"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestHistoryTableFits120Columns: long names wrap inside their column instead of widening the
// table past a 120-column terminal; the run id (what signoff takes) stays whole; a run without a
// data probe shows no lost-write count rather than a reassuring 0.
func TestHistoryTableFits120Columns(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "h.db")
	at := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	long := runAt("20260701T090000Z-0a0b0c0d", "aws-warm-standby-region-failover-drill", "payments-platform-eu", at, result.VerdictFail, 14200)
	noData := runAt("20260702T090000Z-1a1b1c1d", "web-outage", "web", at.Add(24*time.Hour), result.VerdictPass, 1500)
	noData.Objectives.RPO = result.RPO{}
	seedHistory(t, db, long, noData)
	code, out, stderr := runProgrammeCLI(t, nil, "history", "--history", db)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n > 120 {
			t.Errorf("line of %d columns: %s", n, line)
		}
	}
	for _, want := range []string{"aws-", "warm-", "standby-", "region-", "failover-", "drill", "payments-", "platform-eu", long.RunID, noData.RunID} {
		if !strings.Contains(out, want) {
			t.Errorf("table lost %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 10 {
			continue
		}
		switch strings.TrimSpace(cells[8]) {
		case noData.RunID:
			if lost := strings.TrimSpace(cells[7]); lost != "-" {
				t.Errorf("run without a data probe shows %q lost writes", lost)
			}
		case long.RunID:
			if lost := strings.TrimSpace(cells[7]); lost != "3" {
				t.Errorf("run with a data probe shows %q lost writes, want 3", lost)
			}
		}
	}
}

func TestHistoryLocation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	seedHistory(t, filepath.Join(dir, "state", "drill", "history.db"), runAt("xdg", "s", "y", time.Now(), result.VerdictPass, 1))
	seedHistory(t, filepath.Join(dir, "explicit.db"), runAt("env", "s", "y", time.Now(), result.VerdictPass, 1))
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"XDG_STATE_HOME", map[string]string{"XDG_STATE_HOME": filepath.Join(dir, "state"), "HOME": "/nonexistent"}, "xdg"},
		{"DRILL_HISTORY wins", map[string]string{"DRILL_HISTORY": filepath.Join(dir, "explicit.db"), "XDG_STATE_HOME": filepath.Join(dir, "state")}, "env"},
	}
	for _, tt := range tests {
		code, out, stderr := runProgrammeCLI(t, tt.env, "history", "--json")
		if code != 0 || !strings.Contains(out, `"runId": "`+tt.want+`"`) {
			t.Errorf("%s: exit %d, out %s, err %s", tt.name, code, out, stderr)
		}
	}
}

func TestHistoryEmptyAndBadInput(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "never-created.db")
	code, out, stderr := runProgrammeCLI(t, nil, "history", "--history", missing)
	if code != 0 || out != "" || !strings.Contains(stderr, "no runs recorded") {
		t.Errorf("empty store: exit %d, out %q, err %q", code, out, stderr)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("reading history created the store file")
	}
	if code, out, _ := runProgrammeCLI(t, nil, "history", "--history", missing, "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("empty store --json: exit %d, out %q", code, out)
	}

	notDB := filepath.Join(t.TempDir(), "text.db")
	os.WriteFile(notDB, []byte("just some text, not a history store at all......."), 0o600)
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--since", "last tuesday"}, 2, `--since: invalid date "last tuesday"`},
		{[]string{"--until", "2026-02-30"}, 2, "--until: invalid date"},
		{[]string{"--since", "2026-09-01", "--until", "2026-08-01"}, 2, "is not before"},
		{[]string{"--limit", "-1"}, 2, "--limit must not be negative"},
		{[]string{"--limit", "many"}, 2, "invalid argument"},
		{[]string{"--run", "nope"}, 2, `no run "nope"`},
		{[]string{"extra-arg"}, 2, "unknown command"},
	}
	for _, tt := range tests {
		code, _, stderr := runProgrammeCLI(t, nil, append([]string{"history", "--history", missing}, tt.args...)...)
		if code != tt.code || !strings.Contains(stderr, tt.msg) {
			t.Errorf("history %v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.msg)
		}
	}
	if code, _, stderr := runProgrammeCLI(t, nil, "history", "--history", notDB); code != 3 || !strings.Contains(stderr, "not a drill history file") {
		t.Errorf("foreign file: exit %d, %q", code, stderr)
	}
}

func TestProgrammeVerbsHaveExamples(t *testing.T) {
	t.Parallel()
	a := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: os.Getenv}
	for _, c := range []*cobra.Command{newHistoryCmd(a), newDueCmd(a), newReportCmd(a), newSignOffCmd(a), newFindingsCmd(a)} {
		if !strings.Contains(c.Example, "drill "+c.Name()) {
			t.Errorf("%s --help has no example", c.Name())
		}
	}
}

// TestHistoryTableFromRows: the table of a whole history, read from the row index, is the
// table read from the documents (--limit reads the documents), for every kind of run.
func TestHistoryTableFromRows(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "h.db")
	base := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	never := runAt("never", "etcd-loss", "orders", base.Add(time.Hour), result.VerdictFail, 0)
	never.Objectives.RTO.MeasuredMs, never.Objectives.RPO.TargetMs, never.Objectives.RPO.MeasuredMs = nil, nil, nil
	quiet := runAt("quiet", "web-outage", "web", base.Add(2*time.Hour), result.VerdictPass, 0)
	quiet.Probes = []result.Probe{{Name: "home", NoDisruption: true}}
	killed := runAt("killed", "web-outage", "web", base.Add(3*time.Hour), result.VerdictAborted, 0)
	killed.Abort, killed.Objectives.RTO.MeasuredMs = result.AbortKilled, nil
	early := runAt("early", "etcd-loss", "orders", base.Add(4*time.Hour), result.VerdictError, 0)
	early.Objectives.RTO = result.RTO{}
	seedHistory(t, db,
		runAt("r1", "etcd-loss", "orders", base, result.VerdictPass, 2310),
		runAt("r2", "web-outage", "web", base.Add(90*time.Minute), result.VerdictFail, 14200),
		never, quiet, killed, early,
	)
	for _, args := range [][]string{nil, {"--system", "web"}, {"--since", "2026-07-01T10:00:00Z"}} {
		_, rows, _ := runProgrammeCLI(t, nil, append([]string{"history", "--history", db}, args...)...)
		_, docs, _ := runProgrammeCLI(t, nil, append([]string{"history", "--history", db, "--limit", "100"}, args...)...)
		if rows == "" || rows != docs {
			t.Errorf("%v: table from rows differs from the table from documents:\n%s\n%s", args, rows, docs)
		}
		if args == nil {
			for _, want := range []string{"interrupted", "(UNPROVEN)", "not recovered", "not recorded"} {
				if !strings.Contains(rows, want) {
					t.Errorf("table lacks %q:\n%s", want, rows)
				}
			}
		}
	}
}
