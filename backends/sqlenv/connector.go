package sqlenv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/drillhq/drill/internal/labdir"
	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// PostgresConnectorOptions configure the postgres connector.
type PostgresConnectorOptions struct {
	// KeepLab leaves a lab started for a drill running afterwards (--keep-lab); `drill lab down
	// --postgres --dir DIR` removes it later.
	KeepLab bool
	// LabRoot is the parent of per-drill lab directories; empty: the system temp dir. When drill
	// runs as root the servers run as the postgres user, who must be able to reach it.
	LabRoot string
	// BinDir overrides the PostgreSQL binary search (pglab.FindBinDir).
	BinDir string
}

// PostgresConnector starts a replication lab for scenarios with environment.postgres.lab, or
// hands environment.postgres.dsn to the types.
type PostgresConnector struct{ opts PostgresConnectorOptions }

// NewPostgresConnector returns the postgres connector.
func NewPostgresConnector(opts PostgresConnectorOptions) *PostgresConnector {
	return &PostgresConnector{opts: opts}
}

// Name implements runner.Connector.
func (*PostgresConnector) Name() string { return "postgres" }

// Wants implements runner.Connector.
func (*PostgresConnector) Wants(s *scenarios.Scenario) bool {
	return s != nil && PostgresOf(s) != nil
}

// Connect implements runner.Connector.
func (c *PostgresConnector) Connect(ctx context.Context, env *runner.Env) (func(context.Context) error, error) {
	return c.connect(ctx, env, PostgresOf(env.Scenario))
}

// connect does the work of Connect for a decoded block (tests hand it one directly).
func (c *PostgresConnector) connect(ctx context.Context, env *runner.Env, cfg *PostgresEnv) (func(context.Context) error, error) {
	if cfg == nil {
		return nil, errors.New("environment.postgres: missing")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("environment.postgres: %w", err)
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// SetDefaultDSN: `sql` and `sql-writes` probes without a dsn: of their own reach this one.
	if cfg.Lab == nil {
		WithPostgresTarget(env, &PostgresTarget{DSN: cfg.DSN})
		SetDefaultDSN(env, cfg.DSN)
		return func(context.Context) error { return nil }, nil
	}
	root := c.opts.LabRoot
	if root != "" {
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, fmt.Errorf("postgres lab root: %w", err)
		}
	}
	if reaped, err := pglab.ReapOrphans(ctx, root, log); err != nil {
		log.Warn("orphaned postgres labs", "err", err)
	} else if len(reaped) > 0 {
		log.Info("removed postgres labs left by drills that died", "dirs", strings.Join(reaped, ","))
	}
	// Start creates and owns the directory itself (MkdirTemp's 0700 would keep out the servers'
	// user).
	dir, err := labdir.FreshName(root, "drill-pglab-"+dirSafe(env.Scenario.Name)+"-")
	if err != nil {
		return nil, fmt.Errorf("postgres lab: %w", err)
	}
	// Journaled before anything exists: a drill killed from here on, even before its first
	// fault, leaves a record `drill recover` removes the lab from.
	owner := 0
	if !c.opts.KeepLab {
		owner = os.Getpid()
	}
	if err := env.JournalResource(ctx, PostgresLabResource, []string{dir}, postgresLabRecord(dir, c.opts.KeepLab, owner, nil)); err != nil {
		return nil, err
	}
	lab, err := pglab.Start(ctx, pglab.Options{
		Dir:           dir,
		Standbys:      cfg.Lab.Standbys,
		Synchronous:   cfg.Lab.Synchronous,
		BinDir:        c.opts.BinDir,
		DieWithParent: !c.opts.KeepLab,
		Log:           log,
	})
	if err != nil {
		// Start cleans up after itself; only a directory still there is left for recover.
		if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
			env.ResourceRemoved(ctx, PostgresLabResource, "the lab failed to start and was cleaned up")
		}
		return nil, fmt.Errorf("start postgres lab: %w", err)
	}
	if err := env.JournalResource(ctx, PostgresLabResource, postgresLabTargets(lab), postgresLabRecord(dir, c.opts.KeepLab, owner, lab)); err != nil {
		if rerr := lab.Remove(context.WithoutCancel(ctx)); rerr == nil {
			env.ResourceRemoved(ctx, PostgresLabResource, "removed: its servers could not be journaled")
		}
		return nil, err
	}
	WithPostgresTarget(env, &PostgresTarget{DSN: lab.DSN(), Lab: lab})
	SetDefaultDSN(env, lab.DSN())
	log.Info("postgres lab started", "dir", lab.Dir(), "primary", lab.Primary().Name, "standbys", len(lab.Members())-1, "synchronous", cfg.Lab.Synchronous, "dsn", lab.DSN())
	return func(ctx context.Context) error {
		if c.opts.KeepLab {
			lab.Detach()
			log.Warn("postgres lab kept (--keep-lab); remove it with `drill lab down --postgres --dir "+lab.Dir()+"`", "dsn", lab.DSN())
			env.ResourceRemoved(ctx, PostgresLabResource, "kept (--keep-lab): `drill lab down --postgres --dir "+lab.Dir()+"` removes it")
			return nil
		}
		if err := lab.Remove(ctx); err != nil {
			return err // still journaled: drill recover finishes the job
		}
		env.ResourceRemoved(ctx, PostgresLabResource, "removed by the drill")
		return nil
	}, nil
}

// dirSafe keeps a scenario name usable inside a directory name.
func dirSafe(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, name)
}
