package sqlenv

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/scenarios"
)

func asFieldError(err error, fe *scenarios.FieldError) bool { return errors.As(err, fe) }

func TestParseDriverListsDrivers(t *testing.T) {
	for _, ok := range []string{"postgres", "mysql"} {
		if _, err := ParseDriver(ok); err != nil {
			t.Errorf("ParseDriver(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "postgresql", "mariadb", "MYSQL"} {
		_, err := ParseDriver(bad)
		if err == nil || !strings.Contains(err.Error(), "postgres, mysql") {
			t.Errorf("ParseDriver(%q) = %v, want an error listing postgres, mysql", bad, err)
		}
	}
}

func TestValidateIdent(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"drill_writes", true},
		{"_t1", true},
		{"Drill", true},
		{"public.drill_writes", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"1abc", false},
		{"a-b", false},
		{"a.b.c", false},
		{"a.", false},
		{".a", false},
		{`a"; DROP TABLE x; --`, false},
		{"a b", false},
		{"tåble", false},
	} {
		err := ValidateIdent(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateIdent(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// The writable check asks each server the right question and reads its answer the same way.
func TestWritableQueryAndReasons(t *testing.T) {
	if q := WritableQuery(Postgres); !strings.Contains(q, "pg_is_in_recovery()") || !strings.Contains(q, "transaction_read_only") {
		t.Errorf("postgres writable query %q", q)
	}
	if q := WritableQuery(MySQL); !strings.Contains(q, "'read_only'") || !strings.Contains(q, "'super_read_only'") {
		t.Errorf("mysql writable query %q", q)
	}
	for _, tc := range []struct {
		recovery bool
		txRO     string
		want     string
	}{
		{false, "off", ""},
		{true, "on", "in recovery"},
		{false, "on", "transaction_read_only=on"},
	} {
		got := postgresReadOnlyReason(tc.recovery, tc.txRO)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("postgres(recovery=%v, tx=%s) = %q, want %q", tc.recovery, tc.txRO, got, tc.want)
		}
	}
	for _, tc := range []struct {
		vars    map[string]string
		want    string
		wantErr bool
	}{
		{map[string]string{"read_only": "OFF"}, "", false},                               // MariaDB
		{map[string]string{"read_only": "OFF", "super_read_only": "OFF"}, "", false},     // MySQL
		{map[string]string{"read_only": "ON"}, "read_only=ON", false},                    // replica
		{map[string]string{"read_only": "NO_LOCK"}, "read_only=NO_LOCK", false},          // MariaDB 11 enum
		{map[string]string{"read_only": "OFF", "super_read_only": "ON"}, "super", false}, // fenced
		{map[string]string{"read_only": "0"}, "", false},
		{map[string]string{}, "", true},
	} {
		got, err := mysqlReadOnlyReason(tc.vars)
		if (err != nil) != tc.wantErr || (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("mysql(%v) = %q, %v; want %q (error %v)", tc.vars, got, err, tc.want, tc.wantErr)
		}
	}
}

// Outcome separates writes the server refused or never got (failed) from writes whose fate is
// unknown (timed out), which is what measure.ClassifyWrites needs.
func TestOutcome(t *testing.T) {
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want measure.Outcome
	}{
		{"ok", bg, nil, measure.WriteOK},
		{"postgres refused", bg, fmt.Errorf("insert: %w", &pgconn.PgError{Code: "25006"}), measure.WriteFailed},
		{"mysql refused", bg, fmt.Errorf("insert: %w", &mysql.MySQLError{Number: 1290}), measure.WriteFailed},
		{"setup failed", bg, notSentError{errors.New("create table: refused")}, measure.WriteFailed},
		{"setup timed out, insert never sent", expired, notSentError{context.Canceled}, measure.WriteFailed},
		{"bad conn (never sent)", bg, driver.ErrBadConn, measure.WriteFailed},
		{"dial refused", bg, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, measure.WriteFailed},
		{"sample deadline", expired, errors.New("read tcp: i/o timeout"), measure.WriteTimedOut},
		{"deadline in chain", bg, fmt.Errorf("x: %w", context.DeadlineExceeded), measure.WriteTimedOut},
		{"connection lost mid-statement", bg, io.ErrUnexpectedEOF, measure.WriteTimedOut},
		{"mysql invalid connection", bg, mysql.ErrInvalidConn, measure.WriteTimedOut},
		{"read reset", bg, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, measure.WriteTimedOut},
	} {
		if got := Outcome(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%s: Outcome = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNewTableQuotesPerDriver(t *testing.T) {
	for _, tc := range []struct {
		driver Driver
		name   string
		want   string
	}{
		{Postgres, "drill_writes", `"drill_writes"`},
		{Postgres, "ops.Drill", `"ops"."Drill"`},
		{MySQL, "drill_writes", "`drill_writes`"},
		{MySQL, "drill.t", "`drill`.`t`"},
	} {
		db := &DB{driver: tc.driver}
		tb, err := NewTable(db, nil, tc.name, "run")
		if err != nil {
			t.Fatal(err)
		}
		if tb.quoted != tc.want {
			t.Errorf("%s %q quoted as %s, want %s", tc.driver, tc.name, tb.quoted, tc.want)
		}
	}
	if _, err := NewTable(&DB{driver: MySQL}, nil, "x;y", "run"); err == nil {
		t.Error("NewTable accepted an invalid name")
	}
}
