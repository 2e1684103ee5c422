package sqlenv

// This file: the environment.postgres block, and the handle (DSN, lab) the postgres connector
// leaves in the runner's Env for fault, step and probe types.

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

// SetDefaults implements scenarios.Defaulter: `lab:` alone asks for a primary and one standby.
func (l *PostgresLab) SetDefaults() { l.Standbys = pglab.DefaultStandbys }

// Validate implements scenarios.Validator.
func (e *PostgresEnv) Validate() error {
	var errs []error
	switch {
	case e.Lab != nil && e.DSN != "":
		errs = append(errs, scenarios.FieldErrorf("dsn", "set either lab (start a local primary and standbys) or dsn (use an existing database), not both"))
	case e.Lab == nil && e.DSN == "":
		errs = append(errs, scenarios.FieldErrorf("", "set lab (start a local primary and standbys) or dsn (use an existing database)"))
	}
	if e.Lab != nil && (e.Lab.Standbys < 1 || e.Lab.Standbys > pglab.MaxStandbys) {
		errs = append(errs, scenarios.ValueErrorf("lab.standbys", "must be between 1 and %d, got %d", pglab.MaxStandbys, e.Lab.Standbys))
	}
	if e.DSN != "" {
		// pgx redacts the password in its parse errors.
		if _, err := pgx.ParseConfig(e.DSN); err != nil {
			errs = append(errs, scenarios.ValueErrorf("dsn", "not a connection string pgx accepts: %v", err))
		}
	}
	return errors.Join(errs...)
}

// postgresBlock is the block's name under `environment:`.
const postgresBlock = "postgres"

// PostgresEnvironmentType declares the `environment.postgres` block to the registry.
func PostgresEnvironmentType() runner.EnvironmentType {
	return runner.NewEnvironmentType(postgresBlock, "a PostgreSQL database: a local primary with streaming standbys started for the drill, or an existing one (dsn)", NewPostgresEnv)
}

// PostgresOf returns the scenario's `environment.postgres` block, or nil.
func PostgresOf(s *scenarios.Scenario) *PostgresEnv {
	return runner.EnvironmentOf[PostgresEnv](s, postgresBlock)
}

// PostgresTarget is what the postgres connector hands to types through the Env: the DSN clients
// use, and the lab when drill runs one (nil for an existing database).
type PostgresTarget struct {
	// DSN reaches the database's writable member. For a lab it lists every member with
	// target_session_attrs=read-write, so it follows a promotion like a managed endpoint.
	DSN string
	Lab *pglab.Lab
}

// NeedLab returns the lab, or an error saying that what needs it cannot run against an existing
// database (killing a remote primary needs a way in: a `command` fault, or the AWS RDS fault).
func (p *PostgresTarget) NeedLab(what string) (*pglab.Lab, error) {
	if p.Lab == nil {
		return nil, fmt.Errorf("%s needs the local lab (environment.postgres.lab); against an existing database (dsn) use a `command` fault or the AWS RDS fault to reach it", what)
	}
	return p.Lab, nil
}

type postgresKey struct{}

// PostgresTargetFrom returns what the postgres connector stored in env.
func PostgresTargetFrom(env *runner.Env) (*PostgresTarget, error) {
	if p, ok := env.Value(postgresKey{}).(*PostgresTarget); ok && p != nil {
		return p, nil
	}
	return nil, errors.New("no PostgreSQL database: the scenario needs an environment.postgres section (lab or dsn)")
}

// WithPostgresTarget stores p in env the way the connector does (for tests and other connectors).
func WithPostgresTarget(env *runner.Env, p *PostgresTarget) { env.Set(postgresKey{}, p) }
