// Package sqlfault holds the SQL backend's fault and step types for the local PostgreSQL
// replication lab: killing the primary, stalling replication as a congested link would, and the
// failover runbook's promotion.
package sqlfault

import (
	"github.com/drillhq/drill/backends/sqlenv"
	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/runner"
)

// labFrom returns the lab from the env, or an error naming the type that needs it.
func labFrom(env *runner.Env, typ string) (*pglab.Lab, error) {
	p, err := sqlenv.PostgresTargetFrom(env)
	if err != nil {
		return nil, err
	}
	return p.NeedLab(typ)
}
