package pglab

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// queryTimeout bounds one status query against a member: a stalled or dying server must not
// hold up a fault, a promotion or `drill lab status`.
const queryTimeout = 2 * time.Second

// connect opens a connection to one member.
func (l *Lab) connect(ctx context.Context, name string) (*pgx.Conn, error) {
	dsn, err := l.MemberDSN(name)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", name, err)
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", name, err)
	}
	return c, nil
}

// query runs one single-row query against a member on a fresh connection.
func (l *Lab) query(ctx context.Context, name, sql string, dest ...any) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	c, err := l.connect(ctx, name)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	if err := c.QueryRow(ctx, sql).Scan(dest...); err != nil {
		return fmt.Errorf("query %s: %w", name, err)
	}
	return nil
}

// exec runs statements in order against a member on one fresh connection.
func (l *Lab) exec(ctx context.Context, name string, sqls ...string) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	c, err := l.connect(ctx, name)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	for _, s := range sqls {
		if _, err := c.Exec(ctx, s); err != nil {
			return fmt.Errorf("on %s: %s: %w", name, s, err)
		}
	}
	return nil
}

// ParseLSN turns a pg_lsn text ("16/B374D848") into a byte position.
func ParseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("LSN %q: want HI/LO", s)
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("LSN %q: not hexadecimal", s)
	}
	return h<<32 | l, nil
}

// quoteLiteral quotes s as an SQL string literal (ALTER SYSTEM takes no parameters).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
