package sqlenv

import (
	"errors"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/drillhq/drill/runner"
)

// defaultDSNKey is the Env key under which a connector (the SQL lab) leaves the DSN of the
// server it started, so probes and faults without a `dsn:` of their own can reach it.
type defaultDSNKey struct{}

// SetDefaultDSN is called by the SQL connector once its server is reachable.
func SetDefaultDSN(env *runner.Env, dsn string) { env.Set(defaultDSNKey{}, dsn) }

// DefaultDSN returns the DSN a connector stored with SetDefaultDSN, if any.
func DefaultDSN(env *runner.Env) (string, bool) {
	if env == nil {
		return "", false
	}
	dsn, ok := env.Value(defaultDSNKey{}).(string)
	return dsn, ok && dsn != ""
}

// redacted is what a password is replaced with in anything shown to a person.
const redacted = "xxxxx"

// Redact returns dsn with its password replaced, for logs, events and error messages. A DSN the
// driver cannot parse is not shown at all: there is no telling where its password is.
func Redact(driver Driver, dsn string) string {
	if driver == Postgres && isURL(dsn) {
		u, err := url.Parse(dsn)
		if err != nil {
			return "<unparseable postgres URL>"
		}
		// Redacted covers user:password@ only; libpq also takes ?password=.
		out := u.Redacted()
		for _, v := range queryValues(out, "password") {
			if v != "" {
				out = strings.ReplaceAll(out, "password="+v, "password="+redacted)
			}
		}
		return out
	}
	secrets, err := passwords(driver, dsn)
	if err != nil {
		return "<unparseable " + string(driver) + " DSN>"
	}
	return scrub(dsn, secrets)
}

func isURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// passwords lists every spelling of the DSN's password that could appear in text: the value the
// driver parses and, where the DSN encodes it, the encoded form too.
func passwords(driver Driver, dsn string) ([]string, error) {
	var out []string
	switch driver {
	case Postgres:
		cfg, err := pgconn.ParseConfig(dsn)
		if err != nil {
			return nil, errors.New("unparseable")
		}
		out = append(out, cfg.Password) // includes PGPASSWORD and .pgpass, which errors could echo too
		if isURL(dsn) {
			if u, err := url.Parse(dsn); err == nil && u.User != nil {
				if _, ok := u.User.Password(); ok {
					raw := u.User.String()
					out = append(out, raw[strings.IndexByte(raw, ':')+1:])
				}
			}
			out = append(out, queryValues(dsn, "password")...)
		} else {
			// The literal spelling in a keyword/value string (quotes, escapes) is scrubbed too,
			// not only the parsed value. Compiled here: Redact runs a handful of times per drill.
			kw := regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s]+)`)
			for _, m := range kw.FindAllStringSubmatch(dsn, -1) {
				out = append(out, m[1])
			}
		}
	case MySQL:
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, errors.New("unparseable")
		}
		out = append(out, cfg.Passwd)
	default:
		return nil, errors.New("unknown driver")
	}
	return out, nil
}

// queryValues returns the raw (still encoded) values of key in a URL's query string.
func queryValues(dsn, key string) []string {
	_, q, ok := strings.Cut(dsn, "?")
	if !ok {
		return nil
	}
	var out []string
	for kv := range strings.SplitSeq(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k == key {
			out = append(out, v)
			if d, err := url.QueryUnescape(v); err == nil {
				out = append(out, d)
			}
		}
	}
	return out
}

// scrub replaces every non-empty secret in s, longest first so a password containing another
// one is not half-replaced.
func scrub(s string, secrets []string) string {
	sorted := append([]string(nil), secrets...)
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && len(sorted[j]) > len(sorted[j-1]); j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	for _, sec := range sorted {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}

// scrubbedError hides passwords in an error's text while keeping the chain for errors.Is/As,
// so a timeout is still recognised as one.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrubError returns err with every spelling of a password replaced in its message.
func scrubError(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := scrub(msg, secrets)
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}
