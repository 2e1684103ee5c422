package sqlenv

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/drillhq/drill/measure"
)

// ValidateIdent checks a table name: an identifier of letters, digits and underscores not
// starting with a digit, optionally qualified by a schema (PostgreSQL) or database (MySQL).
// Names are quoted in statements, so they are case-sensitive on PostgreSQL.
func ValidateIdent(name string) error {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return fmt.Errorf("%q: at most one dot (schema.table)", name)
	}
	for _, p := range parts {
		if p == "" {
			return fmt.Errorf("%q: empty identifier", name)
		}
		// 63 is PostgreSQL's limit (it would silently truncate); MySQL allows 64.
		if len(p) > 63 {
			return fmt.Errorf("%q: identifier longer than 63 characters", name)
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			if !letter && (i == 0 || c < '0' || c > '9') {
				return fmt.Errorf("%q: identifiers are [A-Za-z_][A-Za-z0-9_]*", name)
			}
		}
	}
	return nil
}

// Table is the sequenced-write table of one data probe run. Every row carries the run's id, so
// runs sharing a table never see each other's writes; the table is created when missing and
// dropped at the end only if this run created it.
type Table struct {
	write *DB // inserts, setup and cleanup
	read  *DB // read-back; may be the same DB
	name  string
	runID string

	quoted, schema, table string

	// sem serialises setup without a mutex: a sample waiting for another sample's CREATE TABLE
	// must still give up when its own ctx ends.
	sem     chan struct{}
	ready   bool // table known to exist with the expected columns
	created bool // this run created the table (so it may drop it)
}

// NewTable prepares the table logic without touching the database; setup happens on the first
// Insert, so building a probe in a dry run has no side effects.
func NewTable(write, read *DB, name, runID string) (*Table, error) {
	if err := ValidateIdent(name); err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	if read == nil {
		read = write
	}
	if read.driver != write.driver {
		return nil, fmt.Errorf("table %s: read-back driver %s differs from %s", name, read.driver, write.driver)
	}
	t := &Table{write: write, read: read, name: name, runID: runID, sem: make(chan struct{}, 1)}
	q := `"`
	if write.driver == MySQL {
		q = "`"
	}
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = q + p + q
	}
	t.quoted = strings.Join(parts, ".")
	if s, tbl, ok := strings.Cut(name, "."); ok {
		t.schema, t.table = s, tbl
	} else {
		t.table = name
	}
	return t, nil
}

// Name is the table name as configured.
func (t *Table) Name() string { return t.name }

// RunID is the value of run_id in this run's rows.
func (t *Table) RunID() string { return t.runID }

// Created reports whether this run created the table.
func (t *Table) Created() bool {
	t.sem <- struct{}{}
	defer func() { <-t.sem }()
	return t.created
}

// ph returns the n-th (1-based) bind placeholder of the write driver.
func (t *Table) ph(n int) string {
	if t.write.driver == Postgres {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

// Ensure makes sure the table exists with the columns the probe uses, creating it when
// missing. It is cheap once the table is known.
func (t *Table) Ensure(ctx context.Context) error {
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("table %s: wait for setup: %w", t.name, ctx.Err())
	}
	defer func() { <-t.sem }()
	if t.ready {
		return nil
	}
	exists, err := t.exists(ctx)
	if err != nil {
		return err
	}
	if !exists {
		_, err := t.write.db.ExecContext(ctx, t.createSQL())
		switch {
		case err == nil:
			t.created = true
		case isDuplicateTable(err):
			// Someone else created it between our check and our CREATE: not ours to drop.
		default:
			return t.write.Err("create table "+t.name, err)
		}
	}
	// A pre-existing table must have our columns, or every write would fail with a less clear
	// error, one sample at a time.
	probe := fmt.Sprintf("SELECT run_id, seq, written_at FROM %s WHERE 1 = 0", t.quoted)
	rows, err := t.write.db.QueryContext(ctx, probe)
	if err != nil {
		return t.write.Err("check columns (run_id, seq, written_at) of table "+t.name, err)
	}
	rows.Close()
	t.ready = true
	return nil
}

func (t *Table) exists(ctx context.Context) (bool, error) {
	var exists bool
	var err error
	switch t.write.driver {
	case Postgres:
		err = t.write.db.QueryRowContext(ctx, "SELECT to_regclass($1) IS NOT NULL", t.quoted).Scan(&exists)
	case MySQL:
		var schema any // nil: the DSN's database
		if t.schema != "" {
			schema = t.schema
		}
		var n int
		err = t.write.db.QueryRowContext(ctx,
			"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ?",
			schema, t.table).Scan(&n)
		exists = n > 0
	}
	if err != nil {
		return false, t.write.Err("look up table "+t.name, err)
	}
	return exists, nil
}

func (t *Table) createSQL() string {
	if t.write.driver == Postgres {
		return fmt.Sprintf(`CREATE TABLE %s (
	run_id text NOT NULL,
	seq bigint NOT NULL,
	written_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (run_id, seq))`, t.quoted)
	}
	// 191 characters keep the primary key within InnoDB's 767-byte index limit in utf8mb4.
	return fmt.Sprintf("CREATE TABLE %s (\n"+
		"\trun_id VARCHAR(191) NOT NULL,\n"+
		"\tseq BIGINT NOT NULL,\n"+
		"\twritten_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),\n"+
		"\tPRIMARY KEY (run_id, seq)) ENGINE=InnoDB", t.quoted)
}

// notSentError marks a write that never reached the server (setup failed first), so its
// outcome is a definite failure rather than unknown.
type notSentError struct{ err error }

func (e notSentError) Error() string { return e.err.Error() }
func (e notSentError) Unwrap() error { return e.err }

// Insert writes row seq of this run (autocommit: acknowledged means committed).
func (t *Table) Insert(ctx context.Context, seq uint64) error {
	if err := t.Ensure(ctx); err != nil {
		return notSentError{err}
	}
	q := fmt.Sprintf("INSERT INTO %s (run_id, seq) VALUES (%s, %s)", t.quoted, t.ph(1), t.ph(2))
	_, err := t.write.db.ExecContext(ctx, q, t.runID, int64(seq))
	if err != nil && isUndefinedTable(err) {
		// A restore to a point before the table existed: set it up again on the next write
		// (the rows lost with it are what the read-back reports).
		select {
		case t.sem <- struct{}{}:
			t.ready = false
			<-t.sem
		case <-ctx.Done():
		}
	}
	return t.write.Err(fmt.Sprintf("insert seq %d", seq), err)
}

// Outcome classifies a failed Insert for measure.ClassifyWrites: failed when the server
// refused the write or it was never sent, timed out (unknown: it may have committed) otherwise.
func Outcome(ctx context.Context, err error) measure.Outcome {
	if err == nil {
		return measure.WriteOK
	}
	var ns notSentError
	var pgErr *pgconn.PgError
	var myErr *mysql.MySQLError
	var opErr *net.OpError
	switch {
	case errors.As(err, &ns):
		return measure.WriteFailed
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return measure.WriteTimedOut
	case errors.As(err, &pgErr), errors.As(err, &myErr):
		return measure.WriteFailed
	case pgconn.SafeToRetry(err), errors.Is(err, driver.ErrBadConn):
		// Both promise that nothing was sent.
		return measure.WriteFailed
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return measure.WriteFailed
	}
	// The connection broke with the statement in flight: it may or may not have committed.
	return measure.WriteTimedOut
}

// readBackTimeout bounds the read-back when the caller's ctx has no deadline: right after a
// failover the new primary may still be starting.
const readBackTimeout = time.Minute

// ReadBack returns the sequence numbers of this run present in the table, retrying while the
// server is unreachable. A missing table means every row is gone (e.g. a restore to before it
// was created): that is data loss to report, not an error.
func (t *Table) ReadBack(ctx context.Context) (map[uint64]bool, error) {
	return measure.ReadBack(ctx, "table "+t.name, readBackTimeout, 200*time.Millisecond, t.readOnce, func(err error) bool {
		var bad badSeqError
		return errors.As(err, &bad) || permanent(err)
	})
}

// permanent reports errors that waiting will not cure, so the read-back fails at once instead
// of retrying until its deadline: rejected credentials, missing privileges, a wrong column or
// database. A server still starting up (PostgreSQL 57P03, connection errors) is retried.
func permanent(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "28"): // invalid authorization
			return true
		case pgErr.Code == "42501", pgErr.Code == "42703", pgErr.Code == "3D000": // privilege, column, database
			return true
		}
		return false
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case 1044, 1045, 1142, 1054, 1049: // access denied (db, user), table privilege, column, database
			return true
		}
	}
	return false
}

type badSeqError struct{ seq int64 }

func (e badSeqError) Error() string {
	return fmt.Sprintf("row with seq %d under this run id: sequence numbers start at 1", e.seq)
}

func (t *Table) readOnce(ctx context.Context) (map[uint64]bool, error) {
	ph := "$1"
	if t.read.driver == MySQL {
		ph = "?"
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rows, err := t.read.db.QueryContext(cctx, fmt.Sprintf("SELECT seq FROM %s WHERE run_id = %s", t.quoted, ph), t.runID)
	if err != nil {
		if isUndefinedTable(err) {
			return map[uint64]bool{}, nil
		}
		return nil, t.read.Err("select seqs", err)
	}
	defer rows.Close()
	present := map[uint64]bool{}
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, t.read.Err("scan seq", err)
		}
		if seq < 1 {
			return nil, badSeqError{seq}
		}
		present[uint64(seq)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, t.read.Err("select seqs", err)
	}
	return present, nil
}

// Cleanup deletes this run's rows and drops the table if this run created it and no other
// run's rows are left in it. It tries the
// write DSN, then the read-back one: after a failover only the latter may reach a primary.
func (t *Table) Cleanup(ctx context.Context) error {
	t.sem <- struct{}{}
	created := t.created
	<-t.sem
	err := t.cleanupOn(ctx, t.write, created)
	if err != nil && t.read != t.write {
		if err2 := t.cleanupOn(ctx, t.read, created); err2 == nil {
			return nil
		}
	}
	return err
}

func (t *Table) cleanupOn(ctx context.Context, db *DB, created bool) error {
	ph := "$1"
	if db.driver == MySQL {
		ph = "?"
	}
	_, err := db.db.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s WHERE run_id = %s", t.quoted, ph), t.runID)
	if isUndefinedTable(err) {
		return nil
	}
	if err != nil {
		return db.Err("delete rows of run "+t.runID+" from "+t.name, err)
	}
	if !created {
		return nil
	}
	// Another drill may have found our table and written to it meanwhile: its rows are not
	// ours to destroy, so the table stays until it is empty.
	var one int
	err = db.db.QueryRowContext(ctx, fmt.Sprintf("SELECT 1 FROM %s LIMIT 1", t.quoted)).Scan(&one)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return db.Err("check table "+t.name+" is empty", err)
	}
	if _, err := db.db.ExecContext(ctx, "DROP TABLE "+t.quoted); err != nil && !isUndefinedTable(err) {
		return db.Err("drop table "+t.name, err)
	}
	return nil
}

// isUndefinedTable: PostgreSQL undefined_table, MySQL ER_NO_SUCH_TABLE.
func isUndefinedTable(err error) bool {
	var pgErr *pgconn.PgError
	var myErr *mysql.MySQLError
	return (errors.As(err, &pgErr) && pgErr.Code == "42P01") || (errors.As(err, &myErr) && myErr.Number == 1146)
}

// isDuplicateTable: PostgreSQL duplicate_table, MySQL ER_TABLE_EXISTS_ERROR. PostgreSQL reports
// a concurrent CREATE of the same name as a unique violation on its catalog instead.
func isDuplicateTable(err error) bool {
	var pgErr *pgconn.PgError
	var myErr *mysql.MySQLError
	return (errors.As(err, &pgErr) && (pgErr.Code == "42P07" || pgErr.Code == "23505")) ||
		(errors.As(err, &myErr) && myErr.Number == 1050)
}
