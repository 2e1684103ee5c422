package main

import (
	"github.com/drillhq/drill/probes/sqlprobe"
	"github.com/drillhq/drill/runner"
)

// registerSQL adds the SQL (PostgreSQL, MySQL/MariaDB) probe types. They connect lazily, on
// their first sample, so registering them costs nothing when a scenario does not use them.
func registerSQL(r *runner.Registry) {
	r.AddProbe(sqlprobe.SQLType())
	r.AddProbe(sqlprobe.WritesType())
}
