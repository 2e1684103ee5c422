// Package pglabtest starts PostgreSQL labs for tests and checks that they leave nothing behind.
package pglabtest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/drillhq/drill/pglab"
)

// BinDir returns the PostgreSQL server bin dir. Without one the test is skipped, except in CI
// (CI=true), where `make deps` must have installed PostgreSQL and its absence is a failure.
func BinDir(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir, err := pglab.FindBinDir(ctx, "")
	if errors.Is(err, pglab.ErrNoBinaries) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// Start starts a lab tied to the test process in a new temp dir (under the system temp dir, which
// the postgres user can reach when tests run as root) and removes it in t.Cleanup, even when the
// test failed, then fails the test if any server process survived or the dir remains.
func Start(t testing.TB, opts pglab.Options) *pglab.Lab {
	t.Helper()
	opts.BinDir = BinDir(t)
	opts.DieWithParent = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := pglab.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start postgres lab: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := l.Remove(ctx); err != nil {
			t.Errorf("remove lab: %v", err)
		}
		AssertRemoved(t, l.Dir())
	})
	return l
}

// AssertRemoved fails if a server process of the lab in dir is alive or dir still exists.
func AssertRemoved(t testing.TB, dir string) {
	t.Helper()
	for _, p := range pglab.ProcessesUnder(dir) {
		t.Errorf("postgres process still running for %s: %s", dir, p)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lab dir %s still exists after remove (stat: %v)", dir, err)
	}
}
