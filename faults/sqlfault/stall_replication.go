package sqlfault

import (
	"context"
	"fmt"

	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/runner"
)

// StallReplicationType is the postgres-stall-replication fault (lab only): SIGSTOP the primary's
// walsenders, so standbys keep their connections but fall behind, as over a congested
// cross-region link; a synchronous primary's commits wait. Revert resumes them; a primary killed
// in the meantime took them with it, and that is not an error.
func StallReplicationType() runner.FaultType {
	// No `with:`: the lab knows which member is the primary and which standbys stream.
	return runner.NewFaultType[struct{}]("postgres-stall-replication",
		"Freeze (SIGSTOP) the primary's WAL senders: standbys fall behind, synchronous commits wait; revert resumes (lab only)",
		nil,
		func(_ *struct{}, env *runner.Env) (runner.Fault, error) {
			lab, err := labFrom(env, "postgres-stall-replication")
			if err != nil {
				return nil, err
			}
			return &stallReplication{lab: lab, env: env}, nil
		},
		runner.WithRecover(recoverStallReplication))
}

// stallReplicationRecord is what postgres-stall-replication journals before freezing the WAL
// senders (see labRecord).
type stallReplicationRecord struct {
	labRecord
}

func recoverStallReplication(ctx context.Context, env *runner.Env, rec *stallReplicationRecord) error {
	return recoverLab(ctx, env, rec.labRecord, resumeReplication)
}

func resumeReplication(ctx context.Context, lab *pglab.Lab) error {
	if err := lab.ResumeReplication(ctx); err != nil {
		return fmt.Errorf("resume replication: %w", err)
	}
	return nil
}

type stallReplication struct {
	lab *pglab.Lab
	env *runner.Env
}

// Plan implements runner.Planner: the running standbys, whose streams the fault would stall.
func (f *stallReplication) Plan(context.Context) ([]string, error) {
	var standbys []string
	for _, m := range f.lab.Members() {
		if m.Role == pglab.RoleStandby && f.lab.Running(m.Name) {
			standbys = append(standbys, m.Name)
		}
	}
	if len(standbys) == 0 {
		return nil, fmt.Errorf("no running standby to stall replication to")
	}
	return standbys, nil
}

func (f *stallReplication) Inject(ctx context.Context) (runner.Injection, error) {
	if err := f.env.Journal(ctx, nil, stallReplicationRecord{labRecordOf(f.lab)}); err != nil {
		return runner.Injection{}, err
	}
	inj := runner.Injection{Revert: func(ctx context.Context) error { return resumeReplication(ctx, f.lab) }}
	standbys, err := f.lab.StallReplication(ctx)
	inj.Targets = standbys
	if err != nil {
		return inj, fmt.Errorf("stall replication from %s: %w", f.lab.Primary().Name, err)
	}
	return inj, nil
}
