package main

import (
	"github.com/drillhq/drill/backends/sqlenv"
	"github.com/drillhq/drill/faults/sqlfault"
	"github.com/drillhq/drill/probes/sqlprobe"
	"github.com/drillhq/drill/runner"
)

// sqlOptions carries the `drill run` flags the SQL backend needs.
type sqlOptions struct {
	keepLab bool // --keep-lab: leave a drill's postgres lab running afterwards
}

// registerSQL adds the SQL backend: the probe types (PostgreSQL, MySQL/MariaDB), the
// environment.postgres block with its connector (starts the replication lab of
// environment.postgres.lab, or hands environment.postgres.dsn to the types), and the lab's fault
// and step types. Nothing connects or starts here: probes connect on their first sample, the
// connector acts only when a scenario asks for postgres.
func registerSQL(r *runner.Registry, o sqlOptions) {
	r.AddEnvironment(sqlenv.PostgresEnvironmentType())
	r.AddResource(sqlenv.PostgresLabResourceType())
	r.AddConnector(sqlenv.NewPostgresConnector(sqlenv.PostgresConnectorOptions{KeepLab: o.keepLab}))

	r.AddFault(sqlfault.KillPrimaryType())
	r.AddFault(sqlfault.StallReplicationType())

	r.AddStep(sqlfault.PromoteType())

	r.AddProbe(sqlprobe.SQLType())
	r.AddProbe(sqlprobe.WritesType())
}
