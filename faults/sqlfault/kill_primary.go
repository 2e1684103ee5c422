package sqlfault

import (
	"context"
	"fmt"

	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/runner"
)

// KillPrimaryType is the postgres-kill-primary fault (lab only): SIGKILL the primary's postmaster
// and every child at once, as a crashed host would. Its revert restarts the old primary as it
// was (crash recovery from its own data dir) unless a standby was promoted meanwhile: then it
// stays down, since starting it would make a second primary.
func KillPrimaryType() runner.FaultType {
	// No `with:`: the lab knows which member is the primary and which standbys stream.
	return runner.NewFaultType[struct{}]("postgres-kill-primary",
		"SIGKILL the PostgreSQL primary and all its processes; revert restarts it unless a standby was promoted (lab only)",
		nil,
		func(_ *struct{}, env *runner.Env) (runner.Fault, error) {
			return newKillPrimary(env)
		},
		runner.WithRecover(recoverKillPrimary))
}

// killPrimaryRecord is what postgres-kill-primary journals before the kill (see labRecord).
type killPrimaryRecord struct {
	labRecord
	Primary string `json:"primary"`
}

func recoverKillPrimary(ctx context.Context, env *runner.Env, rec *killPrimaryRecord) error {
	return recoverLab(ctx, env, rec.labRecord, func(ctx context.Context, lab *pglab.Lab) error {
		return restartPrimary(ctx, env, lab, rec.Primary)
	})
}

func newKillPrimary(env *runner.Env) (*killPrimary, error) {
	lab, err := labFrom(env, "postgres-kill-primary")
	if err != nil {
		return nil, err
	}
	return &killPrimary{lab: lab, env: env}, nil
}

type killPrimary struct {
	lab *pglab.Lab
	env *runner.Env
}

// Plan implements runner.Planner.
func (f *killPrimary) Plan(context.Context) ([]string, error) {
	return []string{f.lab.Primary().Name}, nil
}

func (f *killPrimary) Inject(ctx context.Context) (runner.Injection, error) {
	name := f.lab.Primary().Name
	if err := f.env.Journal(ctx, []string{name}, killPrimaryRecord{labRecord: labRecordOf(f.lab), Primary: name}); err != nil {
		return runner.Injection{}, err
	}
	inj := runner.Injection{Targets: []string{name}, Revert: func(ctx context.Context) error { return f.revert(ctx, name) }}
	res, err := f.lab.KillPrimary(ctx)
	if err != nil {
		return inj, fmt.Errorf("kill primary %s: %w", name, err)
	}
	if res.LSN != "" {
		f.env.Note("killed primary %s (%d processes) at WAL LSN %s", name, len(res.PIDs), res.LSN)
	}
	return inj, nil
}

// revert is idempotent: a primary already running (restarted by a recovery step) is left alone.
func (f *killPrimary) revert(ctx context.Context, name string) error {
	return restartPrimary(ctx, f.env, f.lab, name)
}

func restartPrimary(ctx context.Context, env *runner.Env, lab *pglab.Lab, name string) error {
	if p := lab.Primary().Name; p != name {
		env.Log.Info("postgres primary not restarted: a standby was promoted in its place", "killed", name, "primary", p)
		return nil
	}
	if _, err := lab.RestartPrimary(ctx); err != nil {
		return fmt.Errorf("restart primary %s: %w", name, err)
	}
	return nil
}
