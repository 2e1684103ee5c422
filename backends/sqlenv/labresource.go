package sqlenv

// This file: the PostgreSQL lab as a journaled resource, so that a drill killed before any fault
// was journaled (in steady state, or while the lab was still starting) still leaves a record that
// `drill recover` removes the lab from, and `drill run` refuses the system until it has.

import (
	"context"
	"errors"
	"fmt"

	"github.com/drillhq/drill/internal/labdir"
	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/runner"
)

// PostgresLabResource is the journal type of a PostgreSQL lab a drill started.
const PostgresLabResource = "postgres-lab"

// PostgresLabRecord is what the connector journals before creating the lab directory, then
// again once the servers run (with their pids and ports).
type PostgresLabRecord struct {
	Dir string `json:"dir"`
	// OwnerPID is the drill process the servers die with; the lab's state file must name the
	// same, or the directory now belongs to another lab and recover does not touch it.
	OwnerPID int `json:"ownerPid,omitempty"`
	// Keep is --keep-lab: the user asked for the lab to outlive the drill, so recover leaves it
	// running (`drill lab down --postgres --dir` removes it).
	Keep    bool                `json:"keep,omitempty"`
	Members []PostgresLabMember `json:"members,omitempty"`
}

// PostgresLabMember is one server as started.
type PostgresLabMember struct {
	Name string `json:"name"`
	Role string `json:"role"`
	PID  int    `json:"pid"`
	Port int    `json:"port"`
}

// PostgresLabResourceType declares the PostgreSQL lab to the registry, for `drill recover`.
func PostgresLabResourceType() runner.ResourceType {
	return runner.NewResourceType(PostgresLabResource, "a local PostgreSQL primary and standbys started for a drill (environment.postgres.lab)", recoverPostgresLab)
}

func postgresLabRecord(dir string, keep bool, ownerPID int, lab *pglab.Lab) PostgresLabRecord {
	rec := PostgresLabRecord{Dir: dir, Keep: keep, OwnerPID: ownerPID}
	if lab != nil {
		for _, m := range lab.Members() {
			rec.Members = append(rec.Members, PostgresLabMember{Name: m.Name, Role: string(m.Role), PID: m.PID, Port: m.Port})
		}
	}
	return rec
}

// postgresLabTargets names the lab for `drill recover --list`: its directory and servers.
func postgresLabTargets(lab *pglab.Lab) []string {
	t := []string{lab.Dir()}
	for _, m := range lab.Members() {
		t = append(t, fmt.Sprintf("%s 127.0.0.1:%d", m.Name, m.Port))
	}
	return t
}

// recoverPostgresLab removes the drill's lab: servers (pid-checked from the lab's state file,
// then anything still running from its directory, initdb or pg_basebackup of a lab killed while
// starting included), their shared memory, the directory. A lab already gone is a no-op.
func recoverPostgresLab(ctx context.Context, env *runner.Env, rec *PostgresLabRecord) error {
	return labdir.Recovery{
		Kind: "postgres lab", Dir: rec.Dir, OwnerPID: rec.OwnerPID, Keep: rec.Keep,
		DownCmd: "drill lab down --postgres --dir " + rec.Dir,
		Open: func() (bool, int, func(context.Context) error, error) {
			lab, err := pglab.Open(rec.Dir, env.Log)
			if errors.Is(err, pglab.ErrNoLab) {
				return false, 0, nil, nil
			}
			if err != nil {
				return false, 0, nil, err
			}
			return true, lab.State().OwnerPID, lab.Remove, nil
		},
		Leftovers: func() string {
			if left := pglab.ProcessesUnder(rec.Dir); len(left) > 0 {
				return fmt.Sprint(left)
			}
			return ""
		},
		RemoveUnstarted: func() error { return pglab.RemoveUnstarted(rec.Dir) },
	}.Recover(ctx, env.Log)
}
