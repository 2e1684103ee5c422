package sqlenv_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drillhq/drill/backends/sqlenv"
	"github.com/drillhq/drill/internal/dbtest"
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

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func tableExists(t *testing.T, db *sqlenv.DB, name string) bool {
	t.Helper()
	var n int
	q := "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = $1"
	if db.Driver() == sqlenv.MySQL {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
	}
	if err := db.SQL().QueryRowContext(ctxT(t), q, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func count(t *testing.T, db *sqlenv.DB, q string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(ctxT(t), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestTableOnRealServers(t *testing.T) {
	for _, srv := range servers() {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			s := srv.start(t)
			db := s.Open(t)

			t.Run("created when missing, dropped at the end", func(t *testing.T) {
				tb, err := sqlenv.NewTable(db, nil, "fresh_writes", "run-a")
				if err != nil {
					t.Fatal(err)
				}
				if tableExists(t, db, "fresh_writes") {
					t.Fatal("table exists before the first write: NewTable must not touch the database")
				}
				for seq := uint64(1); seq <= 5; seq++ {
					if err := tb.Insert(ctxT(t), seq); err != nil {
						t.Fatal(err)
					}
				}
				if !tb.Created() || !tableExists(t, db, "fresh_writes") {
					t.Fatalf("created=%v exists=%v after writes", tb.Created(), tableExists(t, db, "fresh_writes"))
				}
				got, err := tb.ReadBack(ctxT(t))
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 5 || !got[1] || !got[5] {
					t.Fatalf("read back %v, want seqs 1..5", got)
				}
				if err := tb.Cleanup(ctxT(t)); err != nil {
					t.Fatal(err)
				}
				if tableExists(t, db, "fresh_writes") {
					t.Fatal("table this run created is still there after cleanup")
				}
			})

			t.Run("existing table kept, only own rows deleted", func(t *testing.T) {
				s.Exec(t, "CREATE TABLE kept_writes (run_id VARCHAR(191) NOT NULL, seq BIGINT NOT NULL, written_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (run_id, seq))",
					"INSERT INTO kept_writes (run_id, seq) VALUES ('someone-else', 1), ('someone-else', 2)")
				tb, err := sqlenv.NewTable(db, nil, "kept_writes", "run-b")
				if err != nil {
					t.Fatal(err)
				}
				for seq := uint64(1); seq <= 3; seq++ {
					if err := tb.Insert(ctxT(t), seq); err != nil {
						t.Fatal(err)
					}
				}
				if tb.Created() {
					t.Fatal("pre-existing table reported as created by this run")
				}
				got, err := tb.ReadBack(ctxT(t))
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 3 {
					t.Fatalf("read back %v: other runs' rows must not count", got)
				}
				if err := tb.Cleanup(ctxT(t)); err != nil {
					t.Fatal(err)
				}
				if !tableExists(t, db, "kept_writes") {
					t.Fatal("pre-existing table was dropped")
				}
				if n := count(t, db, "SELECT COUNT(*) FROM kept_writes WHERE run_id = 'run-b'"); n != 0 {
					t.Errorf("%d own rows left after cleanup", n)
				}
				if n := count(t, db, "SELECT COUNT(*) FROM kept_writes WHERE run_id = 'someone-else'"); n != 2 {
					t.Errorf("other run's rows: %d left, want 2", n)
				}
			})

			t.Run("existing empty table kept", func(t *testing.T) {
				s.Exec(t, "CREATE TABLE empty_writes (run_id VARCHAR(191) NOT NULL, seq BIGINT NOT NULL, written_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)")
				tb, _ := sqlenv.NewTable(db, nil, "empty_writes", "run-i")
				if err := tb.Insert(ctxT(t), 1); err != nil {
					t.Fatal(err)
				}
				if err := tb.Cleanup(ctxT(t)); err != nil {
					t.Fatal(err)
				}
				if !tableExists(t, db, "empty_writes") {
					t.Fatal("pre-existing table dropped once it was empty again")
				}
				if n := count(t, db, "SELECT COUNT(*) FROM empty_writes"); n != 0 {
					t.Errorf("%d rows left", n)
				}
			})

			t.Run("created table with another run's rows is not dropped", func(t *testing.T) {
				tb, _ := sqlenv.NewTable(db, nil, "shared_writes", "run-c")
				if err := tb.Insert(ctxT(t), 1); err != nil {
					t.Fatal(err)
				}
				other, _ := sqlenv.NewTable(db, nil, "shared_writes", "run-d")
				if err := other.Insert(ctxT(t), 1); err != nil {
					t.Fatal(err)
				}
				if err := tb.Cleanup(ctxT(t)); err != nil {
					t.Fatal(err)
				}
				if !tableExists(t, db, "shared_writes") {
					t.Fatal("dropped a table another run still had rows in")
				}
				if err := other.Cleanup(ctxT(t)); err != nil {
					t.Fatal(err)
				}
			})

			t.Run("table with wrong columns is refused", func(t *testing.T) {
				s.Exec(t, "CREATE TABLE odd_writes (id INT)")
				tb, _ := sqlenv.NewTable(db, nil, "odd_writes", "run-e")
				err := tb.Insert(ctxT(t), 1)
				if err == nil || !strings.Contains(err.Error(), "run_id, seq, written_at") {
					t.Fatalf("insert into a table without our columns: %v", err)
				}
				if err := tb.Cleanup(ctxT(t)); err == nil {
					// DELETE ... WHERE run_id fails on a table without run_id; it must not drop it.
					t.Log("cleanup of foreign table returned nil")
				}
				if !tableExists(t, db, "odd_writes") {
					t.Fatal("foreign table dropped")
				}
			})

			t.Run("missing table reads back as nothing present", func(t *testing.T) {
				tb, _ := sqlenv.NewTable(db, nil, "never_created", "run-f")
				got, err := tb.ReadBack(ctxT(t))
				if err != nil || len(got) != 0 {
					t.Fatalf("ReadBack = %v, %v; want empty, nil", got, err)
				}
			})

			t.Run("table dropped mid-run is recreated", func(t *testing.T) {
				tb, _ := sqlenv.NewTable(db, nil, "dropped_writes", "run-g")
				if err := tb.Insert(ctxT(t), 1); err != nil {
					t.Fatal(err)
				}
				s.Exec(t, "DROP TABLE dropped_writes")
				if err := tb.Insert(ctxT(t), 2); err == nil {
					t.Fatal("insert into a dropped table succeeded")
				}
				if err := tb.Insert(ctxT(t), 3); err != nil {
					t.Fatalf("insert after the table was dropped: %v", err)
				}
				got, _ := tb.ReadBack(ctxT(t))
				if len(got) != 1 || !got[3] {
					t.Fatalf("read back %v, want only seq 3", got)
				}
				if err := tb.Cleanup(ctxT(t)); err != nil {
					t.Fatal(err)
				}
			})

			t.Run("wrong password never shown", func(t *testing.T) {
				const pw = "Wr0ng-pw-7781"
				bad, err := sqlenv.Open(db.Driver(), s.DSNWithPassword(pw), sqlenv.DefaultPool())
				if err != nil {
					t.Fatal(err)
				}
				defer bad.Close()
				errs := []error{bad.Query(ctxT(t), "SELECT 1"), bad.Writable(ctxT(t))}
				tb, _ := sqlenv.NewTable(bad, nil, "drill_writes", "run-h")
				errs = append(errs, tb.Insert(ctxT(t), 1), tb.Cleanup(ctxT(t)))
				// Rejected credentials are not retried until the deadline: the error comes back
				// before the ctx ends (generous deadline; no timing is asserted).
				long, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				_, rerr := tb.ReadBack(long)
				if long.Err() != nil {
					t.Errorf("read-back with a wrong password retried until its deadline: %v", rerr)
				}
				errs = append(errs, rerr)
				for i, err := range errs {
					if err == nil {
						t.Errorf("error %d: nil with a wrong password", i)
						continue
					}
					if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), dbtest.Password) {
						t.Errorf("error %d shows a password: %v", i, err)
					}
					if !strings.Contains(err.Error(), "xxxxx") {
						t.Errorf("error %d does not name the redacted DSN: %v", i, err)
					}
				}
			})

			t.Run("read only server", func(t *testing.T) {
				if err := db.Writable(ctxT(t)); err != nil {
					t.Fatalf("fresh server not writable: %v", err)
				}
				if db.Driver() == sqlenv.MySQL {
					s.Exec(t, "SET GLOBAL read_only = 1")
					defer s.Exec(t, "SET GLOBAL read_only = 0")
				} else {
					s.Exec(t, "ALTER SYSTEM SET default_transaction_read_only = on", "SELECT pg_reload_conf()")
					defer s.Exec(t, "ALTER SYSTEM RESET default_transaction_read_only", "SELECT pg_reload_conf()")
				}
				var ro *sqlenv.ReadOnlyError
				var err error
				// A config reload reaches existing sessions asynchronously: poll, bounded.
				for i := 0; i < 50; i++ {
					if err = db.Writable(ctxT(t)); errors.As(err, &ro) {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if !errors.As(err, &ro) {
					t.Fatalf("Writable on a read-only server = %v, want a ReadOnlyError", err)
				}
				t.Logf("read-only: %v", err)
			})
		})
	}
}

// A PostgreSQL standby (in recovery) is not writable and refuses the probe's inserts.
func TestPostgresStandbyIsNotWritable(t *testing.T) {
	t.Parallel()
	s := dbtest.Postgres(t, dbtest.PostgresOptions{})
	s.RestartAsStandby(t)
	db := s.Open(t)
	var ro *sqlenv.ReadOnlyError
	err := db.Writable(ctxT(t))
	if !errors.As(err, &ro) || !strings.Contains(ro.Reason, "recovery") {
		t.Fatalf("Writable on a standby = %v, want in recovery", err)
	}
	tb, _ := sqlenv.NewTable(db, nil, "drill_writes", "run")
	err = tb.Insert(ctxT(t), 1)
	if err == nil {
		t.Fatal("insert on a standby succeeded")
	}
	if got := sqlenv.Outcome(ctxT(t), err); got.String() != "failed" {
		t.Errorf("insert refused by a standby classified %v, want failed", got)
	}
}
