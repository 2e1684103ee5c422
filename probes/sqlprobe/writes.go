package sqlprobe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/drillhq/drill/backends/sqlenv"
	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// WritesConfig is the `with:` block of sql-writes.
type WritesConfig struct {
	Driver      string `yaml:"driver" doc:"postgres, or mysql for MySQL and MariaDB (required)"`
	DSN         string `yaml:"dsn" doc:"where to write (the primary); required unless a SQL lab supplies one. The password is never shown"`
	Table       string `yaml:"table" doc:"table of (run_id, seq, written_at), optionally schema.table; created when missing and then dropped at the end, an existing one is kept and only this run's rows are deleted. Quoted, so case-sensitive on postgres"`
	ReadBackDSN string `yaml:"readBackDsn" doc:"where to read the writes back after recovery, e.g. the promoted replica (default: dsn)"`
}

// Enums implements scenarios.Enumer.
func (*WritesConfig) Enums() map[string][]string { return driverEnums() }

// Validate implements scenarios.Validator.
func (c *WritesConfig) Validate() error {
	errs := validateConn(c.Driver, "dsn", c.DSN)
	if c.ReadBackDSN != "" && len(errs) == 0 {
		errs = append(errs, validateConn(c.Driver, "readBackDsn", c.ReadBackDSN)...)
	}
	if err := sqlenv.ValidateIdent(c.Table); err != nil {
		errs = append(errs, scenarios.ValueErrorf("table", "%v", err))
	}
	return errors.Join(errs...)
}

// cleanupTimeout bounds deleting this run's rows at the end; Close has no ctx of its own.
const cleanupTimeout = 30 * time.Second

// WritesType is the sql-writes probe (role data): each sample inserts the next sequenced row
// (seq assigned when the sample starts) in autocommit, with the probe's timeout as the
// per-write timeout, recording invoke time, ack time and outcome on the run clock. After
// recovery it reads back this run's rows so the runner classifies writes as lost, recovered or
// unexpected and computes the RPO, exactly as for etcd-writes. Its samples also give the
// client-side RTO: the first acknowledged insert invoked after t0.
func WritesType() runner.ProbeType {
	return runner.NewProbeType("sql-writes", "Sequenced SQL inserts with read-back: lost acknowledged writes and RPO (role data)",
		func() *WritesConfig { return &WritesConfig{Table: "drill_writes"} },
		func(cfg *WritesConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			dsn, err := resolveDSN(cfg.DSN, env)
			if err != nil {
				return nil, err
			}
			driver, _ := sqlenv.ParseDriver(cfg.Driver) // validated
			w, err := sqlenv.Open(driver, dsn, sqlenv.DefaultPool())
			if err != nil {
				return nil, err
			}
			r := w
			if cfg.ReadBackDSN != "" && cfg.ReadBackDSN != dsn {
				// Its own pool: the read-back target is typically a different server.
				if r, err = sqlenv.Open(driver, cfg.ReadBackDSN, sqlenv.Pool{MaxOpen: 2, MaxIdle: 1, MaxLifetime: time.Minute}); err != nil {
					w.Close()
					return nil, fmt.Errorf("readBackDsn: %w", err)
				}
			}
			name := "sql-writes"
			if env != nil && env.Scenario != nil {
				name = env.Scenario.Name
			}
			table, err := sqlenv.NewTable(w, r, cfg.Table, runID(name))
			if err != nil {
				w.Close()
				if r != w {
					r.Close()
				}
				return nil, err
			}
			var clock *runner.Clock
			var log *slog.Logger
			if env != nil {
				clock, log = env.Clock, env.Log
			}
			return newWrites(table, w, r, clock, log, spec.Timeout), nil
		}, runner.AsDataProbe())
}

// runID identifies this run's rows: the scenario name (shortened to fit run_id) and a random
// suffix, so two runs of one scenario against one table never mix.
func runID(scenario string) string {
	if len(scenario) > 100 {
		scenario = scenario[:100]
	}
	return fmt.Sprintf("%s-%016x", scenario, rand.Uint64())
}

// Writes is the sql-writes probe; it implements runner.DataProbe and runner.Closer.
type Writes struct {
	table   *sqlenv.Table
	write   *sqlenv.DB
	read    *sqlenv.DB
	writes  *measure.WriteLog
	log     *slog.Logger
	timeout time.Duration
}

func newWrites(table *sqlenv.Table, write, read *sqlenv.DB, clock *runner.Clock, log *slog.Logger, timeout time.Duration) *Writes {
	if clock == nil {
		clock = runner.NewClock()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Writes{table: table, write: write, read: read, writes: measure.NewWriteLog(clock.Now), log: log, timeout: timeout}
}

// Table is the table setup, read-back and cleanup work on.
func (w *Writes) Table() *sqlenv.Table { return w.table }

// Check inserts the next sequenced row. It is safe for concurrent calls: sampling is
// open-loop, so a write may start while earlier ones hang.
func (w *Writes) Check(ctx context.Context) error {
	seq := w.writes.Begin()
	err := w.table.Insert(ctx, seq)
	w.writes.End(ctx, seq, err, sqlenv.Outcome)
	return sampleError(ctx, w.write, fmt.Sprintf("insert seq %d", seq), w.timeout, err)
}

// Writes implements runner.DataProbe.
func (w *Writes) Writes() []measure.Write { return w.writes.Writes() }

// ReadBack implements runner.DataProbe: every seq of this run present in the table, read from
// readBackDsn, retried while the server is still recovering.
func (w *Writes) ReadBack(ctx context.Context) (map[uint64]bool, error) {
	return w.table.ReadBack(ctx)
}

// Close implements runner.Closer: deletes this run's rows (dropping the table if this run
// created it) and closes the pools. A failed cleanup is logged as well as returned, since the
// runner does not report Close errors and leftover rows or tables should not go unnoticed.
func (w *Writes) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	var err error
	if len(w.Writes()) > 0 {
		// Nothing written means nothing set up (e.g. a dry run): no statements to send.
		err = w.table.Cleanup(ctx)
		if err != nil {
			w.log.Warn("sql-writes: clean up table", "table", w.table.Name(), "run_id", w.table.RunID(), "err", err)
		}
	}
	cerr := w.write.Close()
	if w.read != w.write {
		cerr = errors.Join(cerr, w.read.Close())
	}
	return errors.Join(err, cerr)
}
