package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestListShowsEachDefaultOnce(t *testing.T) {
	t.Parallel()
	code, out, stderr := runCLI(t, "list")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// A field's meaning may wrap onto indented lines of its own; judge each field whole.
	fields := strings.ReplaceAll(out, "\n"+strings.Repeat(" ", 42), " ")
	for _, line := range strings.Split(fields, "\n") {
		if strings.Count(line, "(default") > 1 {
			t.Errorf("default shown twice: %s", line)
		}
	}
	if !strings.Contains(fields, "SSM document (default AWS-RunShellScript)") {
		t.Error("the send-command document default is no longer shown")
	}
}

// TestListFits120Columns: drill list wraps long meanings under their column instead of running
// past a 120-column terminal, and loses no word doing so.
func TestListFits120Columns(t *testing.T) {
	t.Parallel()
	code, out, stderr := runCLI(t, "list")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n > 120 {
			t.Errorf("line of %d columns: %s", n, line)
		}
	}
	// The longest meaning there is (the command fault's revert), whole once unwrapped.
	if !strings.Contains(strings.Join(strings.Fields(out), " "), "shell command that undoes it during rollback (and in 'drill recover' after a killed drill, so make it idempotent); empty: nothing to undo") {
		t.Error("the command fault's revert field lost words in wrapping")
	}
}

// TestInvalidFilesCountReadsAsEnglish: "1 of 1 scenario file invalid", never "file(s)".
func TestInvalidFilesCountReadsAsEnglish(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		files []string
		want  string
	}{
		{[]string{bad}, "1 of 1 scenario file invalid; nothing was run"},
		{[]string{bad, "../../scenarios/library/etcd/follower-loss.yaml"}, "1 of 2 scenario files invalid; nothing was run"},
	} {
		code, _, stderr := runCLI(t, append([]string{"validate"}, tt.files...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("validate %v: exit %d, stderr %q; want 2 and %q", tt.files, code, stderr, tt.want)
		}
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
