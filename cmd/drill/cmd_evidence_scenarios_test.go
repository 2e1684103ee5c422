package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/drillhq/drill/result"
)

// TestEvidenceBundleHoldsScenarioTexts runs a real drill twice, whose fault uses a secret
// from ${DRILL_BUNDLE_TOKEN}, exports the bundle and checks it holds the scenario file byte
// for byte under its digest, once, with the reference and never the value, in the bundle
// and in the history file; then that one changed byte of it fails verify, naming it.
// Not parallel: scenarios expand ${VAR} from the process environment.
func TestEvidenceBundleHoldsScenarioTexts(t *testing.T) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	token := "bundle-tok-" + hex.EncodeToString(rnd[:])
	t.Setenv("DRILL_BUNDLE_TOKEN", token)
	dir := t.TempDir()
	scn := filepath.Join(dir, "texts.yaml")
	seen := filepath.Join(dir, "seen")
	body := []byte(fmt.Sprintf(`version: 1
name: texts
system: bundle
cadence: weekly
objectives: { rto: 5s }
probes:
  - { name: up, type: command, interval: 50ms, with: { run: "true" } }
faults:
  - { name: f, type: command, with: { run: "printf %%s '${DRILL_BUNDLE_TOKEN}' > %s", revert: "true" } }
limits: { timeout: 10s, observe: 200ms }
`, seen))
	if err := os.WriteFile(scn, body, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	sha := hex.EncodeToString(sum[:])
	db := filepath.Join(dir, "history.db")
	env := map[string]string{"DRILL_HISTORY": db}
	for i := 0; i < 2; i++ {
		if code, stdout, stderr := runProgrammeCLI(t, env, "run", "-q", scn); code != 0 {
			t.Fatalf("drill run %d: exit %d\n%s\n%s", i, code, stdout, stderr)
		}
	}
	bundle := filepath.Join(dir, "bundle")
	code, out, stderr := runProgrammeCLI(t, env, "evidence", "export", "--out", bundle)
	if code != 0 || !strings.Contains(out, "(2 runs, 1 scenario texts,") {
		t.Fatalf("export: exit %d, out %q, err %q", code, out, stderr)
	}
	name := filepath.Join("scenarios", sha+".yaml")
	got, err := os.ReadFile(filepath.Join(bundle, name))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("bundle's %s = %q (%v), want the scenario file's bytes", name, got, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(bundle, "scenarios")); len(entries) != 1 {
		t.Errorf("%d scenario texts for two runs of one scenario, want 1", len(entries))
	}
	var run result.Result
	runs, _ := filepath.Glob(filepath.Join(bundle, "runs", "*.json"))
	for _, p := range runs {
		raw, _ := os.ReadFile(p)
		if err := json.Unmarshal(raw, &run); err != nil || run.ScenarioSHA256 != sha {
			t.Errorf("%s: scenarioSha256 %q (%v), want %s", p, run.ScenarioSHA256, err, sha)
		}
	}
	// The value reached the fault, yet nothing drill keeps holds it.
	if b, err := os.ReadFile(seen); err != nil || string(b) != token {
		t.Fatalf("the fault saw %q (%v), want the token", b, err)
	}
	files := []string{db}
	_ = filepath.WalkDir(bundle, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(token)) {
			t.Errorf("%s holds the secret value", p)
		}
	}
	if !bytes.Contains(got, []byte("${DRILL_BUNDLE_TOKEN}")) {
		t.Errorf("scenario text lost the reference:\n%s", got)
	}
	code, out, stderr = runProgrammeCLI(t, nil, "evidence", "verify", bundle)
	if code != 0 || !strings.Contains(out, "intact: ") || strings.Contains(out, "note: ") {
		t.Fatalf("verify of an untouched bundle: exit %d, out %q, err %q", code, out, stderr)
	}
	got[len(got)/2] ^= 0x01
	if err := os.WriteFile(filepath.Join(bundle, name), got, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runProgrammeCLI(t, nil, "evidence", "verify", bundle)
	if code != 1 || !strings.Contains(out, "changed: scenarios/"+sha+".yaml") || !strings.Contains(out, "scenario text does not match its name: scenarios/"+sha+".yaml") {
		t.Errorf("verify after one changed byte of the scenario text: exit %d, out %q", code, out)
	}
}

// A run imported from its JSON brings no scenario text: the bundle is still intact, and
// verify notes which runs' text it does not hold.
func TestEvidenceNotesRunsWithoutScenarioText(t *testing.T) {
	t.Parallel()
	doc := realDrillJSON(t, "imported")
	raw, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	var r result.Result
	if err := json.Unmarshal(raw, &r); err != nil || r.ScenarioSHA256 == "" {
		t.Fatalf("run JSON: %v, scenarioSha256 %q", err, r.ScenarioSHA256)
	}
	dir := t.TempDir()
	env := map[string]string{"DRILL_HISTORY": filepath.Join(dir, "history.db")}
	if code, _, stderr := runProgrammeCLI(t, env, "history", "import", doc); code != 0 {
		t.Fatalf("import: exit %d, %s", code, stderr)
	}
	bundle := filepath.Join(dir, "bundle")
	if code, out, stderr := runProgrammeCLI(t, env, "evidence", "export", "--out", bundle); code != 0 || !strings.Contains(out, "(1 runs, 0 scenario texts,") {
		t.Fatalf("export: exit %d, out %q, err %q", code, out, stderr)
	}
	code, out, stderr := runProgrammeCLI(t, nil, "evidence", "verify", bundle)
	want := "note: scenario text not available for sha256 " + r.ScenarioSHA256 + ": 1 run(s) (" + r.RunID + ")"
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "intact: ") {
		t.Errorf("verify: exit %d, out %q, err %q; want intact and %q", code, out, stderr, want)
	}
}

// The hash chain does not link the scenario texts (each is named by its digest, which the
// chained run records): a text edited inside the history file is exported as held, and
// verify names it.
func TestEvidenceTextEditedInHistoryIsNamed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "history.db")
	scn := filepath.Join(dir, "edited.yaml")
	body := []byte(`version: 1
name: edited
system: ci
objectives: { rto: 5s }
probes:
  - { name: up, type: command, interval: 50ms, with: { run: "true" } }
faults:
  - { name: f, type: command, with: { run: "true", revert: "true" } }
limits: { timeout: 10s, observe: 200ms }
`)
	if err := os.WriteFile(scn, body, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DRILL_HISTORY": db}
	if code, stdout, stderr := runProgrammeCLI(t, env, "run", "-q", scn); code != 0 {
		t.Fatalf("drill run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	sum := sha256.Sum256(body)
	sha := hex.EncodeToString(sum[:])
	bdb, err := bolt.Open(db, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("scenario-texts"))
		if b == nil || b.Get([]byte(sha)) == nil {
			return fmt.Errorf("no text stored under %s", sha)
		}
		return b.Put([]byte(sha), bytes.Replace(body, []byte(`rto: 5s`), []byte(`rto: 9s`), 1))
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "bundle")
	if code, out, stderr := runProgrammeCLI(t, env, "evidence", "export", "--out", bundle); code != 0 {
		t.Fatalf("export: exit %d, out %q, err %q", code, out, stderr)
	}
	code, out, _ := runProgrammeCLI(t, nil, "evidence", "verify", bundle)
	if want := "scenario text does not match its name: scenarios/" + sha + ".yaml"; code != 1 || !strings.Contains(out, want) {
		t.Errorf("verify: exit %d, out %q; want 1 and %q", code, out, want)
	}
}

// A scenario file that holds a secret's value written out (beside its ${VAR}) is run and
// its result kept, but not its text, which nothing redacts: the run says so on stderr, and
// verify notes the run. Not parallel: scenarios expand ${VAR} from the process environment.
func TestScenarioTextHoldingASecretIsNotKept(t *testing.T) {
	const token = "literal-tok-5f1c2a9e"
	t.Setenv("DRILL_LITERAL_TOKEN", token)
	dir := t.TempDir()
	scn := filepath.Join(dir, "literal.yaml")
	body := `version: 1
name: literal
system: ci
objectives: { rto: 5s }
probes:
  - { name: up, type: command, interval: 50ms, with: { run: "true" } }
faults:
  # the token used to be ` + token + `
  - { name: f, type: command, with: { run: "test -n '${DRILL_LITERAL_TOKEN}'", revert: "true" } }
limits: { timeout: 10s, observe: 200ms }
`
	if err := os.WriteFile(scn, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "history.db")
	env := map[string]string{"DRILL_HISTORY": db}
	code, stdout, stderr := runProgrammeCLI(t, env, "run", "-q", scn)
	if code != 0 || !strings.Contains(stderr, "warning: "+scn+" holds, written out, the value of a secret") || strings.Contains(stderr, token) {
		t.Fatalf("drill run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	raw, err := os.ReadFile(db)
	if err != nil || bytes.Contains(raw, []byte(token)) {
		t.Fatalf("history file holds the secret value (%v)", err)
	}
	bundle := filepath.Join(dir, "bundle")
	if code, out, stderr := runProgrammeCLI(t, env, "evidence", "export", "--out", bundle); code != 0 || !strings.Contains(out, "(1 runs, 0 scenario texts,") {
		t.Fatalf("export: exit %d, out %q, err %q", code, out, stderr)
	}
	if code, out, _ := runProgrammeCLI(t, nil, "evidence", "verify", bundle); code != 0 || !strings.Contains(out, "note: scenario text not available for sha256 ") {
		t.Errorf("verify: exit %d, out %q; want intact with a note", code, out)
	}
}
