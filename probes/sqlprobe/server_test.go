package sqlprobe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/backends/sqlenv"
	"github.com/drillhq/drill/internal/dbtest"
	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

type server struct {
	name  string
	start func(testing.TB) *dbtest.Server
}

func servers() []server {
	return []server{
		{"postgres", func(t testing.TB) *dbtest.Server { return dbtest.Postgres(t, dbtest.PostgresOptions{}) }},
		{"mariadb", dbtest.MariaDB},
	}
}

func newProbe(t *testing.T, typ runner.ProbeType, with any) runner.Probe {
	t.Helper()
	env := runner.NewEnv(&scenarios.Scenario{Name: "sqlprobe-test"}, nil)
	p, err := typ.New(spec(typ, with), env)
	if err != nil {
		t.Fatalf("%s: %v", typ.Name, err)
	}
	t.Cleanup(func() { p.(runner.Closer).Close() })
	return p
}

func check(p runner.Probe, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.Check(ctx)
}

// eventually retries a probe until it passes, bounded.
func eventually(t *testing.T, p runner.Probe, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check(p, 2*time.Second)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("probe still failing after %v: %v", within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func noPassword(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), dbtest.Password) {
		t.Errorf("%s: error shows the password: %v", what, err)
	}
}

func exists(t *testing.T, s *dbtest.Server, table string) bool {
	t.Helper()
	db := s.Open(t)
	q := "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = $1"
	if s.Driver == sqlenv.MySQL {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
	}
	var n int
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.SQL().QueryRowContext(ctx, q, table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// writeGrid takes n samples on a 10 ms grid, concurrently as the sampler would.
func writeGrid(t *testing.T, w *Writes, n int) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		<-tick.C
		wg.Go(func() { errs[i] = check(w, 5*time.Second) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("writes on a healthy server failed: %v", err)
	}
}

func TestProbesOnRealServers(t *testing.T) {
	for _, srv := range servers() {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			s := srv.start(t)
			driver := string(s.Driver)

			t.Run("sql healthy", func(t *testing.T) {
				p := newProbe(t, SQLType(), &SQLConfig{Driver: driver, DSN: s.DSN(), Query: "SELECT 1", Writable: true})
				if err := check(p, 5*time.Second); err != nil {
					t.Fatal(err)
				}
			})

			t.Run("sql failing query", func(t *testing.T) {
				p := newProbe(t, SQLType(), &SQLConfig{Driver: driver, DSN: s.DSN(), Query: "SELECT * FROM no_such_table"})
				err := check(p, 5*time.Second)
				if err == nil || !strings.Contains(err.Error(), "no_such_table") {
					t.Fatalf("query of a missing table: %v", err)
				}
				noPassword(t, "failing query", err)
			})

			t.Run("sql writable on a read-only server", func(t *testing.T) {
				if s.Driver == sqlenv.MySQL {
					s.Exec(t, "SET GLOBAL read_only = 1")
					defer s.Exec(t, "SET GLOBAL read_only = 0")
				} else {
					s.Exec(t, "ALTER SYSTEM SET default_transaction_read_only = on", "SELECT pg_reload_conf()")
					defer func() {
						s.Exec(t, "ALTER SYSTEM RESET default_transaction_read_only", "SELECT pg_reload_conf()")
						// The next subtests write: wait (bounded) until new sessions may.
						again := newProbe(t, SQLType(), &SQLConfig{Driver: driver, DSN: s.DSN(), Query: "SELECT 1", Writable: true})
						eventually(t, again, 10*time.Second)
					}()
				}
				rw := newProbe(t, SQLType(), &SQLConfig{Driver: driver, DSN: s.DSN(), Query: "SELECT 1", Writable: true})
				anyServer := newProbe(t, SQLType(), &SQLConfig{Driver: driver, DSN: s.DSN(), Query: "SELECT 1"})
				// pg_reload_conf only signals the postmaster: poll (bounded) until sessions see it.
				var err error
				var ro *sqlenv.ReadOnlyError
				for range 50 {
					if err = check(rw, 5*time.Second); errors.As(err, &ro) {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if !errors.As(err, &ro) {
					t.Fatalf("writable probe on a read-only server: %v, want ReadOnlyError", err)
				}
				if err := check(anyServer, 5*time.Second); err != nil {
					t.Fatalf("probe without writable on a read-only server: %v", err)
				}
			})

			t.Run("sql-writes classifies deleted rows as lost", func(t *testing.T) {
				w := newProbe(t, WritesType(), &WritesConfig{Driver: driver, DSN: s.DSN(), Table: "grid_writes"}).(*Writes)
				writeGrid(t, w, 30)
				// Simulate loss behind the probe's back: seqs 10-12 vanish, as after a failover
				// to a replica that had not received them.
				s.Exec(t, fmt.Sprintf("DELETE FROM grid_writes WHERE run_id = '%s' AND seq BETWEEN 10 AND 12", w.Table().RunID()))
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				present, err := w.ReadBack(ctx)
				if err != nil {
					t.Fatal(err)
				}
				ws := w.Writes()
				loss := measure.ClassifyWrites(ws, present)
				if loss.Written != 30 || loss.Acknowledged != 30 || loss.Lost != 3 || loss.Recovered != 0 || loss.Unexpected != 0 {
					t.Fatalf("loss %+v, want 30 written and acknowledged, 3 lost", loss)
				}
				if diff := cmp.Diff([]uint64{10, 11, 12}, loss.LostSeqs); diff != "" {
					t.Errorf("lost seqs (-want +got):\n%s", diff)
				}
				byseq := map[uint64]measure.Write{}
				for _, x := range ws {
					byseq[x.Seq] = x
				}
				// Acks of concurrent samples need not come back in seq order, so the window is
				// computed from its definition: from the newest survivor acknowledged before the
				// oldest lost ack to the newest lost ack.
				oldest := min(byseq[10].Ack, byseq[11].Ack, byseq[12].Ack)
				var start time.Duration
				for _, x := range ws {
					if present[x.Seq] && x.Ack < oldest && x.Ack > start {
						start = x.Ack
					}
				}
				newest := max(byseq[10].Ack, byseq[11].Ack, byseq[12].Ack)
				if loss.RPO != newest-start || loss.RPO <= 0 {
					t.Errorf("RPO %v, want %v (ack of newest lost minus newest earlier survivor)", loss.RPO, newest-start)
				}
				if !exists(t, s, "grid_writes") || !w.Table().Created() {
					t.Fatal("table not created by the probe")
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if exists(t, s, "grid_writes") {
					t.Error("table the probe created survived Close")
				}
			})

			t.Run("sql-writes keeps an existing table", func(t *testing.T) {
				s.Exec(t, "CREATE TABLE kept (run_id VARCHAR(191) NOT NULL, seq BIGINT NOT NULL, written_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (run_id, seq))",
					"INSERT INTO kept (run_id, seq) VALUES ('other-run', 1)")
				w := newProbe(t, WritesType(), &WritesConfig{Driver: driver, DSN: s.DSN(), Table: "kept"}).(*Writes)
				writeGrid(t, w, 10)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				present, err := w.ReadBack(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if loss := measure.ClassifyWrites(w.Writes(), present); loss.Lost != 0 || loss.Acknowledged != 10 || loss.Unexpected != 0 || loss.RPO != 0 {
					t.Fatalf("all rows present: %+v", loss)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if !exists(t, s, "kept") {
					t.Fatal("the probe dropped a table it did not create")
				}
				var own, other int
				db := s.Open(t)
				db.SQL().QueryRow(fmt.Sprintf("SELECT COUNT(*) FROM kept WHERE run_id = '%s'", w.Table().RunID())).Scan(&own)
				db.SQL().QueryRow("SELECT COUNT(*) FROM kept WHERE run_id = 'other-run'").Scan(&other)
				if own != 0 || other != 1 {
					t.Errorf("after Close: %d own rows (want 0), %d other rows (want 1)", own, other)
				}
			})

			t.Run("sql-writes never drops an existing empty table", func(t *testing.T) {
				s.Exec(t, "CREATE TABLE kept_empty (run_id VARCHAR(191) NOT NULL, seq BIGINT NOT NULL, written_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)")
				w := newProbe(t, WritesType(), &WritesConfig{Driver: driver, DSN: s.DSN(), Table: "kept_empty"}).(*Writes)
				writeGrid(t, w, 3)
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if !exists(t, s, "kept_empty") {
					t.Fatal("the probe dropped an existing table it had emptied of its own rows")
				}
			})

			t.Run("samples end with their ctx on a frozen server", func(t *testing.T) {
				p := newProbe(t, SQLType(), &SQLConfig{Driver: driver, DSN: s.DSN(), Query: "SELECT 1", Writable: true})
				w := newProbe(t, WritesType(), &WritesConfig{Driver: driver, DSN: s.DSN(), Table: "frozen_writes"}).(*Writes)
				if err := check(p, 5*time.Second); err != nil {
					t.Fatal(err)
				}
				if err := check(w, 5*time.Second); err != nil {
					t.Fatal(err)
				}
				s.Freeze()
				thawed := false
				defer func() {
					if !thawed {
						s.Thaw()
					}
				}()
				for _, pr := range []runner.Probe{p, w} {
					start := time.Now()
					err := check(pr, 300*time.Millisecond)
					// Generous bound: the point is "returns near its deadline", not how fast.
					if took := time.Since(start); took > 5*time.Second {
						t.Errorf("sample on a frozen server took %v with a 300ms ctx", took)
					}
					if err == nil || !strings.Contains(err.Error(), "timed out") {
						t.Errorf("sample on a frozen server: %v, want timed out", err)
					}
				}
				if got := w.Writes()[1].Outcome; got != measure.WriteTimedOut {
					t.Errorf("write cut off by its ctx classified %v, want timed-out (unknown)", got)
				}
				s.Thaw()
				thawed = true
				eventually(t, p, 30*time.Second)
				eventually(t, w, 30*time.Second)
			})

			t.Run("server stopped, restarted; refused write that reappears is recovered", func(t *testing.T) {
				p := newProbe(t, SQLType(), &SQLConfig{Driver: driver, DSN: s.DSN(), Query: "SELECT 1"})
				w := newProbe(t, WritesType(), &WritesConfig{Driver: driver, DSN: s.DSN(), Table: "stop_writes"}).(*Writes)
				writeGrid(t, w, 5)
				s.Stop(t)
				// Every pooled connection is dead now; a few samples drain them, then dials are
				// refused. Bounded: each attempt fails within its ctx.
				var err error
				for range 10 {
					if err = check(p, 2*time.Second); err == nil {
						t.Fatal("sql probe healthy against a stopped server")
					}
					noPassword(t, "sql, server stopped", err)
				}
				for range 10 {
					werr := check(w, 2*time.Second)
					if werr == nil {
						t.Fatal("write acknowledged by a stopped server")
					}
					noPassword(t, "sql-writes, server stopped", werr)
				}
				last := w.Writes()[len(w.Writes())-1]
				if last.Outcome != measure.WriteFailed {
					t.Errorf("write to a stopped server (connection refused) classified %v, want failed", last.Outcome)
				}
				s.Start(t)
				eventually(t, p, 30*time.Second)
				eventually(t, w, 30*time.Second)
				// The refused write's row shows up after all (as if a retry elsewhere applied
				// it): present but not acknowledged is recovered, not lost and not unexpected.
				s.Exec(t, fmt.Sprintf("INSERT INTO stop_writes (run_id, seq) VALUES ('%s', %d)", w.Table().RunID(), last.Seq))
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				present, rerr := w.ReadBack(ctx)
				if rerr != nil {
					t.Fatal(rerr)
				}
				loss := measure.ClassifyWrites(w.Writes(), present)
				if loss.Lost != 0 || loss.Recovered < 1 || loss.Unexpected != 0 {
					t.Fatalf("after restart: %+v, want nothing lost, the refused write recovered", loss)
				}
			})
		})
	}
}

// A PostgreSQL standby answers queries but is not writable: sql with writable fails, without it
// passes, and sql-writes' inserts are refused (failed, not unknown).
func TestPostgresStandby(t *testing.T) {
	t.Parallel()
	s := dbtest.Postgres(t, dbtest.PostgresOptions{})
	s.RestartAsStandby(t)
	rw := newProbe(t, SQLType(), &SQLConfig{Driver: "postgres", DSN: s.DSN(), Query: "SELECT 1", Writable: true})
	anyServer := newProbe(t, SQLType(), &SQLConfig{Driver: "postgres", DSN: s.DSN(), Query: "SELECT 1"})
	err := check(rw, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "in recovery") {
		t.Fatalf("writable probe on a standby: %v", err)
	}
	if err := check(anyServer, 5*time.Second); err != nil {
		t.Fatalf("plain probe on a standby: %v", err)
	}
	w := newProbe(t, WritesType(), &WritesConfig{Driver: "postgres", DSN: s.DSN(), Table: "drill_writes"}).(*Writes)
	if err := check(w, 5*time.Second); err == nil {
		t.Fatal("insert on a standby acknowledged")
	}
	if got := w.Writes()[0].Outcome; got != measure.WriteFailed {
		t.Errorf("insert refused by a standby classified %v, want failed", got)
	}
}

// Failover without a replication lab: a multi-host DSN with target_session_attrs=read-write
// over a primary A and an independent standby B. When A stops, the sql probe fails (no
// read-write server) until B is promoted, then reconnects to B by itself. sql-writes follows
// the same DSN, and reading back from B shows every write acknowledged by A as lost (B never
// had them), which is what a failover to a replica without those writes looks like.
func TestPostgresFailoverMultiHost(t *testing.T) {
	t.Parallel()
	a := dbtest.Postgres(t, dbtest.PostgresOptions{})
	b := dbtest.Postgres(t, dbtest.PostgresOptions{})
	b.RestartAsStandby(t)
	dsn := fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d,127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2&target_session_attrs=read-write",
		dbtest.Password, a.Port, b.Port)
	p := newProbe(t, SQLType(), &SQLConfig{Driver: "postgres", DSN: dsn, Query: "SELECT 1", Writable: true})
	w := newProbe(t, WritesType(), &WritesConfig{Driver: "postgres", DSN: dsn, Table: "failover_writes", ReadBackDSN: b.DSN()}).(*Writes)
	if err := check(p, 5*time.Second); err != nil {
		t.Fatalf("before failover: %v", err)
	}
	writeGrid(t, w, 10)

	a.Stop(t)
	var err error
	for range 10 {
		if err = check(p, 3*time.Second); err == nil {
			t.Fatal("healthy with the primary stopped and only a standby left")
		}
		noPassword(t, "no read-write server", err)
	}
	b.Exec(t, "SELECT pg_promote()")
	eventually(t, p, 30*time.Second)
	eventually(t, w, 30*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	present, err := w.ReadBack(ctx)
	if err != nil {
		t.Fatal(err)
	}
	loss := measure.ClassifyWrites(w.Writes(), present)
	if loss.Lost < 10 || len(present) == 0 || loss.Unexpected != 0 {
		t.Fatalf("after failover to a replica without A's writes: %+v (present %d), want A's 10 lost and B's present", loss, len(present))
	}
	for seq := uint64(1); seq <= 10; seq++ {
		if present[seq] {
			t.Errorf("seq %d, written to A, read back from B", seq)
		}
	}
}
