package sqlenv

import (
	"testing"

	"github.com/drillhq/drill/internal/recovertest"
)

// TestRecoverPostgresLabRecord: the PostgreSQL lab record's recover on what a killed drill
// leaves without a running server.
func TestRecoverPostgresLabRecord(t *testing.T) {
	t.Parallel()
	recovertest.LabRecordCases(t, PostgresLabResourceType(), []string{"members", "logs", "run"}, func(dir string, keep bool) any {
		return PostgresLabRecord{Dir: dir, OwnerPID: 4242, Keep: keep}
	})
}
