package pglab_test

import (
	"context"
	"fmt"
	"strings"
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

// eventually polls cond for up to 30s: replication is asynchronous and the machine may be slow,
// so tests wait for an outcome rather than time it.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s: %v", what, err)
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
