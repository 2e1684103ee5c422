package pglab_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/pglab/pglabtest"
)

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func memberConn(t *testing.T, l *pglab.Lab, name string) *pgx.Conn {
	t.Helper()
	dsn, err := l.MemberDSN(name)
	if err != nil {
		t.Fatal(err)
	}
	return connect(t, dsn)
}

func exec(t *testing.T, c *pgx.Conn, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// eventually polls cond for up to 60s: replication is asynchronous and the machine may be slow,
// so tests wait for an outcome rather than time it.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 60s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func count(c *pgx.Conn, table string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int
	err := c.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
	return n, err
}

func hasRows(c *pgx.Conn, table string, want int) func() error {
	return func() error {
		n, err := count(c, table)
		if err != nil {
			return err
		}
		if n != want {
			return fmt.Errorf("%s has %d rows, want %d", table, n, want)
		}
		return nil
	}
}

func TestStartStreamsToStandby(t *testing.T) {
	t.Parallel()
	l := pglabtest.Start(t, pglab.Options{})
	st := l.State()
	if len(st.Members) != 2 || st.Primary != "pg1" || st.Members[1].Role != pglab.RoleStandby {
		t.Fatalf("members %+v, primary %q: want pg1 primary and one standby", st.Members, st.Primary)
	}
	primary, standby := memberConn(t, l, "pg1"), memberConn(t, l, "pg2")
	exec(t, primary, "CREATE TABLE t (n int)")
	exec(t, primary, "INSERT INTO t SELECT generate_series(1, 100)")
	eventually(t, "rows on the standby", hasRows(standby, "t", 100))

	// The standby is read-only: it is a real standby, not a second primary.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := standby.Exec(ctx, "INSERT INTO t VALUES (0)"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("insert on standby: %v, want a read-only error", err)
	}
	sts, err := l.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sts[0].InRecovery || !sts[1].InRecovery || len(sts[0].Replicas) != 1 || !strings.HasPrefix(sts[0].Replicas[0], "pg2 streaming") {
		t.Errorf("status: %+v", sts)
	}
}

// Synchronous mode is what makes a failover lose nothing: with the stream stalled, a commit
// must wait for the standby instead of returning. Asynchronous commits return at once.
func TestSynchronousCommitWaitsForStandby(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		synchronous bool
		wantBlocked bool
	}{
		{"async commits while stalled", false, false},
		{"sync commit waits while stalled", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := pglabtest.Start(t, pglab.Options{Synchronous: tt.synchronous})
			primary, standby := memberConn(t, l, "pg1"), memberConn(t, l, "pg2")
			exec(t, primary, "CREATE TABLE t (n int)")
			eventually(t, "table on the standby", hasRows(standby, "t", 0))

			ctx := context.Background()
			stalled, err := l.StallReplication(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(stalled) != 1 || stalled[0] != "pg2" {
				t.Errorf("stalled %v, want [pg2]", stalled)
			}
			// Generous when a commit should return; when it should wait, 2s without an
			// answer shows it waits (a slow machine only makes that more certain).
			timeout := 20 * time.Second
			if tt.wantBlocked {
				timeout = 2 * time.Second
			}
			ictx, cancel := context.WithTimeout(ctx, timeout)
			_, err = primary.Exec(ictx, "INSERT INTO t VALUES (1)")
			cancel()
			switch {
			case tt.wantBlocked && err == nil:
				t.Fatal("commit returned while replication was stalled in synchronous mode")
			case tt.wantBlocked && !errors.Is(err, context.DeadlineExceeded):
				t.Fatalf("commit: %v, want it still waiting at the deadline", err)
			case !tt.wantBlocked && err != nil:
				t.Fatalf("async commit while stalled: %v", err)
			}
			if !tt.wantBlocked {
				// Stalled means stalled: the standby must not have the row yet.
				if n, err := count(standby, "t"); err != nil || n != 0 {
					t.Errorf("standby has %d rows (%v) while stalled, want 0", n, err)
				}
			}
			if err := l.ResumeReplication(ctx); err != nil {
				t.Fatal(err)
			}
			// The commit that waited was committed locally before it waited: it arrives too.
			eventually(t, "row on the standby after resume", hasRows(standby, "t", 1))
			primary = memberConn(t, l, "pg1")
			exec(t, primary, "INSERT INTO t VALUES (2)")
			eventually(t, "second row on the standby", hasRows(standby, "t", 2))
		})
	}
}

func childPIDs(t *testing.T, pid int) []int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		t.Fatalf("children of %d: %v", pid, err)
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func TestKillPrimaryThenRestart(t *testing.T) {
	t.Parallel()
	l := pglabtest.Start(t, pglab.Options{})
	primary, standby := memberConn(t, l, "pg1"), memberConn(t, l, "pg2")
	exec(t, primary, "CREATE TABLE t (n int)")
	exec(t, primary, "INSERT INTO t VALUES (1)")
	eventually(t, "row on the standby", hasRows(standby, "t", 1))

	pm := l.Primary().PID
	before := append([]int{pm}, childPIDs(t, pm)...)
	if len(before) < 5 {
		t.Fatalf("primary has processes %v; want the postmaster and its children (checkpointer, walsender, ...)", before)
	}
	ctx := context.Background()
	res, err := l.KillPrimary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Member != "pg1" || res.LSN == "" {
		t.Errorf("kill result %+v: want pg1 and its LSN", res)
	}
	for _, pid := range before {
		if alive(pid) {
			t.Errorf("process %d of the killed primary is still alive", pid)
		}
	}
	if left := pglab.ProcessesUnder(l.DataDir("pg1")); len(left) > 0 {
		t.Errorf("processes of the killed primary: %v", left)
	}
	if l.ProcessState("pg1") != pglab.ProcExited || !l.Running("pg2") {
		t.Errorf("after kill: pg1 %v, pg2 %v", l.ProcessState("pg1"), l.ProcessState("pg2"))
	}
	// Idempotent: a second kill finds nothing to do.
	if res, err := l.KillPrimary(ctx); err != nil || len(res.PIDs) != 0 {
		t.Errorf("second kill: %+v, %v", res, err)
	}

	if name, err := l.RestartPrimary(ctx); err != nil || name != "pg1" {
		t.Fatalf("restart primary: %q, %v", name, err)
	}
	primary = memberConn(t, l, "pg1")
	if n, err := count(primary, "t"); err != nil || n != 1 {
		t.Errorf("restarted primary has %d rows (%v), want 1", n, err)
	}
	exec(t, primary, "INSERT INTO t VALUES (2)")
	eventually(t, "standby streams from the restarted primary", hasRows(standby, "t", 2))
}

func TestResumeToleratesGonePrimary(t *testing.T) {
	t.Parallel()
	l := pglabtest.Start(t, pglab.Options{})
	ctx := context.Background()
	if _, err := l.StallReplication(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.KillPrimary(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.ResumeReplication(ctx); err != nil {
		t.Errorf("resume after the primary died: %v", err)
	}
	if err := l.ResumeReplication(ctx); err != nil {
		t.Errorf("second resume: %v", err)
	}
}

// Promote must pick the standby that has applied the most WAL, whichever it is: pausing replay on
// one standby leaves the other ahead.
func TestPromotePicksMostAdvancedStandby(t *testing.T) {
	t.Parallel()
	tests := []struct{ paused, want string }{
		{paused: "pg2", want: "pg3"},
		{paused: "pg3", want: "pg2"},
	}
	for _, tt := range tests {
		t.Run("paused "+tt.paused, func(t *testing.T) {
			t.Parallel()
			l := pglabtest.Start(t, pglab.Options{Standbys: 2})
			primary := memberConn(t, l, "pg1")
			ahead, behind := memberConn(t, l, tt.want), memberConn(t, l, tt.paused)
			exec(t, primary, "CREATE TABLE t (n int)")
			eventually(t, "table on "+tt.paused, hasRows(behind, "t", 0))
			exec(t, behind, "SELECT pg_wal_replay_pause()")
			exec(t, primary, "INSERT INTO t SELECT generate_series(1, 10)")
			eventually(t, "rows on "+tt.want, hasRows(ahead, "t", 10))

			ctx := context.Background()
			if _, err := l.Promote(ctx); err == nil || !strings.Contains(err.Error(), "still running") {
				t.Errorf("promote with a live primary: %v, want a refusal", err)
			}
			if _, err := l.KillPrimary(ctx); err != nil {
				t.Fatal(err)
			}
			res, err := l.Promote(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Member != tt.want || res.Previous != "pg1" || l.Primary().Name != tt.want || !l.Promoted() {
				t.Fatalf("promoted %+v (lab primary %s), want %s", res, l.Primary().Name, tt.want)
			}
			if res.ReplayLSN == "" || res.PrimaryLSN == "" || len(res.Candidates) != 2 {
				t.Errorf("promote evidence incomplete: %+v", res)
			}
			t.Logf("promoted %s in %v: replay LSN %s, primary LSN %s", res.Member, res.Took, res.ReplayLSN, res.PrimaryLSN)
			// Writable, and reached through the multi-host DSN that listed the dead primary first.
			c := connect(t, l.DSN())
			exec(t, c, "INSERT INTO t VALUES (11)")
			var port int
			if err := c.QueryRow(ctx, "SELECT inet_server_port()").Scan(&port); err != nil || port != l.Primary().Port {
				t.Errorf("DSN reached port %d (%v), want the new primary's %d", port, err, l.Primary().Port)
			}
			if n, err := count(c, "t"); err != nil || n != 11 {
				t.Errorf("new primary has %d rows (%v), want 11", n, err)
			}
			// The old primary stays down: restarting it would make a second primary.
			if name, err := l.RestartPrimary(ctx); err != nil || name != tt.want || l.Running("pg1") {
				t.Errorf("restart after promotion: %q, %v, pg1 %v", name, err, l.ProcessState("pg1"))
			}
		})
	}
}

func TestRemoveFromAnotherHandle(t *testing.T) {
	t.Parallel()
	bin := pglabtest.BinDir(t)
	ctx := context.Background()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("drill-pglab-test-%d", time.Now().UnixNano()))
	// Not tied to this process, as `drill lab up` starts it.
	l, err := pglab.Start(ctx, pglab.Options{Dir: dir, BinDir: bin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pglab.KillUnder(context.Background(), dir)
		os.RemoveAll(dir)
	})
	if left := pglab.ProcessesUnder(dir); len(left) < 4 {
		t.Fatalf("ProcessesUnder(%s) = %v; want both postmasters and their children", dir, left)
	}
	// A later drill process finds it by its state file.
	other, err := pglab.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if other.Primary().Name != "pg1" || other.DSN() != l.DSN() {
		t.Errorf("opened lab: primary %q, DSN %q; want pg1, %q", other.Primary().Name, other.DSN(), l.DSN())
	}
	if err := other.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	pglabtest.AssertRemoved(t, dir)
	if err := other.Remove(ctx); err != nil {
		t.Errorf("second remove: %v", err)
	}
	if err := l.Remove(ctx); err != nil {
		t.Errorf("remove through the first handle after the lab is gone: %v", err)
	}
	if _, err := pglab.Open(dir, nil); !errors.Is(err, pglab.ErrNoLab) {
		t.Errorf("open after remove: %v, want ErrNoLab", err)
	}
}

func TestServersRunAsPostgresWhenRoot(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("not root: the servers run as the current user")
	}
	u, err := user.Lookup(pglab.ServerUser)
	if err != nil {
		t.Fatalf("running as root needs the %s user: %v", pglab.ServerUser, err)
	}
	l := pglabtest.Start(t, pglab.Options{})
	for _, m := range l.Members() {
		pids := append([]int{m.PID}, childPIDs(t, m.PID)...)
		for _, pid := range pids {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				continue // a short-lived child
			}
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) >= 3 && f[0] == "Uid:" && (f[1] != u.Uid || f[2] != u.Uid) {
					t.Errorf("%s process %d runs as uid %s/%s, want %s (%s)", m.Name, pid, f[1], f[2], u.Uid, pglab.ServerUser)
				}
			}
		}
		fi, err := os.Stat(l.DataDir(m.Name))
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; strconv.Itoa(int(uid)) != u.Uid {
			t.Errorf("%s data dir owned by uid %d, want %s", m.Name, uid, u.Uid)
		}
	}
}

func TestStartRejects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		opts pglab.Options
		want string
	}{
		{"too many standbys", pglab.Options{Standbys: 6}, "between 1 and 5"},
		{"negative standbys", pglab.Options{Standbys: -1}, "between 1 and 5"},
		{"bin dir without a server", pglab.Options{BinDir: t.TempDir()}, "initdb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := pglab.Start(ctx, tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start(%+v) = %v, want an error containing %q", tt.opts, err, tt.want)
			}
		})
	}
	if os.Geteuid() == 0 {
		// Servers run as postgres, which cannot reach a root-only directory.
		dir := filepath.Join(t.TempDir(), "lab") // t.TempDir is mode 0700
		_, err := pglab.Start(ctx, pglab.Options{Dir: dir, BinDir: pglabtest.BinDir(t)})
		if err == nil || !strings.Contains(err.Error(), "cannot reach it") {
			t.Errorf("lab under a root-only dir: %v, want 'cannot reach it'", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("failed start left %s behind", dir)
		}
	}
}

func TestParseLSN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0/0", 0, true},
		{"0/3000148", 0x3000148, true},
		{"16/B374D848", 0x16_B374D848, true},
		{"", 0, false},
		{"16", 0, false},
		{"x/1", 0, false},
	}
	for _, tt := range tests {
		got, err := pglab.ParseLSN(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseLSN(%q) = %#x, %v; want %#x, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// A lab whose owning drill died (servers gone with it) leaves its directory; the next drill's
// connector reaps it. A lab whose owner lives, or that has none (`drill lab up`), is kept.
func TestReapOrphans(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dead := osexec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	for name, owner := range map[string]int{"drill-pglab-dead": dead.Process.Pid, "drill-pglab-alive": os.Getpid(), "drill-pglab-unowned": 0} {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Join(dir, "members"), 0o755); err != nil {
			t.Fatal(err)
		}
		st := fmt.Sprintf(`{"version": 1, "ownDir": true, "ownerPid": %d, "members": [{"name": "pg1", "role": "primary", "port": 1}], "primary": "pg1"}`, owner)
		if err := os.WriteFile(filepath.Join(dir, pglab.StateFile), []byte(st), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reaped, err := pglab.ReapOrphans(context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(reaped) != 1 || filepath.Base(reaped[0]) != "drill-pglab-dead" {
		t.Errorf("reaped %v, want only drill-pglab-dead", reaped)
	}
	left, _ := filepath.Glob(filepath.Join(root, "*"))
	if len(left) != 2 {
		t.Errorf("left %v, want the live and the unowned lab", left)
	}
}
