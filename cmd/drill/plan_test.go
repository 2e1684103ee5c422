package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/scenarios"
)

// TestPrintPlanFaultLines: each fault's plan line says what it acts on; one that resolved no
// targets (a command) says what its type does rather than "targets: none" or "chosen at run
// time", which it never does.
func TestPrintPlanFaultLines(t *testing.T) {
	t.Parallel()
	reg := newRegistry(&app{getenv: os.Getenv}, registryOptions{})
	for _, tt := range []struct {
		name  string
		after time.Duration
		fault result.Fault
		want  string
	}{
		{"command", 0, result.Fault{Targets: []string{}},
			"       f (command): Run a shell command to inject a fault, and another to revert it"},
		{"command later", 5 * time.Second, result.Fault{Targets: []string{}},
			"       f (command) after 5s: Run a shell command to inject a fault, and another to revert it"},
		{"resolved", 0, result.Fault{Targets: []string{"m1", "m2"}},
			"       f (command) targets: m1, m2"},
		{"resolved later", 5 * time.Second, result.Fault{Targets: []string{"m1"}},
			"       f (command) after 5s, targets: m1"},
		{"failed", 0, result.Fault{Targets: []string{}, Error: "resolve targets: no instance matched"},
			"       f (command) targets: ERROR: resolve targets: no instance matched"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &scenarios.Scenario{Name: "p", File: "p.yaml", System: "s",
				Faults: []scenarios.StepSpec{{Name: "f", Type: "command", After: tt.after}}}
			res := &result.Result{Verdict: result.VerdictPass, Faults: []result.Fault{tt.fault}}
			var buf bytes.Buffer
			printPlan(&buf, reg, s, res)
			var got string
			for _, line := range strings.Split(buf.String(), "\n") {
				if strings.HasPrefix(line, "       f (") {
					got = line
				}
			}
			if got != tt.want {
				t.Errorf("fault line %q, want %q\nplan:\n%s", got, tt.want, buf.String())
			}
			if strings.Contains(buf.String(), "chosen at run time") || strings.Contains(buf.String(), "targets: none") {
				t.Errorf("plan misreads:\n%s", buf.String())
			}
		})
	}
}
