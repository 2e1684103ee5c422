package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/result"
)

// seedFailThenPass stores a failing run and a later passing run of the same scenario.
func seedFailThenPass(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "h.db")
	base := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	fail := runAt("r-fail", "etcd-loss", "orders", base, result.VerdictFail, 14200)
	fail.Reason = "RTO 14.2s exceeds target 10s"
	seedHistory(t, db, fail, runAt("r-pass", "etcd-loss", "orders", base.Add(48*time.Hour), result.VerdictPass, 2100))
	return db
}

func TestSignOffVerb(t *testing.T) {
	t.Parallel()
	db := seedFailThenPass(t)
	tests := []struct {
		args    []string
		code    int
		out     string
		errText string
	}{
		{[]string{"signoff", "r-pass", "--by", "Alice", "--role", "DR coordinator", "--note", "reviewed"}, 0, "signed off r-pass by Alice as DR coordinator", ""},
		{[]string{"signoff", "r-pass", "--by", "Bob"}, 0, "signed off r-pass by Bob", ""},
		{[]string{"signoff", "r-pass"}, 2, "", "--by NAME is required"},
		{[]string{"signoff", "--by", "x"}, 2, "", "name the run to sign off"},
		{[]string{"signoff", "r-nope", "--by", "x"}, 2, "", `no run "r-nope"`},
	}
	for _, tt := range tests {
		code, out, stderr := runProgrammeCLI(t, nil, append(tt.args, "--history", db)...)
		if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(stderr, tt.errText) {
			t.Errorf("%v: exit %d, out %q, err %q; want %d, %q, %q", tt.args, code, out, stderr, tt.code, tt.out, tt.errText)
		}
	}
	s, err := history.OpenReadOnly(db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sos, err := s.SignOffs(t.Context())
	if err != nil || len(sos["r-pass"]) != 2 || sos["r-pass"][0].Role != "DR coordinator" || sos["r-pass"][0].Note != "reviewed" {
		t.Errorf("stored sign-offs %+v %v", sos, err)
	}
}

func TestFindingsVerbs(t *testing.T) {
	t.Parallel()
	db := seedFailThenPass(t)
	h := []string{"--history", db}
	code, table, stderr := runProgrammeCLI(t, nil, append([]string{"findings"}, h...)...)
	out := strings.Join(tableRows(table), "\n") // cells may wrap to fit 120 columns
	if code != 0 || !strings.Contains(out, "F-0001") || !strings.Contains(out, "retested: passed") || !strings.Contains(out, "RTO 14.2s exceeds") {
		t.Fatalf("findings: exit %d\n%s\n%s", code, out, stderr)
	}
	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"findings", "assign", "F-0001", "--owner", "platform-team", "--due", "2026-07-10"}, 0, "F-0001 assigned to platform-team, due 2026-07-10"},
		{[]string{"findings", "assign", "F-0009", "--owner", "x"}, 2, `no finding "F-0009"`},
		{[]string{"findings", "assign", "F-0001", "--due", "soon"}, 2, "--due"},
		{[]string{"findings", "close", "F-0001"}, 2, "--note is required"},
		{[]string{"findings", "close", "F-0001", "--note", "timeout raised"}, 0, "F-0001 closed: timeout raised"},
		{[]string{"findings", "close", "F-0001", "--note", "again"}, 2, "already closed"},
	}
	for _, st := range steps {
		code, out, stderr := runProgrammeCLI(t, nil, append(st.args, h...)...)
		if code != st.code || !strings.Contains(out+stderr, st.want) {
			t.Errorf("%v: exit %d, out %q, err %q; want %d and %q", st.args, code, out, stderr, st.code, st.want)
		}
	}
	if _, out, stderr := runProgrammeCLI(t, nil, append([]string{"findings"}, h...)...); strings.Contains(out, "F-0001") || !strings.Contains(stderr, "no open findings") {
		t.Errorf("closed finding still listed as open: %q %q", out, stderr)
	}
	_, js, _ := runProgrammeCLI(t, nil, append([]string{"findings", "--all", "--json"}, h...)...)
	var fs []history.Finding
	if err := json.Unmarshal([]byte(js), &fs); err != nil || len(fs) != 1 {
		t.Fatalf("--json: %v %s", err, js)
	}
	f := fs[0]
	if f.Status != history.FindingClosed || f.Owner != "platform-team" || f.CloseNote != "timeout raised" || f.Retest == nil || f.Retest.RunID != "r-pass" || f.RunID != "r-fail" {
		t.Errorf("finding %+v", f)
	}
}

func TestFindingsOverdueIsMarked(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "h.db")
	seedHistory(t, db, runAt("r-err", "web", "web", time.Now().Add(-72*time.Hour), result.VerdictError, 0))
	if code, _, stderr := runProgrammeCLI(t, nil, "findings", "assign", "F-0001", "--owner", "web-team", "--due", time.Now().Add(-48*time.Hour).Format(time.DateOnly), "--history", db); code != 0 {
		t.Fatal(stderr)
	}
	if _, out, _ := runProgrammeCLI(t, nil, "findings", "--history", db); !strings.Contains(out, "OVERDUE") {
		t.Errorf("overdue finding not marked:\n%s", out)
	}
}

func TestHistoryVerifyVerb(t *testing.T) {
	t.Parallel()
	db := seedFailThenPass(t)
	if code, _, stderr := runProgrammeCLI(t, nil, "signoff", "r-pass", "--by", "alice", "--history", db); code != 0 {
		t.Fatal(stderr)
	}
	code, out, stderr := runProgrammeCLI(t, nil, "history", "verify", "--history", db)
	if code != 0 || !strings.HasPrefix(out, "intact: ") || !strings.Contains(out, "head ") {
		t.Fatalf("intact store: exit %d, out %q, err %q", code, out, stderr)
	}
	// Rewrite the failing run as a pass, as someone tidying the record might.
	bdb, err := bolt.Open(db, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("runs"))
		doc := strings.Replace(string(b.Get([]byte("r-fail"))), `"verdict":"fail"`, `"verdict":"pass"`, 1)
		return b.Put([]byte("r-fail"), []byte(doc))
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ = runProgrammeCLI(t, nil, "history", "verify", "--history", db)
	if code != 1 || !strings.Contains(out, "BROKEN") || !strings.Contains(out, "run r-fail (link 1): stored content changed") {
		t.Errorf("tampered store: exit %d, out %q; want 1 naming run r-fail", code, out)
	}
	code, js, _ := runProgrammeCLI(t, nil, "history", "verify", "--json", "--history", db)
	var v history.Verification
	if code != 1 || json.Unmarshal([]byte(js), &v) != nil || v.Intact() {
		t.Errorf("--json: exit %d, %s", code, js)
	}
}

func TestReportShowsSignOffsAndFindingsFromHistory(t *testing.T) {
	t.Parallel()
	db := seedFailThenPass(t)
	if code, _, stderr := runProgrammeCLI(t, nil, "signoff", "r-pass", "--by", "alice", "--role", "DR coordinator", "--history", db); code != 0 {
		t.Fatal(stderr)
	}
	code, out, stderr := runProgrammeCLI(t, nil, "report", "--history", db, "--period", "2026-Q3", "--format", "md")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"signed off by alice (DR coordinator)", "awaits sign-off", "- `r-fail`", "F-0001", "retested: passed"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestReportPDFNeedsABrowser(t *testing.T) {
	t.Parallel()
	db := seedFailThenPass(t)
	out := filepath.Join(t.TempDir(), "r.pdf")
	code, _, stderr := runProgrammeCLI(t, nil, "report", "--history", db, "--period", "2026-Q3", "--out", out, "--browser", filepath.Join(t.TempDir(), "no-chromium"))
	if code != 3 || !strings.Contains(stderr, "headless Chromium") || !strings.Contains(stderr, "--browser") {
		t.Errorf("exit %d, %q: want 3 and how to get a browser", code, stderr)
	}
}

// Runs stored by older versions after an early stop carry a 0 s target: history must not
// present that as the objective.
func TestHistoryTableDoesNotShowAMissingTargetAsZero(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "h.db")
	r := runAt("r-old", "etcd-loss", "orders", time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC), result.VerdictError, 0)
	r.T0, r.Objectives.RTO = "", result.RTO{}
	seedHistory(t, db, r)
	_, out, _ := runProgrammeCLI(t, nil, "history", "--history", db)
	if strings.Contains(out, "- / 0 s") || !strings.Contains(out, "- / not recorded") {
		t.Errorf("history table:\n%s", out)
	}
}
