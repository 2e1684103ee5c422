package faults

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drillhq/drill/internal/recovertest"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// The command fault journals its revert script, as expanded, before running `run`; the type's
// Recover runs it from another process (here: another working directory) and twice is harmless.
func TestCommandFaultJournalsAndRecovers(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	marker := filepath.Join(work, "marker")

	typ := CommandFaultType()
	cfg := typ.NewConfig().(*CommandFaultConfig)
	cfg.Run, cfg.Revert = "touch marker", "rm -f marker"
	res, run := recovertest.Run(t, recovertest.Drill{Type: typ, With: cfg,
		Limits: scenarios.Limits{Timeout: 10 * time.Second, Observe: 10 * time.Millisecond, Rollback: 10 * time.Second}})
	if !res.Rollback.Clean {
		t.Fatalf("rollback %+v", res.Rollback)
	}
	rec := recovertest.Record(t, run)
	if len(run.Pending()) != 0 {
		t.Fatalf("journal faults %+v, want f injected and reverted", run.Faults)
	}
	if !strings.Contains(string(rec), `"revert":"rm -f marker"`) || !strings.Contains(string(rec), work) {
		t.Fatalf("record %s lacks the revert script or the working directory", rec)
	}

	// A killed drill left the marker; recover runs from elsewhere.
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	recovertest.RecoverTwice(t, typ, rec, 10*time.Second, func(round int) {
		if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("recover #%d left the marker: %v", round, err)
		}
	})
}

func TestCommandRecoverReportsAFailingScript(t *testing.T) {
	err := CommandFaultType().Recover(t.Context(), runner.NewEnv(nil, nil), []byte(`{"revert":"SECRET=hunter2; echo nope >&2; exit 4","dir":"/","timeoutMs":5000}`))
	if err == nil || !strings.Contains(err.Error(), "exited 4") || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err %v, want the exit status and stderr", err)
	}
	// The script may hold expanded ${VAR} values: the journal keeps them, errors never show them.
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the journaled script: %v", err)
	}
}
