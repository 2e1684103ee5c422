package suite

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The shipped example suite must load against the shipped scenario library: a renamed
// scenario file breaks the examples users copy.
func TestExampleSuiteLoads(t *testing.T) {
	t.Parallel()
	s, err := Load("../examples/suites/lab.yaml")
	if err != nil {
		t.Fatalf("examples/suites/lab.yaml: %v", err)
	}
	if len(s.Entries) < 6 {
		t.Errorf("example suite has %d drills; want every library scenario", len(s.Entries))
	}
	for _, e := range s.Entries {
		if e.Cadence == "" || e.Criticality == "" || e.System == "" {
			t.Errorf("%s: cadence %q, criticality %q, system %q: every example drill should be scheduled and classified", e.Name, e.Cadence, e.Criticality, e.System)
		}
	}
}

// Every scheduler example must call exactly the due-only run the issue promises.
func TestSchedulerExamplesRunDueOnly(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../examples/*/*")
	if err != nil {
		t.Fatal(err)
	}
	call := regexp.MustCompile(`drill run (--suite[ =]\S+|.*"\$SUITE")`)
	seen := 0
	for _, f := range files {
		if strings.Contains(f, "/suites/") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if strings.Contains(f, "kubernetes") {
			// Container args, one per line.
			if !strings.Contains(text, "- run\n") || !strings.Contains(text, "--suite=") || !strings.Contains(text, "- --due-only") {
				t.Errorf("%s does not run drill run --suite ... --due-only", f)
			}
			seen++
			continue
		}
		if !call.MatchString(text) || !strings.Contains(text, "--due-only") {
			t.Errorf("%s does not run drill run --suite ... --due-only", f)
		}
		seen++
	}
	if seen != 3 {
		t.Errorf("found %d scheduler examples; want cron, Kubernetes and GitHub Actions", seen)
	}
}
