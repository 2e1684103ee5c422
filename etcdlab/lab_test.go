package etcdlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drillhq/drill/internal/labproc"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// needEtcd skips the test when no etcd binary is available.
func needEtcd(t *testing.T) string {
	t.Helper()
	bin, err := FindEtcd("")
	if errors.Is(err, ErrNoBinary) {
		t.Skip("etcd binary not found: build it with `cd tools/etcd && go build -o ../../bin/etcd .` or set " + EnvEtcdBinary)
	}
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// startLab starts a lab tied to the test process and takes it down in t.Cleanup, checking that
// nothing is left behind.
func startLab(t *testing.T, opts Options) *Lab {
	t.Helper()
	opts.Binary = needEtcd(t)
	opts.DieWithParent = true
	if opts.Dir == "" {
		opts.Dir = filepath.Join(t.TempDir(), "lab")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := Up(ctx, opts)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Down(context.Background()); err != nil {
			t.Errorf("Down: %v", err)
		}
		assertNoMembers(t, l.Dir())
	})
	return l
}

// assertNoMembers fails if a live process has a data dir inside dir.
func assertNoMembers(t *testing.T, dir string) {
	t.Helper()
	for _, m := range MembersUnder(dir) {
		t.Errorf("etcd process still running for %s: %s", dir, m)
	}
}

func TestUpStatusDownLeavesNothing(t *testing.T) {
	t.Parallel()
	bin := needEtcd(t)
	dir := filepath.Join(t.TempDir(), "lab")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Not tied to the test process, like `drill lab up`: the members must outlive the Lab value
	// and be found again through the state file.
	l, err := Up(ctx, Options{Dir: dir, Members: 3, Binary: bin})
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	t.Cleanup(func() { l.Down(context.Background()) }) // in case the test fails half-way
	if err := l.Detach(); err != nil {
		t.Fatalf("Detach: %v", err)
	}

	opened, err := Open(dir, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	sts, err := opened.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if len(sts) != 3 {
		t.Fatalf("Status returned %d members, want 3", len(sts))
	}
	var leaders, pids []int
	for i, s := range sts {
		if s.Process != "running" || s.Err != nil {
			t.Errorf("member %s: process %s, err %v; want running and answering", s.Name, s.Process, s.Err)
			continue
		}
		if s.ID == "" || s.ID != FormatID(s.Status.Header.MemberId) {
			t.Errorf("member %s: state ID %q, etcd says %x", s.Name, s.ID, s.Status.Header.MemberId)
		}
		if s.Status.Leader == s.Status.Header.MemberId {
			leaders = append(leaders, i)
		}
		pids = append(pids, s.PID)
	}
	if len(leaders) != 1 {
		t.Errorf("members reporting themselves leader: %v, want exactly one", leaders)
	}
	if _, err := opened.Leader(ctx); err != nil {
		t.Errorf("Leader: %v", err)
	}

	if err := opened.Down(ctx); err != nil {
		t.Fatalf("Down: %v", err)
	}
	for i, pid := range pids {
		if st := inspect(pid, opened.DataDir(sts[i].Name)); st != ProcExited {
			t.Errorf("member %s pid %d is %v after Down", sts[i].Name, pid, st)
		}
	}
	assertNoMembers(t, dir)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lab dir %s still exists after Down (stat err %v)", dir, err)
	}
	if _, err := Open(dir, nil); err == nil {
		t.Errorf("Open after Down succeeded; want no lab")
	}
}

func TestUpRefusesExistingLab(t *testing.T) {
	t.Parallel()
	l := startLab(t, Options{Members: 1})
	_, err := Up(context.Background(), Options{Dir: l.Dir(), Members: 1, Binary: l.State().Binary})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Up on an existing lab: err %v, want 'already exists'", err)
	}
	if !l.Running("m1") {
		t.Errorf("the existing lab's member stopped after a refused Up")
	}
}

func TestKillFreezeStartReplace(t *testing.T) {
	t.Parallel()
	l := startLab(t, Options{Members: 3})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := l.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "k", "before"); err != nil {
		t.Fatal(err)
	}

	// SIGKILL then restart from the data dir: same member ID, data intact.
	before, _ := l.Member("m2")
	if err := l.Kill(ctx, "m2", syscall.SIGKILL); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if st := l.ProcessState("m2"); st != ProcExited {
		t.Fatalf("after Kill m2 is %v", st)
	}
	if inspect(before.PID, l.DataDir("m2")) != ProcExited {
		t.Fatalf("pid %d still alive after Kill", before.PID)
	}
	if m, _ := l.Member("m2"); m.PID != 0 {
		t.Errorf("state still records pid %d for a killed member", m.PID)
	}
	if err := l.Start(ctx, "m2"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	after, _ := l.Member("m2")
	if after.ID != before.ID || after.PID == before.PID || after.PID == 0 {
		t.Errorf("restart: id %s→%s pid %d→%d; want same id, new pid", before.ID, after.ID, before.PID, after.PID)
	}

	// SIGSTOP: the process stays but answers nothing; Start resumes it.
	if err := l.Freeze(ctx, "m3"); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	if !l.Stopped("m3") {
		t.Fatalf("m3 is %v after Freeze, want stopped", l.ProcessState("m3"))
	}
	m3, _ := l.Member("m3")
	sctx, scancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = c.Status(sctx, m3.ClientURL)
	scancel()
	if err == nil {
		t.Errorf("a frozen member answered Status")
	}
	if err := l.Start(ctx, "m3"); err != nil {
		t.Fatalf("Start (resume): %v", err)
	}
	if !l.Running("m3") {
		t.Errorf("m3 is %v after Start, want running", l.ProcessState("m3"))
	}

	// A wiped member cannot simply restart; Replace brings it back as a new member with the data.
	if err := l.Kill(ctx, "m1", syscall.SIGTERM); err != nil {
		t.Fatalf("Kill SIGTERM: %v", err)
	}
	if err := l.Wipe("m1"); err != nil {
		t.Fatalf("Wipe: %v", err)
	}
	if err := l.Start(ctx, "m1"); err == nil || !strings.Contains(err.Error(), "wiped") {
		t.Fatalf("Start of a wiped member: err %v, want a 'wiped' error", err)
	}
	old, _ := l.Member("m1")
	newID, err := l.Replace(ctx, "m1")
	if err != nil {
		t.Fatalf("Replace: %v", err)
	}
	if FormatID(newID) == old.ID {
		t.Errorf("replaced member kept its ID %s", old.ID)
	}
	m1, _ := l.Member("m1")
	if m1.ID != FormatID(newID) || m1.Wiped {
		t.Errorf("state after replace: %+v, want id %x and not wiped", m1, newID)
	}
	list, err := c.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range list.Members {
		ids = append(ids, FormatID(m.ID))
	}
	if len(ids) != 3 || strings.Contains(strings.Join(ids, ","), old.ID) {
		t.Errorf("member list after replace: %v; want 3 members without %s", ids, old.ID)
	}
	// The new member serves the data it caught up on from the leader.
	one, err := NewClient([]string{m1.ClientURL})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	got, err := one.Get(ctx, "k", clientv3.WithSerializable())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "before" {
		t.Errorf("replaced member's local read of k: %v, want before", got.Kvs)
	}
}

func TestSnapshotWithoutQuorumAndRestore(t *testing.T) {
	t.Parallel()
	l := startLab(t, Options{Members: 3})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := l.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "in-snapshot", "1"); err != nil {
		t.Fatal(err)
	}
	// Lose quorum, then save from the survivor.
	for _, n := range []string{"m1", "m2"} {
		if err := l.Kill(ctx, n, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	path, err := l.SaveSnapshot(ctx, "")
	if err != nil {
		t.Fatalf("SaveSnapshot without quorum: %v", err)
	}
	latest, err := LatestSnapshot(l.SnapshotDir())
	if err != nil || latest.Path != path || latest.Kind != KindSaved {
		t.Fatalf("LatestSnapshot = %+v, %v; want %s", latest, err, path)
	}
	oldToken := l.State().Token
	if err := l.Restore(ctx, path); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if l.State().Token == oldToken {
		t.Errorf("restore kept the cluster token")
	}
	for _, n := range l.Names() {
		if !l.Running(n) {
			t.Errorf("member %s is %v after restore", n, l.ProcessState(n))
		}
	}
	got, err := c.Get(ctx, "in-snapshot")
	if err != nil {
		t.Fatalf("Get after restore: %v", err)
	}
	if len(got.Kvs) != 1 {
		t.Errorf("key written before the snapshot is missing after restore")
	}
	if _, err := c.Put(ctx, "after-restore", "1"); err != nil {
		t.Errorf("restored cluster does not accept writes: %v", err)
	}
}

func TestPeriodicSnapshotsArePrunedAndNeedQuorum(t *testing.T) {
	t.Parallel()
	l := startLab(t, Options{Members: 3, SnapshotEvery: 100 * time.Millisecond, SnapshotKeep: 2})
	deadline := time.Now().Add(20 * time.Second)
	for {
		all, _ := ListSnapshots(l.SnapshotDir())
		if len(all) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no periodic snapshots after 20s: %v", all)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, n := range []string{"m1", "m2"} {
		if err := l.Kill(context.Background(), n, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	lost := time.Now()
	// Give the snapshotter several periods: without quorum it must not add snapshots.
	time.Sleep(time.Second)
	all, err := ListSnapshots(l.SnapshotDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) > 2 {
		t.Errorf("%d periodic snapshots kept, want at most 2", len(all))
	}
	for _, s := range all {
		// A snapshot requested just before the kill may complete just after; none may be
		// requested once quorum is gone.
		if s.TakenAt.After(lost) {
			t.Errorf("snapshot %s taken at %v, after quorum was lost at %v", filepath.Base(s.Path), s.TakenAt, lost)
		}
	}
}

func TestReapOrphansRemovesLabsOfDeadDrills(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	orphan := startLab(t, Options{Members: 1, Dir: filepath.Join(root, "drill-lab-orphan")})
	mine := startLab(t, Options{Members: 1, Dir: filepath.Join(root, "drill-lab-mine")})
	// Pretend the orphan's drill died: give it the pid of a process that has exited.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	orphan.mu.Lock()
	orphan.state.OwnerPID = dead.Process.Pid
	if err := orphan.saveLocked(); err != nil {
		t.Fatal(err)
	}
	orphan.mu.Unlock()
	pid := orphan.Members()[0].PID

	reaped, err := ReapOrphans(context.Background(), root, nil)
	if err != nil {
		t.Fatalf("ReapOrphans: %v", err)
	}
	if len(reaped) != 1 || reaped[0] != orphan.Dir() {
		t.Fatalf("reaped %v, want only %s", reaped, orphan.Dir())
	}
	if inspect(pid, orphan.DataDir("m1")) != ProcExited {
		t.Errorf("orphaned member pid %d still running", pid)
	}
	if _, err := os.Stat(orphan.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("orphaned lab dir still there: %v", err)
	}
	if !mine.Running("m1") {
		t.Errorf("a lab whose drill is alive was touched")
	}
}

func TestStatusFailsFastOnADeadEndpoint(t *testing.T) {
	t.Parallel()
	ports, err := labproc.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	ep := "http://127.0.0.1:" + strconv.Itoa(ports[0]) // nothing listens there
	c, err := NewClient([]string{ep})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Status(ctx, c, ep); err == nil {
		t.Fatal("Status of a dead endpoint succeeded")
	}
	// Waiting for the connection until the deadline would let a sample taken while the member
	// was down succeed once it came back, and count it as up too early.
	if ctx.Err() != nil {
		t.Errorf("Status waited for the whole deadline instead of failing fast")
	}
}

func TestWaitGoneStopsWhenCtxEnds(t *testing.T) {
	t.Parallel()
	p, err := startProcess(nil, "sleep", []string{"30"}, filepath.Join(t.TempDir(), "sleep.log"))
	if err != nil {
		t.Skipf("no sleep binary: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(p.Pid(), syscall.SIGKILL)
		<-p.Done()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	// The grace is far longer than the ctx: the ctx must win.
	err = waitGone(ctx, p, p.Pid(), "", time.Minute)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waitGone on a live process = %v, want the ctx's deadline", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("waitGone returned %v after its ctx ended", took)
	}
}

// TestUpTakesTheFirstPeriodicSnapshot: a drill may inject its fault any time after Up, so the
// backup history must already hold a snapshot then, timed by the clock the drill gave the lab.
func TestUpTakesTheFirstPeriodicSnapshot(t *testing.T) {
	t.Parallel()
	runClock := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	l := startLab(t, Options{Members: 1, SnapshotEvery: time.Hour, Now: func() time.Time { return runClock }})
	all, err := ListSnapshots(l.SnapshotDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Kind != KindPeriodic || !all[0].TakenAt.Equal(runClock) {
		t.Fatalf("snapshots right after Up: %+v; want one periodic snapshot taken at %v", all, runClock)
	}
}

// TestSnapshotRevision: the revision read from a snapshot file is the store revision the member
// reported when it was taken, so revisions order snapshots by the data they hold. A snapshot of
// a survivor taken after quorum loss holds what that member applied, which SnapshotMember reads.
func TestSnapshotRevision(t *testing.T) {
	t.Parallel()
	l := startLab(t, Options{Members: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := l.Client()
	if err != nil {
		t.Fatal(err)
	}
	var revs []int64
	for i := range 3 {
		resp, err := c.Put(ctx, fmt.Sprintf("k%d", i), "v")
		if err != nil {
			t.Fatal(err)
		}
		info, err := l.SnapshotMember(ctx, "m1", "", KindSurvivor)
		if err != nil {
			t.Fatal(err)
		}
		got, err := SnapshotRevision(ctx, info.Path)
		if err != nil {
			t.Fatal(err)
		}
		if got != resp.Header.Revision {
			t.Errorf("snapshot after put %d: revision %d, want %d", i, got, resp.Header.Revision)
		}
		revs = append(revs, got)
	}
	// A delete is a revision too: a tombstone key.
	if _, err := c.Delete(ctx, "k0"); err != nil {
		t.Fatal(err)
	}
	info, err := l.SnapshotMember(ctx, "m1", "", KindSurvivor)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := SnapshotRevision(ctx, info.Path); err != nil || got != revs[2]+1 {
		t.Errorf("after a delete: revision %d, %v; want %d", got, err, revs[2]+1)
	}
	if _, err := SnapshotRevision(ctx, filepath.Join(t.TempDir(), "missing.db")); err == nil {
		t.Errorf("revision of a missing file: no error")
	}
	if err := l.Kill(ctx, "m1", syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SnapshotMember(ctx, "m1", "", KindSurvivor); err == nil {
		t.Errorf("snapshot of a dead member: no error")
	}
}
