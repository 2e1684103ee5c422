package main

import (
	"strings"
	"testing"
)

func TestListShowsEachDefaultOnce(t *testing.T) {
	t.Parallel()
	code, out, stderr := runCLI(t, "list")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Count(line, "(default") > 1 {
			t.Errorf("default shown twice: %s", line)
		}
	}
	if !strings.Contains(out, "SSM document (default AWS-RunShellScript)") {
		t.Error("the send-command document default is no longer shown")
	}
}

func TestValidateCountsReadAsEnglish(t *testing.T) {
	t.Parallel()
	code, out, stderr := runCLI(t, "validate", "../../scenarios/library/etcd/follower-loss.yaml")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if want := "3 probes, 1 fault, 1 recovery step;"; !strings.Contains(out, want) {
		t.Errorf("validate says %q, want %q", out, want)
	}
}
