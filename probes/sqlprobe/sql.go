package sqlprobe

import (
	"context"
	"errors"
	"time"

	"github.com/drillhq/drill/backends/sqlenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// SQLConfig is the `with:` block of the sql probe.
type SQLConfig struct {
	Driver   string `yaml:"driver" doc:"postgres, or mysql for MySQL and MariaDB (required)"`
	DSN      string `yaml:"dsn" doc:"connection string: postgres://user:pw@host:5432/db?sslmode=disable or host=... keywords; mysql: user:pw@tcp(host:3306)/db. Required unless a SQL lab supplies one. The password is never shown"`
	Query    string `yaml:"query" doc:"statement a healthy server answers; every row it returns is read (up to 1000)"`
	Writable bool   `yaml:"writable" doc:"also require a read-write primary: not in recovery and transactions not read-only (postgres), read_only and super_read_only off (mysql)"`
}

// Enums implements scenarios.Enumer.
func (*SQLConfig) Enums() map[string][]string { return driverEnums() }

// Validate implements scenarios.Validator.
func (c *SQLConfig) Validate() error {
	errs := validateConn(c.Driver, "dsn", c.DSN)
	if c.Query == "" {
		errs = append(errs, scenarios.ValueErrorf("query", "must not be empty"))
	}
	return errors.Join(errs...)
}

// SQLType is the `sql` probe (role availability): healthy when the query succeeds within the
// sample's timeout and, with writable, the server accepts writes.
func SQLType() runner.ProbeType {
	return runner.NewProbeType("sql", "SQL query (PostgreSQL, MySQL/MariaDB); healthy when it answers, optionally on a writable primary",
		func() *SQLConfig { return &SQLConfig{Query: "SELECT 1"} },
		func(cfg *SQLConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			dsn, err := resolveDSN(cfg.DSN, env)
			if err != nil {
				return nil, err
			}
			driver, _ := sqlenv.ParseDriver(cfg.Driver) // validated
			db, err := sqlenv.Open(driver, dsn, sqlenv.DefaultPool())
			if err != nil {
				return nil, err
			}
			return &sqlProbe{db: db, query: cfg.Query, writable: cfg.Writable, timeout: spec.Timeout}, nil
		})
}

type sqlProbe struct {
	db       *sqlenv.DB
	query    string
	writable bool
	timeout  time.Duration
}

// Check runs the query, then the writable check. Both share the sample's deadline.
func (p *sqlProbe) Check(ctx context.Context) error {
	if err := p.db.Query(ctx, p.query); err != nil {
		return sampleError(ctx, p.db, "query", p.timeout, err)
	}
	if p.writable {
		return sampleError(ctx, p.db, "writable check", p.timeout, p.db.Writable(ctx))
	}
	return nil
}

// Close implements runner.Closer.
func (p *sqlProbe) Close() error { return p.db.Close() }
