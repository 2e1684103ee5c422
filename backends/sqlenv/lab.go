// Package sqlenv is the SQL backend's shared home: the environment.postgres block, the connector
// that starts a PostgreSQL replication lab (pglab) or points drills at an existing database,
// and the handle fault, step and probe types find in the runner's Env.
package sqlenv

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// PostgresEnv is the environment.postgres block: a lab started for the drill, or an existing
// database.
type PostgresEnv struct {
	Lab *PostgresLab `yaml:"lab" doc:"start a local primary with streaming standbys for the drill (PostgreSQL server binaries: make deps)"`
	DSN string       `yaml:"dsn" doc:"connection string of an existing database (postgres://... or key=value); lab-only faults then refuse to run"`
}

// PostgresLab is environment.postgres.lab.
type PostgresLab struct {
	Standbys    int  `yaml:"standbys" doc:"streaming standbys beside the primary (1 to 5; default 1)"`
	Synchronous bool `yaml:"synchronous" doc:"commits wait until a standby has flushed them (synchronous_standby_names), so a failover loses nothing"`
}

// NewPostgresEnv returns the block's defaults.
func NewPostgresEnv() *PostgresEnv { return &PostgresEnv{} }

// Validate implements scenarios.Validator.
func (e *PostgresEnv) Validate() error {
	var errs []error
	switch {
	case e.Lab != nil && e.DSN != "":
		errs = append(errs, scenarios.FieldErrorf("dsn", "set either lab (start a local primary and standbys) or dsn (use an existing database), not both"))
	case e.Lab == nil && e.DSN == "":
		errs = append(errs, scenarios.FieldErrorf("lab", "set lab (start a local primary and standbys) or dsn (use an existing database)"))
	}
	if e.Lab != nil && (e.Lab.Standbys < 0 || e.Lab.Standbys > pglab.MaxStandbys) {
		errs = append(errs, scenarios.FieldErrorf("lab.standbys", "must be between 1 and %d, got %d", pglab.MaxStandbys, e.Lab.Standbys))
	}
	if e.DSN != "" {
		// pgx redacts the password in its parse errors.
		if _, err := pgx.ParseConfig(e.DSN); err != nil {
			errs = append(errs, scenarios.FieldErrorf("dsn", "not a connection string pgx accepts: %v", err))
		}
	}
	return errors.Join(errs...)
}

// Postgres is what the postgres connector hands to types through the Env: the DSN clients use,
// and the lab when drill runs one (nil for an existing database).
type Postgres struct {
	// DSN reaches the database's writable member. For a lab it lists every member with
	// target_session_attrs=read-write, so it follows a promotion like a managed endpoint.
	DSN string
	Lab *pglab.Lab
}

// NeedLab returns the lab, or an error saying that what needs it cannot run against an existing
// database (killing a remote primary needs a way in: a `command` fault, or the AWS RDS fault).
func (p *Postgres) NeedLab(what string) (*pglab.Lab, error) {
	if p.Lab == nil {
		return nil, fmt.Errorf("%s needs the local lab (environment.postgres.lab); against an existing database (dsn) use a `command` fault or the AWS RDS fault to reach it", what)
	}
	return p.Lab, nil
}

type postgresKey struct{}

// PostgresFrom returns what the postgres connector stored in env.
func PostgresFrom(env *runner.Env) (*Postgres, error) {
	if p, ok := env.Value(postgresKey{}).(*Postgres); ok && p != nil {
		return p, nil
	}
	return nil, errors.New("no PostgreSQL database: the scenario needs an environment.postgres section (lab or dsn)")
}

// WithPostgres stores p in env the way the connector does (for tests and other connectors).
func WithPostgres(env *runner.Env, p *Postgres) { env.Set(postgresKey{}, p) }
