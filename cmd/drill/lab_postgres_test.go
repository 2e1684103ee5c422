package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/pglab/pglabtest"
)

func TestPostgresLabUpStatusDown(t *testing.T) {
	t.Parallel()
	pglabtest.BinDir(t)
	// Under the system temp dir: as root the servers run as postgres, who cannot enter t.TempDir().
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("drill-cli-pglab-%d", time.Now().UnixNano()))
	t.Cleanup(func() {
		// The lab outlives `lab up` on purpose; take it down even if the test failed half-way.
		if l, err := pglab.Open(dir, nil); err == nil {
			l.Remove(context.Background())
		}
		pglab.KillUnder(context.Background(), dir)
		os.RemoveAll(dir)
	})

	code, out, errOut := runLab(t, "up", "--postgres", "--dir", dir, "--synchronous", "-q")
	if code != 0 || !strings.HasPrefix(out, "postgres://postgres@127.0.0.1:") || !strings.Contains(out, "target_session_attrs=read-write") {
		t.Fatalf("lab up --postgres: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	dsn := strings.TrimSpace(out)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to the printed DSN: %v", err)
	}
	_, err = c.Exec(ctx, "CREATE TABLE cli (n int); INSERT INTO cli VALUES (1)")
	c.Close(ctx)
	if err != nil {
		t.Fatalf("write through the printed DSN (synchronous lab): %v", err)
	}

	code, out, errOut = runLab(t, "status", "--postgres", "--dir", dir)
	if code != 0 || !strings.Contains(out, "synchronous: true") || !strings.Contains(out, "pg1") || !strings.Contains(out, "primary") ||
		!strings.Contains(out, "pg2 streaming quorum") {
		t.Errorf("lab status --postgres: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runLab(t, "up", "--postgres", "--dir", dir)
	if code != 3 || !strings.Contains(errOut, "already exists") {
		t.Errorf("second lab up: exit %d, stderr %q; want 3 and 'already exists'", code, errOut)
	}
	code, out, errOut = runLab(t, "down", "--postgres", "--dir", dir)
	if code != 0 || !strings.Contains(out, "down and removed") {
		t.Errorf("lab down --postgres: exit %d, %q %q", code, out, errOut)
	}
	pglabtest.AssertRemoved(t, dir)
	code, out, errOut = runLab(t, "down", "--postgres", "--dir", dir)
	if code != 0 || !strings.Contains(out, "nothing to take down") {
		t.Errorf("lab down --postgres with nothing up: exit %d, %q %q; want 0", code, out, errOut)
	}
	code, _, errOut = runLab(t, "status", "--postgres", "--dir", dir)
	if code != 3 || !strings.Contains(errOut, "no postgres lab") {
		t.Errorf("status after down: exit %d, %q", code, errOut)
	}
}

func TestPostgresLabFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"up", "--postgres", "--standbys", "0", "--dir", "x"}, "--standbys must be between 1 and 5"},
		{[]string{"up", "--postgres", "--standbys", "6", "--dir", "x"}, "--standbys must be between 1 and 5"},
		{[]string{"up", "--postgres", "--aws"}, "none of the others can be"},
	}
	for _, tt := range tests {
		code, _, errOut := runLab(t, tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("lab %v: exit %d, %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
}
