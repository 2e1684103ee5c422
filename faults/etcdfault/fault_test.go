package etcdfault

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/drillhq/drill/backends/etcdenv"
	"github.com/drillhq/drill/backends/etcdenv/etcdenvtest"
	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/etcdlab/labtest"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     scenarios.Validator
		wantErr string
	}{
		{"kill defaults", KillMemberType().NewConfig().(*KillMemberConfig), ""},
		{"bad signal", &KillMemberConfig{Member: "leader", Signal: "SIGHUP"}, "signal: must be one of SIGKILL, SIGTERM, SIGSTOP"},
		{"wipe a frozen member", &KillMemberConfig{Member: "any", Signal: "SIGSTOP", Wipe: true}, "wipe: cannot wipe a frozen"},
		{"no member", &KillMemberConfig{Signal: "SIGKILL"}, "member: required"},
		{"quorum defaults", KillQuorumType().NewConfig().(*KillQuorumConfig), ""},
		{"quorum bad signal", &KillQuorumConfig{Signal: "9"}, "signal:"},
		{"restore defaults", RestoreClusterType().NewConfig().(*RestoreClusterConfig), ""},
		{"restore from nothing", &RestoreClusterConfig{}, "from: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestLabOnlyTypesRefuseExternalClusters(t *testing.T) {
	t.Parallel()
	env := runner.NewEnv(&scenarios.Scenario{Name: "x"}, nil)
	etcdenv.WithCluster(env, &etcdenv.Cluster{Endpoints: []string{"http://127.0.0.1:1"}})
	if _, err := KillMemberType().New(KillMemberType().NewConfig(), env); err == nil || !strings.Contains(err.Error(), "needs the local lab") {
		t.Errorf("etcd-kill-member on endpoints: %v", err)
	}
	if _, err := RestoreClusterType().New(RestoreClusterType().NewConfig(), env); err == nil || !strings.Contains(err.Error(), "needs the local lab") {
		t.Errorf("etcd-restore-cluster on endpoints: %v", err)
	}
	if _, err := SnapshotSaveType().New(&SnapshotSaveConfig{}, env); err == nil || !strings.Contains(err.Error(), "dir: required") {
		t.Errorf("etcd-snapshot-save without dir on endpoints: %v", err)
	}
	if _, err := SnapshotSaveType().New(&SnapshotSaveConfig{Dir: t.TempDir()}, env); err != nil {
		t.Errorf("etcd-snapshot-save with dir on endpoints: %v", err)
	}
	noEtcd := runner.NewEnv(&scenarios.Scenario{Name: "x"}, nil)
	if _, err := KillQuorumType().New(KillQuorumType().NewConfig(), noEtcd); err == nil || !strings.Contains(err.Error(), "environment.etcd") {
		t.Errorf("etcd-kill-quorum without etcd environment: %v", err)
	}
}

func inject(t *testing.T, env *runner.Env, cfg any) runner.Injection {
	t.Helper()
	typ := KillMemberType()
	if _, ok := cfg.(*KillQuorumConfig); ok {
		typ = KillQuorumType()
	}
	f, err := typ.New(cfg, env)
	if err != nil {
		t.Fatalf("new fault: %v", err)
	}
	inj, err := f.Inject(context.Background())
	if err != nil {
		t.Fatalf("inject: %v", err)
	}
	return inj
}

func revert(t *testing.T, inj runner.Injection) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := inj.Revert(ctx); err != nil {
		t.Fatalf("revert: %v", err)
	}
}

func put(ctx context.Context, lab *etcdlab.Lab, key string) error {
	c, err := lab.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = c.Put(ctx, key, "v")
	return err
}

// putEverywhere puts key and waits until every member has applied it. A put is acknowledged
// once a majority committed it, so the one member a quorum kill leaves may not have it yet; a
// snapshot of that survivor would then rightly lack the key.
func putEverywhere(ctx context.Context, lab *etcdlab.Lab, key string) error {
	c, err := lab.Client()
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	resp, err := c.Put(pctx, key, "v")
	cancel()
	if err != nil {
		return err
	}
	for {
		behind := 0
		for _, st := range etcdlab.StatusAll(ctx, c, lab.Endpoints()) {
			if st.Err != nil || st.Resp.Header.Revision < resp.Header.Revision {
				behind++
			}
		}
		if behind == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("put %s: %d members had not applied revision %d: %w", key, behind, resp.Header.Revision, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestKillMemberChoosesLeaderAndFollower(t *testing.T) {
	t.Parallel()
	lab := labtest.Start(t, etcdlab.Options{Members: 3})
	env := etcdenvtest.Env(t, lab)
	ctx := context.Background()

	leader, err := lab.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inj := inject(t, env, &KillMemberConfig{Member: SelectLeader, Signal: "SIGKILL"})
	if !slices.Equal(inj.Targets, []string{leader}) {
		t.Fatalf("leader fault targets %v, want [%s]", inj.Targets, leader)
	}
	if lab.Running(leader) {
		t.Fatalf("leader %s still running after SIGKILL", leader)
	}
	// The remaining majority elects someone else and keeps committing.
	deadline := time.Now().Add(15 * time.Second)
	for {
		nl, err := lab.Leader(ctx)
		if err == nil && nl != leader && put(ctx, lab, "after-leader-loss") == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new leader 15s after killing %s (last: %q, %v)", leader, nl, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	revert(t, inj)
	if !lab.Running(leader) {
		t.Fatalf("revert did not restart %s", leader)
	}

	leader, err = lab.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inj = inject(t, env, &KillMemberConfig{Member: SelectFollower, Signal: "SIGTERM"})
	if len(inj.Targets) != 1 || inj.Targets[0] == leader {
		t.Fatalf("follower fault targets %v; leader is %s", inj.Targets, leader)
	}
	if lab.Running(inj.Targets[0]) || !lab.Running(leader) {
		t.Fatalf("after SIGTERM of follower %s: follower running %v, leader running %v", inj.Targets[0], lab.Running(inj.Targets[0]), lab.Running(leader))
	}
	if err := put(ctx, lab, "after-follower-loss"); err != nil {
		t.Errorf("write with one follower down: %v", err)
	}
	// A recovery step may already have restarted the member; revert must then do nothing.
	restart, err := RestartMemberType().New(&MemberConfig{Member: inj.Targets[0]}, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := restart.Run(ctx); err != nil {
		t.Fatalf("restart step: %v", err)
	}
	pid := func() int { m, _ := lab.Member(inj.Targets[0]); return m.PID }
	before := pid()
	revert(t, inj)
	if pid() != before {
		t.Errorf("revert restarted a member that was already back (pid %d → %d)", before, pid())
	}
}

func TestFreezeThenRevertResumes(t *testing.T) {
	t.Parallel()
	lab := labtest.Start(t, etcdlab.Options{Members: 3})
	env := etcdenvtest.Env(t, lab)
	inj := inject(t, env, &KillMemberConfig{Member: "m2", Signal: "SIGSTOP"})
	if !slices.Equal(inj.Targets, []string{"m2"}) || !lab.Stopped("m2") {
		t.Fatalf("targets %v, m2 is %v; want m2 stopped", inj.Targets, lab.ProcessState("m2"))
	}
	m2, _ := lab.Member("m2")
	c, err := etcdlab.NewClient([]string{m2.ClientURL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = c.Get(ctx, "k", clientv3.WithSerializable())
	cancel()
	if err == nil {
		t.Errorf("frozen member answered a read")
	}
	revert(t, inj)
	if !lab.Running("m2") || lab.Stopped("m2") {
		t.Fatalf("m2 is %v after revert, want running", lab.ProcessState("m2"))
	}
	if m, _ := lab.Member("m2"); m.PID != m2.PID {
		t.Errorf("revert of SIGSTOP restarted the process (pid %d → %d) instead of resuming it", m2.PID, m.PID)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Get(ctx, "k", clientv3.WithSerializable()); err != nil {
		t.Errorf("resumed member does not answer: %v", err)
	}
}

func TestKillQuorumThenRevert(t *testing.T) {
	t.Parallel()
	lab := labtest.Start(t, etcdlab.Options{Members: 3})
	env := etcdenvtest.Env(t, lab)
	ctx := context.Background()
	if err := put(ctx, lab, "before"); err != nil {
		t.Fatal(err)
	}
	inj := inject(t, env, &KillQuorumConfig{Signal: "SIGKILL"})
	if len(inj.Targets) != 2 {
		t.Fatalf("quorum fault killed %v, want 2 of 3", inj.Targets)
	}
	for _, n := range lab.Names() {
		if want := !slices.Contains(inj.Targets, n); lab.Running(n) != want {
			t.Errorf("member %s running = %v, want %v", n, lab.Running(n), want)
		}
	}
	if err := put(ctx, lab, "without-quorum"); err == nil {
		t.Fatalf("a write succeeded without quorum")
	}
	revert(t, inj)
	if err := put(ctx, lab, "after"); err != nil {
		t.Errorf("write after revert: %v", err)
	}
}

func TestReplaceMemberRejoinsAsNewMember(t *testing.T) {
	t.Parallel()
	lab := labtest.Start(t, etcdlab.Options{Members: 3})
	env := etcdenvtest.Env(t, lab)
	ctx := context.Background()
	if err := put(ctx, lab, "before"); err != nil {
		t.Fatal(err)
	}
	inj := inject(t, env, &KillMemberConfig{Member: SelectFollower, Signal: "SIGKILL", Wipe: true})
	name := inj.Targets[0]
	old, _ := lab.Member(name)
	if _, err := os.Stat(lab.DataDir(name)); !os.IsNotExist(err) || !old.Wiped {
		t.Fatalf("wipe: data dir stat err %v, wiped flag %v", err, old.Wiped)
	}
	// A plain restart cannot bring back a member without data.
	restart, err := RestartMemberType().New(&MemberConfig{Member: name}, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := restart.Run(ctx); err == nil || !strings.Contains(err.Error(), "wiped") {
		t.Fatalf("restart of a wiped member: %v", err)
	}
	step, err := ReplaceMemberType().New(&MemberConfig{Member: name}, env)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := step.Run(rctx); err != nil {
		t.Fatalf("replace: %v", err)
	}
	now, _ := lab.Member(name)
	if now.ID == "" || now.ID == old.ID || !lab.Running(name) {
		t.Fatalf("after replace: id %q (was %q), running %v; want a new id", now.ID, old.ID, lab.Running(name))
	}
	c, err := lab.Client()
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.MemberList(rctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range list.Members {
		ids = append(ids, etcdlab.FormatID(m.ID))
	}
	if !slices.Contains(ids, now.ID) || slices.Contains(ids, old.ID) {
		t.Errorf("member list %v: want new id %s and not old id %s", ids, now.ID, old.ID)
	}
	// Revert of the wipe fault finds the member back and leaves it alone.
	revert(t, inj)
	if again, _ := lab.Member(name); again.ID != now.ID {
		t.Errorf("revert replaced the member again (%s → %s)", now.ID, again.ID)
	}
}

func TestSnapshotWithoutQuorumAndRestoreLatest(t *testing.T) {
	t.Parallel()
	lab := labtest.Start(t, etcdlab.Options{Members: 3})
	env := etcdenvtest.Env(t, lab)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := putEverywhere(ctx, lab, "in-snapshot"); err != nil {
		t.Fatal(err)
	}
	inj := inject(t, env, &KillQuorumConfig{Signal: "SIGKILL"})
	// An extra dir shows `dir` is honoured; the default goes to the lab's snapshot dir, which is
	// where `from: latest` looks.
	extra := filepath.Join(t.TempDir(), "snaps")
	for _, dir := range []string{extra, ""} {
		save, err := SnapshotSaveType().New(&SnapshotSaveConfig{Dir: dir}, env)
		if err != nil {
			t.Fatal(err)
		}
		if err := save.Run(ctx); err != nil {
			t.Fatalf("snapshot save without quorum (dir %q): %v", dir, err)
		}
	}
	if got, err := etcdlab.ListSnapshots(extra); err != nil || len(got) != 1 {
		t.Fatalf("snapshots in %s: %v, %v; want 1", extra, got, err)
	}
	restore, err := RestoreClusterType().New(&RestoreClusterConfig{From: "latest"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := restore.Run(ctx); err != nil {
		t.Fatalf("restore: %v", err)
	}
	c, err := lab.Client()
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, "in-snapshot")
	if err != nil || len(got.Kvs) != 1 {
		t.Fatalf("key from before the snapshot after restore: %v, %v", got, err)
	}
	if err := put(ctx, lab, "after-restore"); err != nil {
		t.Errorf("restored cluster does not take writes: %v", err)
	}
	// Everything is back, so reverting the quorum fault is a no-op.
	pids := map[string]int{}
	for _, m := range lab.Members() {
		pids[m.Name] = m.PID
	}
	revert(t, inj)
	for _, m := range lab.Members() {
		if m.PID != pids[m.Name] {
			t.Errorf("revert after restore restarted %s", m.Name)
		}
	}
}

func TestRestoreFromMissingSnapshotFails(t *testing.T) {
	t.Parallel()
	lab := labtest.Start(t, etcdlab.Options{Members: 1})
	env := etcdenvtest.Env(t, lab)
	restore, err := RestoreClusterType().New(&RestoreClusterConfig{From: "latest"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := restore.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "no snapshot") {
		t.Fatalf("restore with no snapshot: %v", err)
	}
	if !lab.Running("m1") {
		t.Errorf("a failed restore (nothing to restore from) stopped the member")
	}
}

func TestMemberReferenceMustResolve(t *testing.T) {
	t.Parallel()
	lab := labtest.Start(t, etcdlab.Options{Members: 1})
	env := etcdenvtest.Env(t, lab, "kill-it")
	if _, err := RestartMemberType().New(&MemberConfig{Member: "nope"}, env); err == nil || !strings.Contains(err.Error(), `"nope" is neither a fault (kill-it) nor a lab member (m1)`) {
		t.Errorf("unknown reference: %v", err)
	}
	step, err := RestartMemberType().New(&MemberConfig{Member: "kill-it"}, env)
	if err != nil {
		t.Fatalf("fault reference: %v", err)
	}
	if err := step.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "has not been injected") {
		t.Errorf("restart before the fault was injected: %v", err)
	}
}

// TestRestoreFromNewestRevision: after quorum loss the survivor holds writes the newest backup
// lacks; from: newest-revision restores those, from: latest would not. The notes say when
// quorum was lost and what was restored, with its revision.
func TestRestoreFromNewestRevision(t *testing.T) {
	t.Parallel()
	lab := labtest.Start(t, etcdlab.Options{Members: 3})
	env := etcdenvtest.Env(t, lab)
	var logs syncBuffer
	env.Log = slog.New(slog.NewTextHandler(&logs, nil)) // Env.Note logs when no runner records it
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := put(ctx, lab, "in-backup"); err != nil {
		t.Fatal(err)
	}
	backup, err := lab.SnapshotMember(ctx, "m1", "", etcdlab.KindPeriodic)
	if err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, lab, "after-backup"); err != nil {
		t.Fatal(err)
	}
	// Followers learn a commit with the leader's next message (heartbeats every 100 ms): wait
	// for it, so the survivor, whichever it is, has applied the write.
	time.Sleep(500 * time.Millisecond)
	inj := inject(t, env, &KillQuorumConfig{Signal: "SIGKILL"})
	var survivor string
	for _, n := range lab.Names() {
		if lab.Running(n) {
			survivor = n
		}
	}
	restore, err := RestoreClusterType().New(&RestoreClusterConfig{From: FromNewestRevision}, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := restore.Run(ctx); err != nil {
		t.Fatalf("restore: %v", err)
	}
	c, err := lab.Client()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"in-backup", "after-backup"} {
		if got, err := c.Get(ctx, k); err != nil || len(got.Kvs) != 1 {
			t.Errorf("key %s after restore from the newest revision: %v, %v", k, got, err)
		}
	}
	backupRev, err := etcdlab.SnapshotRevision(ctx, backup.Path)
	if err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, want := range []string{
		"quorum lost at ",
		"(survivor " + survivor + ", revision " + strconv.FormatInt(backupRev+1, 10) + ")",
		"newest revision among survivor " + survivor + " rev " + strconv.FormatInt(backupRev+1, 10) + ", periodic backup rev " + strconv.FormatInt(backupRev, 10),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("notes lack %q:\n%s", want, out)
		}
	}
	revert(t, inj)
}

// syncBuffer is a bytes.Buffer safe for the logger's writes and the test's read.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
