package history

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/drillhq/drill/result"
)

// TestWriteSyntheticHistory writes synthetic drill.result/v1 files for scale measurements
// with `drill history import`: DRILL_SYNTH_OUT=dir DRILL_SYNTH_RUNS=10000 go test -run
// TestWriteSyntheticHistory ./history/. Runs are copies of the reporters' pass fixture (so
// each document is as large as a real one) over 50 systems, one scenario each, every 4 hours
// back from now, about one in ten failing. Skipped unless DRILL_SYNTH_OUT is set.
func TestWriteSyntheticHistory(t *testing.T) {
	dir := os.Getenv("DRILL_SYNTH_OUT")
	if dir == "" {
		t.Skip("DRILL_SYNTH_OUT not set")
	}
	n, err := strconv.Atoi(os.Getenv("DRILL_SYNTH_RUNS"))
	if err != nil || n <= 0 {
		t.Fatalf("DRILL_SYNTH_RUNS=%q: want a positive count", os.Getenv("DRILL_SYNTH_RUNS"))
	}
	tmpl, err := os.ReadFile(filepath.Join("..", "reporters", "testdata", "pass.json"))
	if err != nil {
		t.Fatal(err)
	}
	const systems, perFile = 50, 1000
	now := time.Now().UTC().Truncate(time.Hour)
	var batch []*result.Result
	flush := func(i int) {
		doc, err := json.Marshal(batch)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("runs-%06d.json", i)), doc, 0o600); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range n {
		var r result.Result
		if err := json.Unmarshal(tmpl, &r); err != nil {
			t.Fatal(err)
		}
		sys := i % systems
		// Oldest first; one run every 4 hours spread over the systems.
		at := now.Add(-time.Duration(n-i) * 4 * time.Hour / systems)
		r.RunID = fmt.Sprintf("synth-%07d", i)
		r.System = fmt.Sprintf("system-%02d", sys)
		r.Scenario = fmt.Sprintf("scenario-%02d", sys)
		r.Cadence = []string{"weekly", "monthly", "quarterly"}[sys%3]
		r.StartedAt, r.FinishedAt = at, at.Add(3*time.Minute)
		r.T0 = at.Add(30 * time.Second).Format(result.T0Layout)
		if i%10 == 7 {
			r.Verdict, r.Reason = result.VerdictFail, "RTO exceeded"
			r.Objectives.RTO.Met = false
		}
		batch = append(batch, &r)
		if len(batch) == perFile {
			flush(i)
		}
	}
	if len(batch) > 0 {
		flush(n)
	}
}
