package pglab_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/pglab/pglabtest"
)

// A primary killed with SIGKILL and never restarted (the failover case) leaves its System V
// shared memory segment behind; Remove must release it, or every drill leaks one.
func TestRemoveReleasesKilledPrimarysSharedMemory(t *testing.T) {
	t.Parallel()
	l := pglabtest.Start(t, pglab.Options{})
	ctx := context.Background()
	if _, err := l.KillPrimary(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(l.DataDir("pg1"), "postmaster.pid"))
	if err != nil {
		t.Fatalf("a SIGKILLed postmaster leaves postmaster.pid: %v", err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 7 || len(strings.Fields(lines[6])) != 2 {
		t.Fatalf("postmaster.pid has no shared memory line:\n%s", b)
	}
	id, err := strconv.Atoi(strings.Fields(lines[6])[1])
	if err != nil {
		t.Fatal(err)
	}
	var desc unix.SysvShmDesc
	if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &desc); err != nil {
		t.Fatalf("segment %d of the killed primary: %v (expected it to outlive the kill)", id, err)
	}
	if err := l.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &desc); err == nil {
		t.Errorf("shared memory segment %d (key %#x) survives Remove", id, desc.Perm.Key)
	}
}
