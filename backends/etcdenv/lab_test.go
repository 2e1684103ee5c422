package etcdenv

import (
	"testing"

	"github.com/drillhq/drill/internal/recovertest"
)

// TestRecoverLabRecord: the etcd lab record's recover on what a killed drill leaves without a
// running member.
func TestRecoverLabRecord(t *testing.T) {
	t.Parallel()
	recovertest.LabRecordCases(t, LabResourceType(), []string{"members", "logs", "snapshots"}, func(dir string, keep bool) any {
		return LabRecord{Dir: dir, OwnerPID: 4242, Keep: keep}
	})
}
