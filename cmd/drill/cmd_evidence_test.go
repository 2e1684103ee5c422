package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/evidence"
	"github.com/drillhq/drill/result"
)

// exportBundle seeds history, signs off a run, makes a key pair and exports a signed bundle.
func exportBundle(t *testing.T) (dir, pub string) {
	t.Helper()
	db := seedFailThenPass(t)
	if code, _, stderr := runProgrammeCLI(t, nil, "signoff", "r-pass", "--by", "alice", "--history", db); code != 0 {
		t.Fatal(stderr)
	}
	keys := filepath.Join(t.TempDir(), "k")
	if code, _, stderr := runProgrammeCLI(t, nil, "evidence", "keygen", "--out", keys); code != 0 {
		t.Fatal(stderr)
	}
	dir = filepath.Join(t.TempDir(), "bundle")
	code, out, stderr := runProgrammeCLI(t, nil, "evidence", "export", "--history", db, "--period", "2026-Q3", "--out", dir, "--sign-key", keys+".key")
	if code != 0 || !strings.Contains(out, "signed with key") {
		t.Fatalf("export: exit %d, out %q, err %q", code, out, stderr)
	}
	return dir, keys + ".pub"
}

func TestEvidenceExportContents(t *testing.T) {
	t.Parallel()
	dir, pub := exportBundle(t)
	for _, f := range []string{"report.html", "report.md", "report.json", "runs/r-fail.json", "runs/r-pass.json", "signoffs.json", "findings.json", "history-verify.json", "manifest.json", "manifest.sig", "manifest.pub"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("bundle lacks %s: %v", f, err)
		}
	}
	var m evidence.Manifest
	data, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err := json.Unmarshal(data, &m); err != nil || len(m.Files) != 8 || m.HistoryHead == "" {
		t.Errorf("manifest %+v (%v): want 8 files and the history head", m, err)
	}
	so, _ := os.ReadFile(filepath.Join(dir, "signoffs.json"))
	fi, _ := os.ReadFile(filepath.Join(dir, "findings.json"))
	if !strings.Contains(string(so), `"by": "alice"`) || !strings.Contains(string(fi), `"F-0001"`) {
		t.Errorf("sign-offs %s\nfindings %s", so, fi)
	}
	code, out, stderr := runProgrammeCLI(t, nil, "evidence", "verify", dir, "--pub-key", pub)
	if code != 0 || !strings.Contains(out, "signature: valid") || !strings.Contains(out, "intact: ") {
		t.Errorf("verify of an untouched bundle: exit %d, out %q, err %q", code, out, stderr)
	}
	if code, _, stderr := runProgrammeCLI(t, nil, "evidence", "export", "--history", filepath.Join(t.TempDir(), "none.db"), "--out", dir); code != 3 || !strings.Contains(stderr, "not empty") {
		t.Errorf("export into a non-empty dir: exit %d, %q", code, stderr)
	}
}

func TestEvidenceVerifyDetectsChanges(t *testing.T) {
	t.Parallel()
	otherKeys := filepath.Join(t.TempDir(), "other")
	if code, _, stderr := runProgrammeCLI(t, nil, "evidence", "keygen", "--out", otherKeys); code != 0 {
		t.Fatal(stderr)
	}
	flipByte := func(name string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			p := filepath.Join(dir, name)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			i := len(b) / 2
			b[i] ^= 0x01 // one bit of one byte
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		pubKey string // "" = the trusted key; "other" = a different one
		want   string
	}{
		{"one byte of a run", flipByte("runs/r-fail.json"), "", "changed: runs/r-fail.json"},
		{"one byte of the report", flipByte("report.html"), "", "changed: report.html"},
		{"file removed", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "findings.json")) }, "", "missing: findings.json"},
		{"file added", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "runs", "r-extra.json"), []byte("{}"), 0o644)
		}, "", "not in the manifest: runs/r-extra.json"},
		{"manifest corrupted", flipByte("manifest.json"), "", "signature: INVALID"},
		{"run changed and its hash rewritten in the manifest", func(t *testing.T, dir string) {
			flipByte("runs/r-pass.json")(t, dir)
			data, _ := os.ReadFile(filepath.Join(dir, "runs", "r-pass.json"))
			var m evidence.Manifest
			raw, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			for i, f := range m.Files {
				if f.Path == "runs/r-pass.json" {
					sum := sha256.Sum256(data)
					m.Files[i].SHA256 = hex.EncodeToString(sum[:])
				}
			}
			raw, _ = json.MarshalIndent(m, "", "  ")
			os.WriteFile(filepath.Join(dir, "manifest.json"), append(raw, '\n'), 0o644)
		}, "", "signature: INVALID"},
		{"signed with another key", func(t *testing.T, dir string) {}, "other", "signature: INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, pub := exportBundle(t)
			tt.change(t, dir)
			if tt.pubKey == "other" {
				pub = otherKeys + ".pub"
			}
			code, out, stderr := runProgrammeCLI(t, nil, "evidence", "verify", dir, "--pub-key", pub)
			if code != 1 || !strings.Contains(out, tt.want) || !strings.Contains(out, "BROKEN") {
				t.Errorf("exit %d, out %q, err %q; want 1 and %q", code, out, stderr, tt.want)
			}
		})
	}
}

func TestEvidenceUnsignedAndBadInput(t *testing.T) {
	t.Parallel()
	db := seedFailThenPass(t)
	dir := filepath.Join(t.TempDir(), "b")
	if code, _, stderr := runProgrammeCLI(t, nil, "evidence", "export", "--history", db, "--period", "2026-Q3", "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	if code, out, _ := runProgrammeCLI(t, nil, "evidence", "verify", dir); code != 0 || !strings.Contains(out, "unsigned") {
		t.Errorf("unsigned bundle: exit %d, %q", code, out)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"evidence", "export", "--history", db}, "--out DIR is required"},
		{[]string{"evidence", "export", "--history", db, "--out", t.TempDir() + "/x", "--sign-key", "/nonexistent.key"}, "--sign-key"},
		{[]string{"evidence", "verify"}, "name the bundle directory"},
		{[]string{"evidence", "verify", t.TempDir()}, "is "},
		{[]string{"evidence"}, "name a verb"},
	} {
		if code, _, stderr := runProgrammeCLI(t, nil, tt.args...); code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
}

// TestEvidenceBundleHoldsEveryRunOfThePeriod: the report draws only the runs it cites, so the
// bundle is where every other run its figures count must be; a run outside the period (and
// not cited) is not.
func TestEvidenceBundleHoldsEveryRunOfThePeriod(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "h.db")
	base := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	var runs []*result.Result
	var want []string
	for i := range 20 {
		id := fmt.Sprintf("r-%02d", i)
		runs = append(runs, runAt(id, "etcd-loss", "orders", base.Add(time.Duration(i)*time.Hour), result.VerdictFail, 14200))
		want = append(want, id)
	}
	runs = append(runs, runAt("r-old-fail", "etcd-loss", "orders", base.AddDate(0, -1, 0), result.VerdictFail, 14200))
	seedHistory(t, db, runs...)
	dir := filepath.Join(t.TempDir(), "bundle")
	code, out, stderr := runProgrammeCLI(t, nil, "evidence", "export", "--history", db, "--period", "2026-Q3", "--out", dir)
	if code != 0 || !strings.Contains(out, "(20 runs,") {
		t.Fatalf("export: exit %d, out %q, err %q; want 20 runs", code, out, stderr)
	}
	var rep struct {
		Evidence []struct {
			RunID string `json:"runId"`
		} `json:"evidence"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil || json.Unmarshal(data, &rep) != nil {
		t.Fatalf("report.json: %v", err)
	}
	if len(rep.Evidence) >= len(want) {
		t.Fatalf("the report cites %d runs: this test needs a period with more runs than it cites", len(rep.Evidence))
	}
	var got []string
	files, _ := filepath.Glob(filepath.Join(dir, "runs", "*.json"))
	for _, f := range files {
		got = append(got, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("run documents in the bundle (-want +got):\n%s", diff)
	}
	if code, out, stderr := runProgrammeCLI(t, nil, "evidence", "verify", dir); code != 0 {
		t.Errorf("verify: exit %d, out %q, err %q", code, out, stderr)
	}
}
