package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drillhq/drill/compliance"
	"github.com/drillhq/drill/result"
)

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// exportWithTexts exports runs of two scenario versions, of which the history holds only
// the first's text, and a run recording no digest (one `drill recover` stored for a killed
// drill: its journal has none).
func exportWithTexts(t *testing.T) (dir string, kept []byte, missing string) {
	t.Helper()
	kept = []byte("version: 1\nname: sc\nfaults: [{run: \"${TOKEN}\"}]\n")
	missing = digest([]byte("imported without its text"))
	at := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	r := func(id, sha string) *result.Result {
		return &result.Result{Schema: result.Schema, RunID: id, Scenario: "sc", ScenarioSHA256: sha, StartedAt: at}
	}
	cited := []*result.Result{r("r1", digest(kept))}
	period := []*result.Result{r("r1", digest(kept)), r("r2", digest(kept)), r("r3", missing), r("r4", "")}
	texts := map[string][]byte{digest(kept): kept}
	dir = filepath.Join(t.TempDir(), "b")
	_, err := Export(dir, Contents{
		Report: &compliance.Report{Schema: compliance.Schema},
		Runs:   cited,
		PeriodRuns: func(fn func(*result.Result) error) error {
			for _, r := range period {
				if err := fn(r); err != nil {
					return err
				}
			}
			return nil
		},
		ScenarioText: func(sha string) ([]byte, bool, error) { b, ok := texts[sha]; return b, ok, nil },
		CreatedAt:    at,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return dir, kept, missing
}

func TestExportWritesEachScenarioTextOnce(t *testing.T) {
	t.Parallel()
	dir, kept, missing := exportWithTexts(t)
	got, err := os.ReadFile(filepath.Join(dir, "scenarios", digest(kept)+".yaml"))
	if err != nil || string(got) != string(kept) {
		t.Fatalf("scenario text = %q (%v), want the exact bytes %q", got, err, kept)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "scenarios"))
	if len(entries) != 1 {
		t.Errorf("%d scenario texts for 2 versions of which 1 is held, want 1", len(entries))
	}
	var m Manifest
	raw, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	listed := false
	for _, f := range m.Files {
		listed = listed || f.Path == "scenarios/"+digest(kept)+".yaml" && f.SHA256 == digest(kept)
	}
	if !listed {
		t.Errorf("manifest does not list the scenario text: %+v", m.Files)
	}
	c, err := Verify(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"scenario text not available for sha256 " + missing + ": 1 run(s) (r3)",
		"scenario text not available: 1 run(s) record no scenarioSha256 (r4)",
	}
	if !c.OK() || len(c.Notes) != len(want) {
		t.Fatalf("verify: problems %q, notes %q; want intact and %d notes", c.Problems, c.Notes, len(want))
	}
	for _, w := range want {
		if !strings.HasPrefix(c.Notes[0], w) && !strings.HasPrefix(c.Notes[1], w) {
			t.Errorf("notes %q lack %q", c.Notes, w)
		}
	}
}

// An unsigned bundle whose text and manifest entry are both rewritten still fails: the text
// must hash to the digest the runs record, which is its name.
func TestVerifyScenarioTextMustMatchItsName(t *testing.T) {
	t.Parallel()
	dir, kept, _ := exportWithTexts(t)
	name := "scenarios/" + digest(kept) + ".yaml"
	forged := []byte(strings.Replace(string(kept), "TOKEN", "TOKEM", 1))
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), forged, 0o644); err != nil {
		t.Fatal(err)
	}
	var m Manifest
	raw, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for i := range m.Files {
		if m.Files[i].Path == name {
			m.Files[i].SHA256 = digest(forged)
		}
	}
	raw, _ = json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Verify(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "scenario text does not match its name: " + name
	if c.OK() || len(c.Problems) != 1 || !strings.HasPrefix(c.Problems[0], want) {
		t.Errorf("problems %q, want one starting %q", c.Problems, want)
	}
}
