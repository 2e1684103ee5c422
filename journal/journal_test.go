package journal

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestJournalLifecycle(t *testing.T) {
	state := t.TempDir()
	dir := Dir(state)
	w, err := Create(dir, RunInfo{RunID: "r1", Scenario: "s", ScenarioFile: "s.yaml", System: "sys"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := w.Injecting(ctx, "f1", "command", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Injecting(ctx, "f1", "command", []string{"t"}, json.RawMessage(`{"revert":"rm x"}`)); err != nil {
		t.Fatal(err)
	}
	if err := w.Injecting(ctx, "f2", "other", []string{"u"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Reverted(ctx, "f2", "nothing to undo"); err != nil {
		t.Fatal(err)
	}
	runs, err := List(dir)
	if err != nil || len(runs) != 1 {
		t.Fatalf("List: %v %+v", err, runs)
	}
	r := runs[0]
	if r.RunID != "r1" || r.System != "sys" || r.PID != os.Getpid() || len(r.Faults) != 2 {
		t.Fatalf("run %+v", r)
	}
	p := r.Pending()
	if len(p) != 1 || p[0].Name != "f1" || string(p[0].Record) != `{"revert":"rm x"}` || p[0].Targets[0] != "t" {
		t.Fatalf("pending %+v", p)
	}
	if removed, err := w.Finish(); err != nil || removed {
		t.Fatalf("Finish with f1 pending: removed %v, %v; want kept", removed, err)
	}
	if _, err := os.Stat(w.Path()); err != nil {
		t.Fatalf("journal with a pending fault removed: %v", err)
	}

	// drill recover reopens it, records the revert, and the file goes.
	w2, err := OpenAppend(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if got := w2.Pending(); len(got) != 1 || got[0] != "f1" {
		t.Fatalf("reopened pending %v", got)
	}
	if err := w2.Reverted(ctx, "f1", "recovered"); err != nil {
		t.Fatal(err)
	}
	if removed, err := w2.Finish(); err != nil || !removed {
		t.Fatalf("Finish: removed %v, %v", removed, err)
	}
	if _, err := os.Stat(w.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("journal still there after every fault was reverted: %v", err)
	}
}

func TestJournalModes(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	w, err := Create(Dir(state), RunInfo{RunID: "r1", System: "s"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fi, err := os.Stat(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != FileMode {
		t.Errorf("journal file mode %v, want %v", m, os.FileMode(FileMode))
	}
	di, err := os.Stat(Dir(state))
	if err != nil {
		t.Fatal(err)
	}
	if m := di.Mode().Perm(); m != DirMode {
		t.Errorf("journal dir mode %v, want %v", m, os.FileMode(DirMode))
	}
	l, err := LockSystem(state, "s", Holder{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	li, _ := os.Stat(l.path)
	if m := li.Mode().Perm(); m != FileMode {
		t.Errorf("lock file mode %v, want %v", m, os.FileMode(FileMode))
	}
}

// A SIGKILL mid-append leaves a line without its newline: readers skip it with a note, and the
// next writer must not glue its line onto it.
func TestJournalTornLastLine(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, RunInfo{RunID: "r1", System: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Injecting(t.Context(), "f1", "command", nil, json.RawMessage(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	f, err := os.OpenFile(w.Path(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"op":"inject","fault":"f2","type":"comm`)
	f.Close()

	r, err := Read(w.Path())
	if err != nil {
		t.Fatalf("torn line made the journal unreadable: %v", err)
	}
	if len(r.Faults) != 1 || r.Faults[0].Name != "f1" {
		t.Fatalf("faults %+v", r.Faults)
	}
	if len(r.Skipped) != 1 || !strings.Contains(r.Skipped[0], "torn") {
		t.Fatalf("skipped %q, want one torn-line note", r.Skipped)
	}

	w2, err := OpenAppend(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Reverted(t.Context(), "f1", "ok"); err != nil {
		t.Fatal(err)
	}
	w2.Close()
	r, err = Read(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Pending()) != 0 {
		t.Fatalf("revert appended after a torn line was lost: pending %+v (skipped %q)", r.Pending(), r.Skipped)
	}
}

func TestLockHeldBySecondProcess(t *testing.T) {
	if os.Getenv("JOURNAL_LOCK_HELPER") != "" {
		// Child: take the lock, say so, hold it until stdin closes.
		_, err := LockSystem(os.Getenv("JOURNAL_LOCK_HELPER"), "orders db", Holder{RunID: "run-child", Scenario: "sc"})
		if err != nil {
			os.Stdout.WriteString("ERR " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("LOCKED\n")
		buf := make([]byte, 1)
		os.Stdin.Read(buf)
		os.Exit(0)
	}
	state := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHeldBySecondProcess$")
	cmd.Env = append(os.Environ(), "JOURNAL_LOCK_HELPER="+state)
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "LOCKED") {
		t.Fatalf("child: %q", buf[:n])
	}
	_, err := LockSystem(state, "orders db", Holder{RunID: "run-me"})
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second lock: %v, want HeldError", err)
	}
	if held.Holder.PID != cmd.Process.Pid || held.Holder.RunID != "run-child" || !strings.Contains(err.Error(), "run-child") {
		t.Fatalf("holder %+v (%v), want pid %d run-child", held.Holder, err, cmd.Process.Pid)
	}
	if h, ok := Held(state, "orders db"); !ok || h.RunID != "run-child" {
		t.Fatalf("Held: %+v %v", h, ok)
	}
	stdin.Close()
	cmd.Wait()
	// The holder is gone: the kernel dropped its lock.
	l, err := LockSystem(state, "orders db", Holder{RunID: "run-me"})
	if err != nil {
		t.Fatalf("lock after the holder exited: %v", err)
	}
	l.Release()
	if _, ok := Held(state, "orders db"); ok {
		t.Fatal("Held reports a released lock")
	}
}

func TestLockNamesDoNotCollide(t *testing.T) {
	if lockName("a/b") == lockName("a_b") {
		t.Fatal("a/b and a_b share a lock file")
	}
}

// A resource (a lab) shares the journal with faults but not their names: a fault named like a
// resource type is another entry, each is resolved on its own, and only when both are does the
// journal go.
func TestJournalResources(t *testing.T) {
	dir := Dir(t.TempDir())
	w, err := Create(dir, RunInfo{RunID: "r1", System: "sys"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := w.Creating(ctx, "etcd-lab", []string{"/tmp/lab"}, json.RawMessage(`{"dir":"/tmp/lab"}`)); err != nil {
		t.Fatal(err)
	}
	if err := w.Creating(ctx, "etcd-lab", []string{"/tmp/lab"}, json.RawMessage(`{"dir":"/tmp/lab","pids":[1]}`)); err != nil {
		t.Fatal(err)
	}
	if err := w.Injecting(ctx, "etcd-lab", "command", nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := w.Pending(); len(got) != 2 || got[0] != "etcd-lab" || got[1] != "resource etcd-lab" {
		t.Fatalf("pending %v, want the fault and the resource", got)
	}
	if err := w.Reverted(ctx, "etcd-lab", "done"); err != nil {
		t.Fatal(err)
	}
	if removed, err := w.Finish(); err != nil || removed {
		t.Fatalf("Finish with the lab pending: removed %v, %v", removed, err)
	}
	run, err := Read(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	p := run.Pending()
	if len(p) != 1 || !p[0].Resource || p[0].Name != "etcd-lab" || string(p[0].Record) != `{"dir":"/tmp/lab","pids":[1]}` {
		t.Fatalf("pending %+v, want the resource with its latest record", p)
	}
	w2, err := OpenAppend(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Resolved(ctx, p[0], "removed"); err != nil {
		t.Fatal(err)
	}
	if removed, err := w2.Finish(); err != nil || !removed {
		t.Fatalf("Finish with everything resolved: removed %v, %v", removed, err)
	}
}
