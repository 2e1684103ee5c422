package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/result"
)

// injectMarkerScenario writes a scenario whose fault creates a marker file and whose revert
// leaves it: if the marker exists, something was injected at some point.
func injectMarkerScenario(t *testing.T) (scenario, marker string) {
	t.Helper()
	dir := t.TempDir()
	marker = filepath.Join(dir, "injected")
	return commandFaultScenario(t, dir, "precheck", "touch "+marker), marker
}

// commandFaultScenario writes dir/s.yaml: a scenario named name on system test whose one
// command fault runs run (and reverts with true), with a probe that always passes.
func commandFaultScenario(t *testing.T, dir, name, run string) string {
	t.Helper()
	scenario := filepath.Join(dir, "s.yaml")
	body := fmt.Sprintf(`version: 1
name: %s
system: test
objectives: { rto: 5s }
probes:
  - { name: up, type: command, interval: 50ms, with: { run: "true" } }
faults:
  - { name: mark, type: command, with: { run: "%s", revert: "true" } }
limits: { timeout: 10s, observe: 200ms }
`, name, run)
	if err := os.WriteFile(scenario, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return scenario
}

func assertNotInjected(t *testing.T, marker string) {
	t.Helper()
	if _, err := os.Stat(marker); err == nil {
		t.Error("the fault was injected although the drill could not keep its result")
	}
}

// TestRunChecksOutputPathsBeforeInjecting: a --json or --junit path in a missing directory was
// found only after the faults were injected, and the result was lost.
func TestRunChecksOutputPathsBeforeInjecting(t *testing.T) {
	t.Parallel()
	for _, flag := range []string{"--json", "--junit"} {
		t.Run(flag, func(t *testing.T) {
			t.Parallel()
			scn, marker := injectMarkerScenario(t)
			missing := filepath.Join(t.TempDir(), "no-such-dir", "out")
			code, _, stderr := runCLI(t, "run", "-q", flag, missing, scn)
			if code != result.ExitUsage {
				t.Errorf("exit %d, want 2\nstderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, flag+" "+missing) || !strings.Contains(stderr, "nothing was run") {
				t.Errorf("stderr does not name the flag and path:\n%s", stderr)
			}
			assertNotInjected(t, marker)
		})
	}
}

// TestRunRefusesCorruptHistoryBeforeInjecting: a corrupt history store made bbolt panic after
// the drill ran: no JSON, no JUnit. It is now found before anything is injected.
func TestRunRefusesCorruptHistoryBeforeInjecting(t *testing.T) {
	t.Parallel()
	scn, marker := injectMarkerScenario(t)
	hist := corruptHistory(t)
	code, _, stderr := runCLI(t, "run", "-q", "--history", hist, scn)
	if code != result.ExitError {
		t.Errorf("exit %d, want 3\nstderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, hist) || !strings.Contains(stderr, "--no-history") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("want one line naming the file and --no-history, got:\n%s", stderr)
	}
	assertNotInjected(t, marker)

	// --no-history runs the drill regardless.
	if code, _, stderr := runCLI(t, "run", "-q", "--no-history", "--history", hist, scn); code != result.ExitPass {
		t.Errorf("with --no-history: exit %d, want 0\n%s", code, stderr)
	}
}

// corruptHistory writes a real store and overwrites every page after the two meta pages, the
// damage that made bbolt panic ("page expected to be 2, but self identifies as ...").
func corruptHistory(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.db")
	st, err := history.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		r := &result.Result{RunID: fmt.Sprintf("r%02d", i), Scenario: "s", System: "sys", StartedAt: time.Unix(int64(i), 0)}
		if err := st.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 2 * os.Getpagesize(); i < len(data); i++ {
		data[i] = 0xA5
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRunKeepsTheResultWhenHistoryBreaksDuringTheDrill: a store that was sound when checked and
// is corrupt by the time the result is appended (here the fault itself overwrites it, as a
// failing disk or another program might) costs one warning line, never a panic: the result is
// still in --json and --junit, and the exit code is the drill's.
func TestRunKeepsTheResultWhenHistoryBreaksDuringTheDrill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hist := filepath.Join(dir, "history.db")
	st, err := history.Open(hist)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	scn := commandFaultScenario(t, dir, "history-breaks", "cp "+corruptHistory(t)+" "+hist)
	jsonPath, junitPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml")
	code, _, stderr := runCLI(t, "run", "-q", "--history", hist, "--json", jsonPath, "--junit", junitPath, scn)
	if code != result.ExitPass {
		t.Errorf("exit %d, want the drill's own 0\nstderr:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "panic") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 ||
		!strings.Contains(stderr, "not saved to history") || !strings.Contains(stderr, "--json") {
		t.Errorf("want one warning line that the result is not in history but in --json, got:\n%s", stderr)
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var res result.Result
	if err := json.Unmarshal(data, &res); err != nil || res.Scenario != "history-breaks" || res.Verdict != result.VerdictPass {
		t.Errorf("--json: %v, scenario %q verdict %q", err, res.Scenario, res.Verdict)
	}
	if x, err := os.ReadFile(junitPath); err != nil || !strings.Contains(string(x), "history-breaks") {
		t.Errorf("--junit: %v\n%s", err, x)
	}
}
