package main

import (
	"github.com/drillhq/drill/backends/sqlenv"
	"github.com/drillhq/drill/faults/sqlfault"
	"github.com/drillhq/drill/runner"
)

// postgresOptions carries the `drill run` flags the postgres connector needs.
type postgresOptions struct {
	keepLab bool // --keep-lab: leave a drill's lab running afterwards
}

// registerPostgres adds the environment.postgres block, its connector (starts the replication
// lab of environment.postgres.lab, or hands environment.postgres.dsn to the types) and the lab's
// fault and step types. Nothing is started here: the connector acts only when a scenario asks
// for postgres.
func registerPostgres(r *runner.Registry, o postgresOptions) {
	r.AddEnvironment(sqlenv.PostgresEnvironmentType())
	r.AddConnector(sqlenv.NewPostgresConnector(sqlenv.PostgresConnectorOptions{KeepLab: o.keepLab}))

	r.AddFault(sqlfault.KillPrimaryType())
	r.AddFault(sqlfault.StallReplicationType())

	r.AddStep(sqlfault.PromoteType())
}
