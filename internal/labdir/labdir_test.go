package labdir

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var errTaken = errors.New("taken")

func TestMake(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		prepare     func(t *testing.T, dir string) // dir does not exist yet
		wantCreated bool
		wantErr     string
	}{
		{name: "missing", prepare: func(*testing.T, string) {}, wantCreated: true},
		{name: "empty", prepare: func(t *testing.T, dir string) { mkdir(t, dir) }, wantCreated: false},
		{name: "holds a lab", prepare: func(t *testing.T, dir string) {
			mkdir(t, dir)
			write(t, filepath.Join(dir, "lab.json"), "{}")
		}, wantErr: "taken"},
		{name: "holds other files", prepare: func(t *testing.T, dir string) {
			mkdir(t, dir)
			write(t, filepath.Join(dir, "notes"), "x")
		}, wantErr: "is not empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "lab")
			tc.prepare(t, dir)
			abs, created, err := Make(dir, "drill-test-*", "lab.json", func(string) error { return errTaken })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Make = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if abs != dir || created != tc.wantCreated {
				t.Errorf("Make = %s, created %v; want %s, created %v", abs, created, dir, tc.wantCreated)
			}
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				t.Errorf("lab dir not there: %v", err)
			}
		})
	}
}

func TestMakeTemporary(t *testing.T) {
	t.Parallel()
	abs, created, err := Make("", "drill-labdir-test-*", "lab.json", func(string) error { return errTaken })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(abs) })
	if !created || !strings.HasPrefix(filepath.Base(abs), "drill-labdir-test-") || filepath.Dir(abs) != filepath.Clean(os.TempDir()) {
		t.Errorf("Make(\"\") = %s, created %v; want a new drill-labdir-test-* in %s", abs, created, os.TempDir())
	}
}

// TestReap: only the lab whose owner has died is removed; a failed removal is reported, a lab
// that cannot be opened is skipped.
func TestReap(t *testing.T) {
	t.Parallel()
	dead := deadPID(t)
	root := t.TempDir()
	owners := map[string]int{"lab-dead": dead, "lab-alive": os.Getpid(), "lab-mine-unrecorded": 0, "lab-failing": dead, "lab-unopenable": dead}
	for name, pid := range owners {
		mkdir(t, filepath.Join(root, name))
		write(t, filepath.Join(root, name, "owner"), strconv.Itoa(pid))
	}
	owner := func(d string) (int, error) {
		b, err := os.ReadFile(filepath.Join(d, "owner"))
		if err != nil {
			return 0, err
		}
		return strconv.Atoi(string(b))
	}
	var removed []string
	open := func(d string) (func(context.Context) error, error) {
		switch filepath.Base(d) {
		case "lab-unopenable":
			return nil, errors.New("no lab")
		case "lab-failing":
			return func(context.Context) error { return errors.New("boom") }, nil
		}
		return func(context.Context) error { removed = append(removed, d); return os.RemoveAll(d) }, nil
	}
	reaped, err := Reap(context.Background(), root, "lab-*", "test lab", owner, open)
	want := []string{filepath.Join(root, "lab-dead")}
	if !slices.Equal(reaped, want) || !slices.Equal(removed, want) {
		t.Errorf("Reap removed %v (reported %v), want %v", removed, reaped, want)
	}
	if err == nil || !strings.Contains(err.Error(), "remove orphaned test lab "+filepath.Join(root, "lab-failing")+": boom") {
		t.Errorf("Reap error = %v, want the failed removal of lab-failing", err)
	}
}

// deadPID is the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	pid := cmd.Process.Pid
	if ProcessExists(pid) {
		t.Skipf("pid %d was reused at once", pid)
	}
	return pid
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveFiles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		own      bool
		userFile bool // the user put a file of their own in the lab dir
		wantDir  bool
	}{
		{name: "own dir goes whole", own: true, userFile: true, wantDir: false},
		{name: "user's empty dir goes", wantDir: false},
		{name: "user's dir with their file stays", userFile: true, wantDir: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "lab")
			mkdir(t, filepath.Join(dir, "members", "m1"))
			write(t, filepath.Join(dir, "lab.json"), "{}")
			if tc.userFile {
				write(t, filepath.Join(dir, "notes"), "mine")
			}
			if err := RemoveFiles(dir, tc.own, []string{"members", "lab.json", "lab.json.tmp"}, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(dir)
			if gotDir := err == nil; gotDir != tc.wantDir {
				t.Fatalf("lab dir there = %v (%v), want %v", gotDir, err, tc.wantDir)
			}
			if tc.wantDir && (len(entries) != 1 || entries[0].Name() != "notes") {
				t.Errorf("kept dir holds %v, want only the user's notes", entries)
			}
		})
	}
}

func TestRemoveUnstarted(t *testing.T) {
	t.Parallel()
	made := []string{"members", "logs", "lab.json.tmp"}
	tests := []struct {
		name     string
		create   []string // under dir; a trailing / makes a directory
		noDir    bool
		wantErr  bool
		wantGone bool
	}{
		{name: "already gone", noDir: true, wantGone: true},
		{name: "empty", wantGone: true},
		{name: "what the lab made", create: []string{"members/", "members/m1/", "logs/", "logs/m1.log", "lab.json.tmp"}, wantGone: true},
		{name: "a file the lab did not make", create: []string{"members/", "notes.txt"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "lab")
			if !tc.noDir {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range tc.create {
				p := filepath.Join(dir, c)
				var err error
				if c[len(c)-1] == '/' {
					err = os.Mkdir(p, 0o755)
				} else {
					err = os.WriteFile(p, []byte("x"), 0o644)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			err := RemoveUnstarted(dir, made)
			if (err != nil) != tc.wantErr {
				t.Fatalf("RemoveUnstarted: %v, want error %v", err, tc.wantErr)
			}
			_, serr := os.Stat(dir)
			if gone := os.IsNotExist(serr); gone != tc.wantGone {
				t.Errorf("dir gone %v, want %v", gone, tc.wantGone)
			}
			if tc.wantErr {
				if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
					t.Errorf("a file the lab did not make was removed: %v", err)
				}
			}
		})
	}
}

func TestFreshName(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	a, err := FreshName(root, "drill-lab-x-")
	if err != nil {
		t.Fatal(err)
	}
	b, err := FreshName(root, "drill-lab-x-")
	if err != nil {
		t.Fatal(err)
	}
	if a == b || filepath.Dir(a) != root || !strings.HasPrefix(filepath.Base(a), "drill-lab-x-") {
		t.Errorf("FreshName = %s, %s; want two different names under %s starting drill-lab-x-", a, b, root)
	}
	if _, err := os.Stat(a); !os.IsNotExist(err) {
		t.Errorf("%s exists (%v): the lab manager must create it", a, err)
	}
	if _, err := FreshName(filepath.Join(root, "missing"), "x-"); err == nil {
		t.Error("FreshName under a missing root: no error")
	}
}
