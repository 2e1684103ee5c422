// Package sqlprobe holds the SQL probe types: `sql` (availability: a query answers, optionally
// on a read-write primary) and `sql-writes` (data: sequenced inserts read back after recovery
// for RPO). Connections, redaction and the write table live in backends/sqlenv, shared with the
// SQL faults and lab; cmd/drill registers the types.
package sqlprobe

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/drillhq/drill/backends/sqlenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// validateConn checks the driver and, when given, that the DSN parses, for any probe config.
// An empty DSN is allowed here: a lab may supply one at build time, which the loader cannot
// know about.
// driverEnums is the Enums (scenarios.Enumer) of both SQL probe configs: the drivers sqlenv
// parses, so the schema offers exactly what validation accepts.
func driverEnums() map[string][]string {
	var names []string
	for _, d := range sqlenv.Drivers() {
		names = append(names, string(d))
	}
	return map[string][]string{"driver": names}
}

func validateConn(driver, dsnField, dsn string) []error {
	if driver == "" {
		return []error{scenarios.FieldErrorf("driver", "required: postgres or mysql")}
	}
	d, err := sqlenv.ParseDriver(driver)
	if err != nil {
		return []error{scenarios.ValueErrorf("driver", "%v", err)}
	}
	if dsn != "" {
		if err := sqlenv.CheckDSN(d, dsn); err != nil {
			return []error{scenarios.ValueErrorf(dsnField, "%v", err)}
		}
	}
	return nil
}

// resolveDSN returns the configured DSN, else the default a SQL lab stored in env.
func resolveDSN(dsn string, env *runner.Env) (string, error) {
	if dsn != "" {
		return dsn, nil
	}
	if d, ok := sqlenv.DefaultDSN(env); ok {
		return d, nil
	}
	return "", scenarios.FieldErrorf("dsn", "required: no SQL lab in this scenario supplies a default")
}

// sampleError turns an error caused by the sample's own deadline into "timed out after", which
// says more than the driver's "context deadline exceeded" or "i/o timeout".
func sampleError(ctx context.Context, db *sqlenv.DB, op string, timeout time.Duration, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if timeout > 0 {
			return fmt.Errorf("%s: %s: timed out after %v", db, op, timeout)
		}
		return fmt.Errorf("%s: %s: timed out", db, op)
	}
	return err
}
