package reporters

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/drillhq/drill/result"
)

// An RPO measured from a restore point says so in the console and in JUnit: no writes were
// counted, so "0 lost writes" would be misleading.
func TestRPOFromRestorePointIsLabelled(t *testing.T) {
	r := noDisruptionResult()
	r.Verdict, r.Reason = result.VerdictFail, "RPO 26h0m0s exceeds target 25h0m0s"
	at := fixtureStart.Add(-26 * time.Hour)
	r.Objectives.RPO = result.RPO{TargetMs: i64(25 * 3600_000), MeasuredMs: i64(26 * 3600_000), Source: result.RPOSourceRestorePoint, RestorePoint: &at, RestoredFrom: "snapshot snap-1 of vol-1"}
	var sum, junit bytes.Buffer
	if err := WriteSummary(&sum, []*result.Result{r}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJUnit(&junit, []*result.Result{r}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sum.String(), "(restore point)") || strings.Contains(sum.String(), "lost write") {
		t.Errorf("summary does not label the restore point:\n%s", sum.String())
	}
	for _, want := range []string{"exceeds target 25h0m0s (restore point)", "source: restore-point", "restore point: 2026-05-03T08:00:00Z (snapshot snap-1 of vol-1)"} {
		if !strings.Contains(junit.String(), want) {
			t.Errorf("JUnit lacks %q:\n%s", want, junit.String())
		}
	}
}
