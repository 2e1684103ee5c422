package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/etcdlab/labtest"
)

// runLab runs `drill lab ARGS` in-process and returns the exit code and output.
func runLab(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), log: discardLogger(), getenv: func(string) string { return "" }}
	root := newRootCmd(a)
	root.AddCommand(newLabCmd(a))
	root.SetArgs(append([]string{"lab"}, args...))
	root.SetOut(&out)
	root.SetErr(&errb)
	code := 0
	if err := root.ExecuteContext(context.Background()); err != nil {
		code = 2
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		errb.WriteString(err.Error())
	}
	return code, out.String(), errb.String()
}

func TestLabUpStatusDown(t *testing.T) {
	t.Parallel()
	bin := labtest.Binary(t)
	dir := filepath.Join(t.TempDir(), "lab")
	t.Cleanup(func() {
		// The lab outlives `lab up` on purpose; take it down even if the test failed half-way.
		if l, err := etcdlab.Open(dir, nil); err == nil {
			l.Down(context.Background())
		}
		labtest.AssertNoMembers(t, dir)
	})

	code, out, errOut := runLab(t, "up", "--dir", dir, "--members", "1", "--etcd-binary", bin, "-q")
	if code != 0 || !strings.HasPrefix(out, "http://127.0.0.1:") {
		t.Fatalf("lab up: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runLab(t, "status", "--dir", dir)
	if code != 0 || !strings.Contains(out, "m1") || !strings.Contains(out, "running") || !strings.Contains(out, "yes") {
		t.Errorf("lab status: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runLab(t, "up", "--dir", dir, "--members", "1", "--etcd-binary", bin)
	if code != 3 || !strings.Contains(errOut, "already exists") {
		t.Errorf("second lab up: exit %d, stderr %q; want 3 and 'already exists'", code, errOut)
	}
	code, out, errOut = runLab(t, "down", "--dir", dir)
	if code != 0 || !strings.Contains(out, "down and removed") {
		t.Errorf("lab down: exit %d, %q %q", code, out, errOut)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lab dir still exists after down: %v", err)
	}
	code, _, errOut = runLab(t, "status", "--dir", dir)
	if code != 3 || !strings.Contains(errOut, "no etcd lab") {
		t.Errorf("status after down: exit %d, %q", code, errOut)
	}
}

func TestLabUpRejectsBadMembers(t *testing.T) {
	t.Parallel()
	code, _, errOut := runLab(t, "up", "--dir", t.TempDir(), "--members", "0")
	if code != 2 || !strings.Contains(errOut, "--members must be between 1 and 9") {
		t.Errorf("exit %d, %q", code, errOut)
	}
}

func TestLabDownWithNothingUp(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"etcd", "aws", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			base := filepath.Join(t.TempDir(), "never-up")
			args := []string{"down", "--dir", base}
			dirs := []string{base, base + "-aws", base + "-postgres"}
			if kind != "etcd" {
				args = append(args, "--"+kind)
			}
			for range 2 {
				code, out, errOut := runLab(t, args...)
				if code != 0 || !strings.Contains(out, "nothing to take down") {
					t.Errorf("lab down with no lab: exit %d, stdout %q, stderr %q; want 0", code, out, errOut)
				}
			}
			for _, dir := range dirs {
				if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("lab down created %s: %v", dir, err)
				}
			}
		})
	}
}

// TestLabDownAWSRemovesItsLog: an AWS lab whose start failed leaves its log to read; lab down
// removes it and the then empty directory, as it does after a lab that came up.
func TestLabDownAWSRemovesItsLog(t *testing.T) {
	t.Parallel()
	base := filepath.Join(t.TempDir(), "lab")
	if err := os.MkdirAll(base+"-aws", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base+"-aws", "aws-moto.log"), []byte("Address already in use\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runLab(t, "down", "--aws", "--dir", base); code != 0 {
		t.Fatalf("lab down --aws: exit %d, %q %q", code, out, errOut)
	}
	if _, err := os.Stat(base + "-aws"); !errors.Is(err, os.ErrNotExist) {
		entries, _ := os.ReadDir(base + "-aws")
		t.Errorf("lab down --aws left %s (%v): %v", base+"-aws", err, entries)
	}
}
