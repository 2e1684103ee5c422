package sqlfault

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/drillhq/drill/backends/sqlenv"
	"github.com/drillhq/drill/internal/recovertest"
	"github.com/drillhq/drill/journal"
	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/pglab/pglabtest"
	"github.com/drillhq/drill/probes/sqlprobe"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

const library = "../../scenarios/library/postgres"

// registry holds what cmd/drill's registerSQL adds.
func registry(opts sqlenv.PostgresConnectorOptions) *runner.Registry {
	r := runner.NewRegistry()
	r.AddEnvironment(sqlenv.PostgresEnvironmentType())
	r.AddResource(sqlenv.PostgresLabResourceType())
	r.AddConnector(sqlenv.NewPostgresConnector(opts))
	r.AddFault(KillPrimaryType())
	r.AddFault(StallReplicationType())
	r.AddStep(PromoteType())
	r.AddProbe(sqlprobe.SQLType())
	r.AddProbe(sqlprobe.WritesType())
	return r
}

func TestShippedDrillsLoad(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(library, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		s, err := scenarios.Load(f, registry(sqlenv.PostgresConnectorOptions{}))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		names = append(names, s.Name)
		if e := sqlenv.PostgresOf(s); e == nil || e.Lab == nil || e.Lab.Standbys != 1 {
			t.Errorf("%s: shipped drills run on a lab with one standby, got %+v", f, e)
		}
	}
	want := []string{"postgres-async-failover", "postgres-sync-failover"}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Errorf("shipped drills %v, want %v", names, want)
	}
}

// TestShippedDrillsRun runs both failover drills through the real runner with the real sql and
// sql-writes probes: asynchronous replication loses the writes acknowledged during the stall,
// synchronous loses none, both pass, the promotion evidence is on the timeline, and no server
// process or lab directory is left behind. One after the other: two labs plus 20 ms write
// probes at once on two cores would measure the machine.
func TestShippedDrillsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two full drills (about 30 s)")
	}
	pglabtest.BinDir(t)
	for _, tt := range []struct {
		file     string
		wantLoss bool
	}{
		{"async-failover.yaml", true},
		{"sync-failover.yaml", false},
	} {
		t.Run(tt.file, func(t *testing.T) {
			root := t.TempDir()
			// The servers' user (postgres, under root) must reach the labs created in root.
			if err := chmodReachable(root); err != nil {
				t.Fatal(err)
			}
			reg := registry(sqlenv.PostgresConnectorOptions{LabRoot: root})
			s, err := scenarios.Load(filepath.Join(library, tt.file), reg)
			if err != nil {
				t.Fatal(err)
			}
			w, err := journal.Create(filepath.Join(t.TempDir(), "journal"), journal.RunInfo{RunID: "r1", System: s.System})
			if err != nil {
				t.Fatal(err)
			}
			res := runner.Run(context.Background(), s, runner.Options{Registry: reg, Journal: w, RunID: "r1"})
			if left := pglab.ProcessesUnder(root); len(left) > 0 {
				t.Errorf("postgres processes left behind: %v", left)
			}
			recovertest.AssertLabRemoved(t, w, sqlenv.PostgresLabResource)
			if left, _ := filepath.Glob(filepath.Join(root, "*")); len(left) != 0 {
				t.Errorf("lab files left behind: %v", left)
			}
			rpo, rto := res.Objectives.RPO, res.Objectives.RTO
			if res.Verdict != result.VerdictPass {
				t.Fatalf("verdict %s (%s); rto %+v rpo %+v; events: %+v", res.Verdict, res.Reason, rto, rpo, res.Events)
			}
			if rpo.AcknowledgedTotal == 0 || rpo.MeasuredMs == nil || rto.MeasuredMs == nil || !res.Rollback.Clean {
				t.Fatalf("rto %+v rpo %+v rollback %+v", rto, rpo, res.Rollback)
			}
			if tt.wantLoss != (rpo.LostWrites > 0) {
				t.Errorf("lost %d writes; want loss: %v", rpo.LostWrites, tt.wantLoss)
			}
			i := slices.IndexFunc(res.Events, func(e result.Event) bool {
				return strings.Contains(e.Message, "promoted standby pg2 (replay LSN ")
			})
			if i < 0 {
				t.Errorf("no timeline event records the promotion; events: %+v", res.Events)
			} else {
				t.Logf("evidence at %d ms: %s", res.Events[i].AtMs, res.Events[i].Message)
			}
			t.Logf("%s: RTO %d ms, RPO %d ms, %d of %d acknowledged writes lost", s.Name, *rto.MeasuredMs, *rpo.MeasuredMs, rpo.LostWrites, rpo.AcknowledgedTotal)
		})
	}
}

// chmodReachable opens a test's temp dir (and its 0700 parent) to other users' traversal.
func chmodReachable(dir string) error {
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := chmod(d); err != nil {
			return fmt.Errorf("make %s reachable: %w", d, err)
		}
	}
	return nil
}

func chmod(d string) error { return os.Chmod(d, 0o755) }
