// Package sqlenv is the SQL backend's shared home: opening PostgreSQL and MySQL/MariaDB
// connections, redacting DSNs, telling a read-write primary from a read-only server, and the
// sequenced-write table that data probes use to measure RPO. Probes, faults and the SQL lab
// connector all build on it.
package sqlenv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Driver names a database protocol as written in scenarios.
type Driver string

const (
	Postgres Driver = "postgres"
	MySQL    Driver = "mysql" // MySQL and MariaDB
)

// Drivers lists the drivers a scenario may name, in the order error messages show them.
func Drivers() []Driver { return []Driver{Postgres, MySQL} }

// ParseDriver checks a scenario's `driver:` value.
func ParseDriver(s string) (Driver, error) {
	for _, d := range Drivers() {
		if string(d) == s {
			return d, nil
		}
	}
	names := make([]string, 0, 2)
	for _, d := range Drivers() {
		names = append(names, string(d))
	}
	return "", fmt.Errorf("must be one of %s, got %q", strings.Join(names, ", "), s)
}

// Pool bounds a DB's connections. Samples run open-loop, so when the server hangs, samples
// queue for a connection (bounded by their own timeout) instead of each opening one more.
type Pool struct {
	MaxOpen int
	MaxIdle int
	// MaxLifetime makes the pool re-dial periodically, so after a failover behind a DNS name or
	// a VIP the probe reaches the new primary within this long even when the old one still
	// accepts connections.
	MaxLifetime time.Duration
	MaxIdleTime time.Duration
}

// DefaultPool suits one probe sampling every few milliseconds to seconds: a few connections
// are plenty when the server answers, and eight bound the load a hung server sees from it.
func DefaultPool() Pool {
	return Pool{MaxOpen: 8, MaxIdle: 2, MaxLifetime: 10 * time.Second, MaxIdleTime: 5 * time.Second}
}

// DB is a connection pool to one DSN whose errors never carry the DSN's password.
type DB struct {
	driver  Driver
	db      *sql.DB
	label   string   // redacted DSN, prefixes errors
	secrets []string // every spelling of the password, scrubbed from errors
}

// CheckDSN reports whether the driver can parse dsn, without connecting. The error shows the
// DSN redacted, never its password (parse errors often quote their input).
func CheckDSN(driver Driver, dsn string) error {
	db, err := connector(driver, dsn)
	if err != nil {
		return err
	}
	// Closed at once: an open sql.DB keeps a goroutine, and validation runs per scenario load.
	return db.Close()
}

// Open returns a pool for dsn. It does not connect: the first query does, so building a
// probe in a dry run touches nothing.
func Open(driver Driver, dsn string, pool Pool) (*DB, error) {
	db, err := connector(driver, dsn)
	if err != nil {
		return nil, err
	}
	secrets, _ := passwords(driver, dsn) // parsed above, cannot fail here
	db.SetMaxOpenConns(pool.MaxOpen)
	db.SetMaxIdleConns(pool.MaxIdle)
	db.SetConnMaxLifetime(pool.MaxLifetime)
	db.SetConnMaxIdleTime(pool.MaxIdleTime)
	return &DB{driver: driver, db: db, label: string(driver) + " " + Redact(driver, dsn), secrets: secrets}, nil
}

// connector parses dsn with the driver's own parser and opens a database/sql pool on it.
func connector(driver Driver, dsn string) (*sql.DB, error) {
	switch driver {
	case Postgres:
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("parse postgres DSN %s: %w", Redact(driver, dsn), scrubParseError(driver, dsn, err))
		}
		return stdlib.OpenDB(*cfg), nil
	case MySQL:
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, fmt.Errorf("parse mysql DSN %s: %w", Redact(driver, dsn), scrubParseError(driver, dsn, err))
		}
		// The driver's default logger writes to stderr ("closing bad idle connection") in the
		// middle of drill's output; the errors that matter reach the caller anyway.
		cfg.Logger = &mysql.NopLogger{}
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, fmt.Errorf("mysql DSN %s: %w", Redact(driver, dsn), scrubParseError(driver, dsn, err))
		}
		return sql.OpenDB(c), nil
	default:
		_, err := ParseDriver(string(driver))
		return nil, fmt.Errorf("driver: %w", err)
	}
}

// scrubParseError hides the password in a parse error. A DSN that does not parse has no known
// password, so the error is replaced by one that cannot echo the input.
func scrubParseError(driver Driver, dsn string, err error) error {
	if secrets, perr := passwords(driver, dsn); perr == nil {
		return scrubError(err, secrets)
	}
	msg := err.Error()
	if strings.Contains(msg, dsn) || strings.Contains(dsn, "@") || strings.Contains(dsn, "password") {
		// The message may quote the DSN (or part of it) verbatim; say only what kind of error.
		return errors.New("invalid DSN (details withheld: they could contain the password)")
	}
	return err
}

// Driver is the protocol this DB speaks.
func (d *DB) Driver() Driver { return d.driver }

// String is the redacted DSN, safe for logs.
func (d *DB) String() string { return d.label }

// SQL exposes the pool for callers that need statements of their own (faults, the lab).
// Errors from it are not scrubbed: pass them through Err.
func (d *DB) SQL() *sql.DB { return d.db }

// Err wraps err with the operation and the redacted DSN, with any password removed.
func (d *DB) Err(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", d.label, op, scrubError(err, d.secrets))
}

// Close closes the pool.
func (d *DB) Close() error { return d.db.Close() }

// Query runs q and reads (at most maxRows of) its result, so a health query that returns rows
// is checked to the end: some errors only arrive with the rows.
func (d *DB) Query(ctx context.Context, q string) error {
	const maxRows = 1000
	rows, err := d.db.QueryContext(ctx, q)
	if err != nil {
		return d.Err("query", err)
	}
	for n := 0; n < maxRows && rows.Next(); n++ {
	}
	// Close before Err: leftover rows beyond maxRows are discarded, not an error.
	cerr := rows.Close()
	if err := rows.Err(); err != nil {
		return d.Err("query", err)
	}
	if cerr != nil {
		return d.Err("query", cerr)
	}
	return nil
}

// ReadOnlyError says the server answered but is not a read-write primary.
type ReadOnlyError struct {
	Reason string // "in recovery (a standby)", "read_only=ON", ...
}

func (e *ReadOnlyError) Error() string { return "server is not writable: " + e.Reason }

// Writable returns nil when the server behind the pool is a read-write primary, a
// *ReadOnlyError (wrapped) when it answers but refuses writes, or the query's error.
func (d *DB) Writable(ctx context.Context) error {
	reason, err := d.readOnlyReason(ctx)
	if err != nil {
		return d.Err("writable check", err)
	}
	if reason != "" {
		return d.Err("writable check", &ReadOnlyError{Reason: reason})
	}
	return nil
}

// WritableQuery is the statement Writable runs for a driver. A PostgreSQL server refuses
// writes when it is a standby (in recovery) and also when new transactions default to read
// only, which is how a primary is fenced without a restart. MySQL and MariaDB refuse them under
// read_only, and MySQL's super_read_only also covers users with SUPER; SHOW VARIABLES is used
// because selecting @@super_read_only fails on MariaDB, which has no such variable.
func WritableQuery(driver Driver) string {
	switch driver {
	case Postgres:
		return "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')"
	case MySQL:
		return "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only', 'super_read_only')"
	}
	return ""
}

func (d *DB) readOnlyReason(ctx context.Context) (string, error) {
	switch d.driver {
	case Postgres:
		var recovery bool
		var txReadOnly string
		if err := d.db.QueryRowContext(ctx, WritableQuery(Postgres)).Scan(&recovery, &txReadOnly); err != nil {
			return "", err
		}
		return postgresReadOnlyReason(recovery, txReadOnly), nil
	case MySQL:
		rows, err := d.db.QueryContext(ctx, WritableQuery(MySQL))
		if err != nil {
			return "", err
		}
		defer rows.Close()
		vars := map[string]string{}
		for rows.Next() {
			var name, value string
			if err := rows.Scan(&name, &value); err != nil {
				return "", err
			}
			vars[strings.ToLower(name)] = value
		}
		if err := rows.Err(); err != nil {
			return "", err
		}
		return mysqlReadOnlyReason(vars)
	}
	return "", fmt.Errorf("driver %q has no writable check", d.driver)
}

func postgresReadOnlyReason(inRecovery bool, transactionReadOnly string) string {
	switch {
	case inRecovery:
		return "in recovery (a standby)"
	case transactionReadOnly != "off":
		return "transaction_read_only=" + transactionReadOnly + " (default_transaction_read_only is set)"
	}
	return ""
}

// mysqlReadOnlyReason reads SHOW VARIABLES output. read_only must be present: a server that
// does not report it cannot be judged writable. MariaDB 11 turns read_only into an enum
// (OFF, ON, NO_LOCK, ...), so anything but OFF/0 counts as read-only.
func mysqlReadOnlyReason(vars map[string]string) (string, error) {
	ro, ok := vars["read_only"]
	if !ok {
		return "", errors.New("server did not report read_only")
	}
	if !isOff(ro) {
		return "read_only=" + ro, nil
	}
	if sro, ok := vars["super_read_only"]; ok && !isOff(sro) {
		return "super_read_only=" + sro, nil
	}
	return "", nil
}

func isOff(v string) bool { return strings.EqualFold(v, "OFF") || v == "0" }
