package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drillhq/drill/journal"
	"github.com/drillhq/drill/result"
)

// runCLIState runs the CLI in-process with the history store (and so the journal) in state.
func runCLIState(t *testing.T, state string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "DRILL_HISTORY" {
			return filepath.Join(state, "history.db")
		}
		return os.Getenv(k)
	}
	a := &app{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), log: discardLogger(), getenv: getenv}
	code := execute(context.Background(), a, args)
	return code, out.String(), errb.String()
}

// killedRun writes the journal a drill killed after injecting would leave.
func killedRun(t *testing.T, state, runID, typ string, record any) string {
	t.Helper()
	w, err := journal.Create(journal.Dir(state), journal.RunInfo{RunID: runID, Scenario: "sc", ScenarioFile: "sc.yaml", System: "sys"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := w.Injecting(ctx, "f", typ, nil, nil); err != nil {
		t.Fatal(err)
	}
	var raw json.RawMessage
	if record != nil {
		raw, _ = json.Marshal(record)
	}
	if err := w.Injecting(ctx, "f", typ, []string{"i-123"}, raw); err != nil {
		t.Fatal(err)
	}
	w.Close() // SIGKILL: no Finish
	return w.Path()
}

func TestRecoverWithNothingInTheJournal(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	for _, args := range [][]string{{"recover"}, {"recover", "--list"}} {
		code, stdout, stderr := runCLIState(t, state, args...)
		if code != 0 || !strings.Contains(stdout, "nothing to recover") {
			t.Errorf("%v: exit %d, want 0 saying nothing to recover\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
		}
	}
}

func TestRecoverNamesWhatItCannotRevertThenForgets(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	path := killedRun(t, state, "run-x", "no-such-type", map[string]string{"id": "i-123"})
	code, stdout, stderr := runCLIState(t, state, "recover")
	if code != result.ExitError {
		t.Fatalf("exit %d, want 3\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, want := range []string{"run run-x fault f", "cannot revert automatically", "not registered", "i-123", "sc.yaml", "drill recover --forget run-x"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("journal of an unreverted fault removed: %v", err)
	}
	code, stdout, stderr = runCLIState(t, state, "recover", "--forget", "run-x")
	if code != 0 || !strings.Contains(stdout, "marked reverted by hand") {
		t.Fatalf("--forget: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("journal still there after --forget: %v", err)
	}
	// The killed run stays in history as interrupted.
	code, stdout, _ = runCLIState(t, state, "history")
	if code != 0 || !strings.Contains(stdout, "run-x") || !strings.Contains(stdout, "interrupted") {
		t.Errorf("history after recover: exit %d\n%s", code, stdout)
	}
}

func TestRecoverSkipsATornLineAndReverts(t *testing.T) {
	t.Parallel()
	state, work := t.TempDir(), t.TempDir()
	marker := filepath.Join(work, "marker")
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := killedRun(t, state, "run-t", "command", map[string]any{"revert": "rm -f marker", "dir": work, "timeoutMs": 5000})
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"op":"inject","fault":"g","ty`)
	f.Close()

	code, stdout, stderr := runCLIState(t, state, "recover")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "torn") {
		t.Errorf("no note about the torn line:\n%s", stderr)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("marker still there: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("journal still there: %v", err)
	}
}

// A drill refused because another holds the system's lock runs nothing and names the holder.
func TestRunRefusedWhileTheSystemIsLocked(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	scen := fileOutageScenario(t, "locked", "5s", "0.1")
	l, err := journal.LockSystem(state, "files", journal.Holder{RunID: "run-holder", Scenario: "other"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	code, _, stderr := runCLIState(t, state, "run", "-q", scen)
	if code != result.ExitError || !strings.Contains(stderr, "run-holder") || !strings.Contains(stderr, "nothing was run") {
		t.Errorf("exit %d, want 3 naming run-holder\n%s", code, stderr)
	}
	l.Release()
	code, _, stderr = runCLIState(t, state, "run", "-q", scen)
	if code != 0 {
		t.Errorf("after release: exit %d\n%s", code, stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(journal.Dir(state), "*")); len(left) != 0 {
		t.Errorf("a clean run left its journal: %v", left)
	}
}

// recover --list says what recover would do with each leftover, and recover closes a fault of a
// type with no revert (a reboot killed mid-call) as nothing to undo instead of asking for a
// revert by hand.
func TestRecoverListSaysHowAndClosesTypesWithoutRevert(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ        string
		record     any
		wantList   string
		wantCode   int
		wantStdout string
	}{
		{"aws:ec2:reboot-instances", nil, "none needed (type has no revert)", 0, "nothing to undo: type aws:ec2:reboot-instances has no revert"},
		{"aws:ssm:send-command", nil, "none needed (killed before the change)", 0, "nothing to revert: the drill died before the fault changed anything"},
		{"no-such-type", map[string]string{"id": "i-123"}, "by hand (type not in this build)", result.ExitError, ""},
		// Recover is tried and fails on the closed port, so the fault stays journaled.
		{"aws:ssm:send-command", map[string]any{"region": "us-east-1", "endpoint": "http://127.0.0.1:1", "emulator": true, "instances": []string{"i-123"},
			"document": "AWS-RunShellScript", "revertCommands": []string{"true"}}, "automatic", result.ExitError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.wantList, func(t *testing.T) {
			t.Parallel()
			state := t.TempDir()
			killedRun(t, state, "run-l", tt.typ, tt.record)
			code, stdout, stderr := runCLIState(t, state, "recover", "--list")
			if code != 0 || !strings.Contains(stdout, "REVERT") || !strings.Contains(stdout, tt.wantList) {
				t.Errorf("recover --list: exit %d, want a REVERT column saying %q\nstdout: %s\nstderr: %s", code, tt.wantList, stdout, stderr)
			}
			code, stdout, stderr = runCLIState(t, state, "recover", "--timeout", "5s")
			if code != tt.wantCode || !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("recover: exit %d, want %d saying %q\nstdout: %s\nstderr: %s", code, tt.wantCode, tt.wantStdout, stdout, stderr)
			}
		})
	}
}

// TestRevertTextOfResources: a lab is looked up among resources, never among faults, so a
// registered lab type reads "automatic" and an unknown one "by hand".
func TestRevertTextOfResources(t *testing.T) {
	t.Parallel()
	reg := newRegistry(&app{log: discardLogger(), getenv: func(string) string { return "" }}, registryOptions{})
	for _, tt := range []struct {
		fault journal.Fault
		want  string
	}{
		{journal.Fault{Type: "etcd-lab", Resource: true, Record: json.RawMessage(`{}`)}, "automatic"},
		{journal.Fault{Type: "postgres-lab", Resource: true, Record: json.RawMessage(`{}`)}, "automatic"},
		{journal.Fault{Type: "no-such-lab", Resource: true, Record: json.RawMessage(`{}`)}, "by hand (type not in this build)"},
		{journal.Fault{Type: "command", Resource: true, Record: json.RawMessage(`{}`)}, "by hand (type not in this build)"},
		{journal.Fault{Type: "etcd-lab", Resource: true}, "none needed (killed before the change)"},
	} {
		if got := revertText(reg, tt.fault); got != tt.want {
			t.Errorf("revertText(%s, resource) = %q, want %q", tt.fault.Type, got, tt.want)
		}
	}
}
