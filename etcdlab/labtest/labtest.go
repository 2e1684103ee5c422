// Package labtest starts etcd labs for tests of packages that drill etcd, and checks that they
// leave nothing behind.
package labtest

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/drillhq/drill/etcdlab"
)

// Binary returns the etcd binary, skipping the test when there is none.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := etcdlab.FindEtcd("")
	if errors.Is(err, etcdlab.ErrNoBinary) {
		t.Skip("etcd binary not found: build it with `cd tools/etcd && go build -o ../../bin/etcd . && go build -o ../../bin/etcdutl ./etcdutl` (make etcd) or set " + etcdlab.EnvEtcdBinary)
	}
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// Start starts a lab tied to the test process in a temp dir and takes it down in t.Cleanup, even
// when the test fails, then fails the test if any member process survived.
func Start(t testing.TB, opts etcdlab.Options) *etcdlab.Lab {
	t.Helper()
	opts.Binary = Binary(t)
	opts.DieWithParent = true
	if opts.Dir == "" {
		opts.Dir = filepath.Join(t.TempDir(), "lab")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := etcdlab.Up(ctx, opts)
	if err != nil {
		t.Fatalf("start etcd lab: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Down(context.Background()); err != nil {
			t.Errorf("lab down: %v", err)
		}
		AssertNoMembers(t, l.Dir())
	})
	return l
}

// AssertNoMembers fails if a live process has a data dir inside dir.
func AssertNoMembers(t testing.TB, dir string) {
	t.Helper()
	for _, m := range etcdlab.MembersUnder(dir) {
		t.Errorf("etcd process still running for %s: %s", dir, m)
	}
}
