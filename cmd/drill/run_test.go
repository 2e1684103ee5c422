package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drillhq/drill/result"
)

// fileOutageScenario writes a scenario whose "service" is down while a flag file exists; the
// fault creates it and removes it after `outage`.
func fileOutageScenario(t *testing.T, name, rto, outage string) string {
	t.Helper()
	dir := t.TempDir()
	flag := filepath.Join(dir, "down")
	path := filepath.Join(dir, name+".yaml")
	body := fmt.Sprintf(`version: 1
name: %s
system: files
objectives: { rto: %s }
probes:
  - { name: up, type: command, interval: 50ms, timeout: 1s, with: { run: "test ! -e %s" } }
steadyState: [up]
faults:
  - name: flag
    type: command
    with: { run: "touch %s; (sleep %s; rm -f %s) >/dev/null 2>&1 &", revert: "rm -f %s" }
limits: { timeout: 20s, observe: 300ms }
`, name, rto, flag, flag, outage, flag, flag)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunWorstExitWinsAndReportsWritten(t *testing.T) {
	t.Parallel()
	pass := fileOutageScenario(t, "quick", "5s", "0.3")
	fail := fileOutageScenario(t, "slow", "200ms", "0.6")
	out := t.TempDir()
	jsonPath, junitPath := filepath.Join(out, "r.json"), filepath.Join(out, "j.xml")
	code, stdout, stderr := runCLI(t, "run", "-q", "--json", jsonPath, "--junit", junitPath, pass, fail)
	if code != result.ExitFail {
		t.Fatalf("exit %d, want 1 (one pass, one fail)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var rs []result.Result
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rs); err != nil {
		t.Fatalf("--json with two scenarios is not an array: %v", err)
	}
	if len(rs) != 2 || rs[0].Verdict != result.VerdictPass || rs[1].Verdict != result.VerdictFail {
		t.Fatalf("verdicts %+v", rs)
	}
	for _, r := range rs {
		m := r.Objectives.RTO.MeasuredMs
		if m == nil || *m < 250 || r.Schema != result.Schema || r.T0 == "" {
			t.Errorf("%s: measured %v schema %q t0 %q", r.Scenario, m, r.Schema, r.T0)
		}
	}
	var suites struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Failures int    `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	raw, err := os.ReadFile(junitPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(raw, &suites); err != nil {
		t.Fatalf("junit: %v", err)
	}
	if len(suites.Suites) != 2 || suites.Suites[0].Failures != 0 || suites.Suites[1].Failures == 0 {
		t.Errorf("junit suites %+v, want 2 with the second failing", suites.Suites)
	}
	if !strings.Contains(stdout, "PASS") || !strings.Contains(stdout, "FAIL") {
		t.Errorf("summary lacks verdicts:\n%s", stdout)
	}
}

func TestRunSteadyStateFailureExitsThree(t *testing.T) {
	t.Parallel()
	scn := fileOutageScenario(t, "unsteady", "5s", "0.1")
	// The service is already down before the drill: steady state fails, nothing is injected.
	if err := os.WriteFile(filepath.Join(filepath.Dir(scn), "down"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "run", "-q", scn)
	if code != result.ExitError || !strings.Contains(stdout, "not in steady state") {
		t.Fatalf("exit %d, want 3 with 'not in steady state'\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestRunAppendsToHistory(t *testing.T) {
	t.Parallel()
	scn := fileOutageScenario(t, "recorded", "5s", "0.1")
	hist := filepath.Join(t.TempDir(), "h.db")
	code, _, stderr := runCLI(t, "run", "-q", "--history", hist, scn)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "history", "--history", hist, "--json")
	if code != 0 {
		t.Fatalf("history exit %d: %s", code, stderr)
	}
	var runs []result.Result
	if err := json.Unmarshal([]byte(stdout), &runs); err != nil {
		t.Fatalf("history --json: %v\n%s", err, stdout)
	}
	if len(runs) != 1 || runs[0].Scenario != "recorded" || runs[0].Verdict != result.VerdictPass {
		t.Fatalf("history holds %+v", runs)
	}
}

func TestRunSamplesFlag(t *testing.T) {
	t.Parallel()
	sc := fileOutageScenario(t, "quick", "5s", "0.3")
	out := t.TempDir()
	jsonPath, samplesPath := filepath.Join(out, "r.json"), filepath.Join(out, "samples.jsonl")
	// A file that existed with a wider mode must end up private.
	if err := os.WriteFile(samplesPath, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "run", "-q", "--json", jsonPath, "--samples", samplesPath, sc)
	if code != result.ExitPass {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	fi, err := os.Stat(samplesPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("--samples mode %v, want 0600", fi.Mode().Perm())
	}
	var res result.Result
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	lines, err := os.ReadFile(samplesPath)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(lines)), "\n") {
		var rec struct {
			Run     string   `json:"run"`
			Probe   string   `json:"probe"`
			StartMs *float64 `json:"startMs"`
			OK      *bool    `json:"ok"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.StartMs == nil || rec.OK == nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if rec.Run != res.RunID || rec.Probe != "up" {
			t.Errorf("line %q: want run %s probe up", line, res.RunID)
		}
		n++
	}
	if n != res.Probes[0].Samples {
		t.Errorf("%d sample lines, result counts %d samples", n, res.Probes[0].Samples)
	}
}

func TestRunSamplesUnwritableRunsNothing(t *testing.T) {
	t.Parallel()
	sc := fileOutageScenario(t, "quick", "5s", "0.3")
	code, _, stderr := runCLI(t, "run", "-q", "--no-history", "--samples", filepath.Join(t.TempDir(), "missing", "s.jsonl"), sc)
	if code != result.ExitUsage || !strings.Contains(stderr, "nothing was run") {
		t.Errorf("exit %d, stderr %q; want usage error, nothing run", code, stderr)
	}
}

func TestRunRecordsWhoAndWhere(t *testing.T) {
	t.Parallel()
	scn := fileOutageScenario(t, "witnessed", "5s", "0.1")
	out := filepath.Join(t.TempDir(), "r.json")
	tests := []struct {
		name string
		args []string
		want func(r result.Result) string // "" when right
	}{
		{"flags", []string{"--operator", "alice", "--environment", "staging", "--ticket", "CHG-1042", "--participant", "bob", "--participant", "carol"},
			func(r result.Result) string {
				if r.Operator != "alice" || r.Environment != "staging" || r.Ticket != "CHG-1042" || strings.Join(r.Participants, ",") != "bob,carol" {
					return fmt.Sprintf("%+v", r.Provenance)
				}
				return ""
			}},
		{"defaults", nil, func(r result.Result) string {
			if r.Operator == "" || r.Host == "" || r.Environment != "" || r.Participants != nil {
				return fmt.Sprintf("want the OS user and host, nothing else: %+v", r.Provenance)
			}
			return ""
		}},
	}
	for _, tt := range tests {
		args := append([]string{"run", "-q", "--no-history", "--json", out}, tt.args...)
		code, _, stderr := runCLI(t, append(args, scn)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tt.name, code, stderr)
		}
		var r result.Result
		data, _ := os.ReadFile(out)
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		if msg := tt.want(r); msg != "" {
			t.Errorf("%s: %s", tt.name, msg)
		}
	}
}

func TestRunDryRunIsNoVerdictAndNoEvidence(t *testing.T) {
	t.Parallel()
	scn := fileOutageScenario(t, "planned", "5s", "0.1")
	dir := t.TempDir()
	hist, out := filepath.Join(dir, "h.db"), filepath.Join(dir, "r.json")
	code, stdout, stderr := runCLI(t, "run", "--dry-run", "--history", hist, "--json", out, scn)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, s := range []string{stdout, stderr} {
		if strings.Contains(strings.ToLower(s), "verdict pass") {
			t.Errorf("dry run output says verdict pass:\n%s", s)
		}
	}
	var r result.Result
	data, _ := os.ReadFile(out)
	if err := json.Unmarshal(data, &r); err != nil || !r.DryRun {
		t.Errorf("--json: dryRun %v (%v)", r.DryRun, err)
	}
	_, js, _ := runCLI(t, "history", "--history", hist, "--json")
	if strings.TrimSpace(js) != "[]" {
		t.Errorf("dry run entered history: %s", js)
	}
}
