package compliance

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/internal/goldenfile"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/suite"
)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}

func TestGolden(t *testing.T) {
	t.Parallel()
	noSuite := Build(Input{Period: q3, Now: reportAt, Runs: fixtureRuns(t), ToolVersion: "v1.0.0"})
	tests := []struct {
		file   string
		format string
		rep    *Report
	}{
		{"q3-suite.md", FormatMarkdown, fixtureReport(t)},
		{"q3-suite.json", FormatJSON, fixtureReport(t)},
		{"q3-history.md", FormatMarkdown, noSuite},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tt.format, tt.rep); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.file, buf.Bytes())
		})
	}
}

func TestStatuses(t *testing.T) {
	t.Parallel()
	rep := fixtureReport(t)
	type row struct {
		System     string
		Status     Status
		Scenarios  map[string]Status
		InPeriod   int
		LastPassID string
	}
	var got []row
	for _, s := range rep.Systems {
		r := row{System: s.Name, Status: s.Status, Scenarios: map[string]Status{}, InPeriod: s.RunsInPeriod}
		if s.LastPass != nil {
			r.LastPassID = s.LastPass.RunID
		}
		for _, sc := range s.Scenarios {
			r.Scenarios[sc.Name] = sc.Status
		}
		got = append(got, r)
	}
	want := []row{
		{"orders-etcd", StatusCompliant, map[string]Status{"etcd-minority-member-loss": StatusCompliant, "etcd-quorum-loss-restore": StatusCompliant}, 5, "20260922T093000Z-9e8d7c6b"},
		{"storefront", StatusOverdue, map[string]Status{"web-http-outage": StatusOverdue}, 3, "20260829T083000Z-090a0b0c"},
		{"payments-db", StatusFailing, map[string]Status{"payments-rds-failover": StatusFailing}, 2, "20260721T223000Z-7a7b7c7d"},
		{"search", StatusFailing, map[string]Status{"search-node-loss": StatusFailing}, 1, "20260302T090000Z-3c3c3c3c"},
		{"billing", StatusNeverDrilled, map[string]Status{"billing-restore": StatusNeverDrilled}, 0, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("systems (-want +got):\n%s", diff)
	}
	wantSummary := Summary{Systems: 5, Compliant: 1, Overdue: 1, Failing: 2, NeverDrilled: 1, Runs: 11, Passed: 7, Failed: 3, Errored: 1}
	if diff := cmp.Diff(wantSummary, rep.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if !rep.AsOf.Equal(q3.Until) {
		t.Errorf("AsOf = %s; want the end of the period %s (report generated after it)", rep.AsOf, q3.Until)
	}
	// The evidence names every run the report names: per scenario its newest run, failures
	// and sign-offs in the period and its last proven pass (also from before the period),
	// which have timelines, and the newest runs its table lists, which do not.
	var ev []string
	for _, e := range rep.Evidence {
		ev = append(ev, e.RunID)
	}
	wantEv := []string{
		"20260302T090000Z-3c3c3c3c", // search: last pass, before the period
		"20260703T083000Z-01020304", // web: listed only (one of the newest five)
		"20260708T103000Z-aa11bb22", // quorum: failure
		"20260714T093000Z-1f2e3d4c", // minority: listed only
		"20260721T223000Z-7a7b7c7d", // payments: last pass
		"20260801T083000Z-05060708", // web: listed only
		"20260805T103000Z-cc33dd44", // quorum: newest, last pass, signed off
		"20260818T143000Z-5a6b7c8d", // minority: failure
		"20260829T083000Z-090a0b0c", // web: newest, last pass
		"20260915T223000Z-8a8b8c8d", // payments: newest, failure
		"20260922T093000Z-9e8d7c6b", // minority: newest, last pass, signed off
		"20260928T093000Z-4d4d4d4d", // search: newest, error
	}
	if diff := cmp.Diff(wantEv, ev); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
	if rep.RunsWithoutTimeline != 3 || len(rep.Runs) != 8 {
		t.Errorf("%d timelines, %d runs without; want 8 and 3 (two web passes, one minority pass)", len(rep.Runs), rep.RunsWithoutTimeline)
	}
}

func TestStatusSystemRollUp(t *testing.T) {
	t.Parallel()
	entries := []suite.Entry{
		{Name: "a", System: "sys", Cadence: suite.Monthly, RTO: time.Minute},
		{Name: "b", System: "sys", Cadence: suite.Monthly, RTO: 30 * time.Second},
	}
	now := time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)
	pass := func(s string, at time.Time) *result.Result {
		return &result.Result{RunID: s + at.Format("0102"), Scenario: s, System: "sys", StartedAt: at, Verdict: result.VerdictPass}
	}
	fail := func(s string, at time.Time) *result.Result {
		r := pass(s, at)
		r.Verdict, r.RunID = result.VerdictFail, r.RunID+"f"
		return r
	}
	recent, stale := now.AddDate(0, 0, -3), now.AddDate(0, -2, 0)
	tests := []struct {
		name string
		runs []*result.Result
		want Status
	}{
		{"both recent", []*result.Result{pass("a", recent), pass("b", recent)}, StatusCompliant},
		{"one stale", []*result.Result{pass("a", recent), pass("b", stale)}, StatusOverdue},
		{"one never", []*result.Result{pass("a", recent)}, StatusNeverDrilled},
		{"never beats overdue", []*result.Result{pass("a", stale)}, StatusNeverDrilled},
		{"failing beats all", []*result.Result{fail("a", recent)}, StatusFailing},
		{"pass after fail recovers", []*result.Result{fail("a", stale), pass("a", recent), pass("b", recent)}, StatusCompliant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep := Build(Input{Period: Period{Since: now.AddDate(0, -3, 0), Until: now}, Now: now.Add(time.Hour), Entries: entries, Runs: tt.runs})
			if len(rep.Systems) != 1 {
				t.Fatalf("%d systems", len(rep.Systems))
			}
			s := rep.Systems[0]
			if s.Status != tt.want {
				t.Errorf("system status %s (%s); want %s", s.Status, s.StatusReason, tt.want)
			}
			if s.RTOTargetMs != 30000 {
				t.Errorf("system RTO target %d; want the strictest, 30000", s.RTOTargetMs)
			}
		})
	}
}

func TestAsOfIsNowInsideThePeriod(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 8, 15, 0, 0, 0, 0, time.UTC)
	rep := Build(Input{Period: q3, Now: now, Runs: fixtureRuns(t)})
	if !rep.AsOf.Equal(now) {
		t.Errorf("AsOf = %s; want now %s", rep.AsOf, now)
	}
	for _, r := range rep.Runs {
		if !r.StartedAt.Before(now) {
			t.Errorf("run %s starts after now but is in the report", r.RunID)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	rep := fixtureReport(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*rep, back); diff != "" {
		t.Errorf("JSON round trip (-built +decoded):\n%s", diff)
	}
	if back.Schema != Schema {
		t.Errorf("schema %q", back.Schema)
	}
}

func TestNotes(t *testing.T) {
	t.Parallel()
	rep := fixtureReport(t)
	joined := strings.Join(rep.Notes, "\n")
	for _, want := range []string{"1 dry run excluded", "outside this suite (legacy-dns-cutover)"} {
		if !strings.Contains(joined, want) {
			t.Errorf("notes %q lack %q", joined, want)
		}
	}
}

func TestScenarioChanged(t *testing.T) {
	t.Parallel()
	runs := fixtureRuns(t)
	runs[1].ScenarioSHA256 = strings.Repeat("ab", 32) // 20260714T093000Z-1f2e3d4c ran an older file
	s := fixtureSuite(t)
	rep := Build(Input{Period: q3, Now: reportAt, Entries: s.Entries, Runs: runs})
	var changed []string
	for _, e := range rep.Evidence {
		if e.ScenarioChanged {
			changed = append(changed, e.RunID)
		}
	}
	if diff := cmp.Diff([]string{"20260714T093000Z-1f2e3d4c"}, changed); diff != "" {
		t.Errorf("changed scenario files (-want +got):\n%s", diff)
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	t.Parallel()
	if err := Write(&bytes.Buffer{}, "pdf", fixtureReport(t)); err == nil || !strings.Contains(err.Error(), "html|md|json") {
		t.Errorf("err = %v", err)
	}
}

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	d := func(y int, m time.Month, dd int) time.Time { return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		in           string
		label        string
		since, until time.Time
	}{
		{"2026", "2026", d(2026, 1, 1), d(2027, 1, 1)},
		{"2026-Q1", "2026-Q1", d(2026, 1, 1), d(2026, 4, 1)},
		{"2026-q3", "2026-Q3", d(2026, 7, 1), d(2026, 10, 1)},
		{"2026-Q4", "2026-Q4", d(2026, 10, 1), d(2027, 1, 1)},
		{"2026-H1", "2026-H1", d(2026, 1, 1), d(2026, 7, 1)},
		{"2026-H2", "2026-H2", d(2026, 7, 1), d(2027, 1, 1)},
		{"2026-11", "2026-11", d(2026, 11, 1), d(2026, 12, 1)},
		{"2026-12", "2026-12", d(2026, 12, 1), d(2027, 1, 1)},
	}
	for _, tt := range tests {
		p, err := ParsePeriod(tt.in)
		if err != nil {
			t.Errorf("ParsePeriod(%q): %v", tt.in, err)
			continue
		}
		if p.Label != tt.label || !p.Since.Equal(tt.since) || !p.Until.Equal(tt.until) {
			t.Errorf("ParsePeriod(%q) = %+v", tt.in, p)
		}
	}
	for _, bad := range []string{"", "2026-Q5", "2026-13", "2026-00", "Q3", "2026-Q3x", "26", "2026/11", "2026-H3"} {
		if _, err := ParsePeriod(bad); err == nil {
			t.Errorf("ParsePeriod(%q) succeeded", bad)
		}
	}
}

func TestRangePeriod(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 10, 2, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		since, until string
		want         Period
		err          string
	}{
		{"2026-07-01", "2026-09-30", Period{Label: "2026-07-01 to 2026-09-30", Since: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}, ""},
		{"2026-07-01", "", Period{Label: "2026-07-01 to 2026-10-02", Since: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), Until: now}, ""},
		{"", "2026-09-30T12:00:00+02:00", Period{Label: "the first run to 2026-09-30", Until: time.Date(2026, 9, 30, 10, 0, 0, 0, time.UTC)}, ""},
		{"2026-09-30", "2026-07-01", Period{}, "empty period"},
		{"yesterday", "", Period{}, `--since: invalid date "yesterday"`},
		{"", "2026-13-01", Period{}, `--until: invalid date`},
	}
	for _, tt := range tests {
		got, err := RangePeriod(tt.since, tt.until, now)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("RangePeriod(%q, %q) err = %v; want %q", tt.since, tt.until, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("RangePeriod(%q, %q): %v", tt.since, tt.until, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("RangePeriod(%q, %q) (-want +got):\n%s", tt.since, tt.until, diff)
		}
	}
}

func TestCheckLadder(t *testing.T) {
	t.Parallel()
	sec := func(s int64) *int64 { return result.Int64(s * 1000) }
	tests := []struct {
		name        string
		targetMs    int64
		criticality string
		measured    []*int64
		rec, by     string
		dem         string
		verdict     string
	}{
		{"seconds target", 10000, suite.High, []*int64{sec(2), sec(4)}, StrategyMultiSite, "rto-target", StrategyMultiSite, "consistent"},
		{"exactly one minute", 60000, "", []*int64{sec(60)}, StrategyMultiSite, "rto-target", StrategyMultiSite, "consistent"},
		{"five minutes", 300000, suite.Medium, []*int64{sec(161)}, StrategyWarmStandby, "rto-target", StrategyWarmStandby, "consistent"},
		{"over target, same rung", 300000, suite.Medium, []*int64{sec(390)}, StrategyWarmStandby, "rto-target", StrategyWarmStandby, "over-target"},
		{"slower rung", 600000, suite.Low, []*int64{sec(1800)}, StrategyWarmStandby, "rto-target", StrategyPilotLight, "slower"},
		{"faster than needed", 3600000, suite.Low, []*int64{sec(20)}, StrategyPilotLight, "rto-target", StrategyMultiSite, "consistent"},
		{"hours", 4 * 3600000, suite.Low, nil, StrategyBackupRestore, "rto-target", "", "unproven"},
		{"critical floor", 4 * 3600000, suite.Critical, nil, StrategyPilotLight, "criticality-floor", "", "unproven"},
		{"critical with tight target keeps target", 30000, suite.Critical, []*int64{sec(3)}, StrategyMultiSite, "rto-target", StrategyMultiSite, "consistent"},
		{"never recovered", 10000, "", []*int64{sec(2), nil}, StrategyMultiSite, "rto-target", "", "slower"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := CheckLadder(tt.targetMs, tt.criticality, tt.measured)
			if c.Recommended != tt.rec || c.RecommendedBy != tt.by || c.Demonstrated != tt.dem || c.Verdict != tt.verdict {
				t.Errorf("CheckLadder = rec %s by %s, dem %q, %s; want %s by %s, %q, %s", c.Recommended, c.RecommendedBy, c.Demonstrated, c.Verdict, tt.rec, tt.by, tt.dem, tt.verdict)
			}
		})
	}
}

func TestMillis(t *testing.T) {
	t.Parallel()
	tests := map[int64]string{
		0: "0 s", 50: "50 ms", 999: "999 ms", 1000: "1 s", 2310: "2.31 s", 9999: "10.0 s", 9994: "9.99 s", 14200: "14.2 s", 59900: "59.9 s",
		60000: "1 min", 192000: "3 min 12 s", 3600000: "1 h", 3900000: "1 h 05 min", 86400000: "24 h", -1500: "−1.50 s",
	}
	for in, want := range tests {
		if got := Millis(in); got != want {
			t.Errorf("Millis(%d) = %q; want %q", in, got, want)
		}
	}
}

func TestCapitalizeLeavesScenarioNames(t *testing.T) {
	for in, want := range map[string]string{
		"pyhttp-outage: no drill on record": "pyhttp-outage: no drill on record",
		"no drill on record":                "No drill on record",
		"":                                  "",
		"ébauche":                           "Ébauche",
	} {
		if got := capitalize(in); got != want {
			t.Errorf("capitalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStreamedJSONIsTheEncodersJSON: WriteJSON streams field by field, byte for byte what
// json.Encoder writes for the whole document, with and without optional fields and lists.
func TestStreamedJSONIsTheEncodersJSON(t *testing.T) {
	t.Parallel()
	many, signOffs := manyRuns(t, 400)
	for name, rep := range map[string]*Report{
		"fixture":    fixtureReport(t),
		"no suite":   Build(Input{Period: q3, Now: reportAt, Runs: fixtureRuns(t)}),
		"empty":      Build(Input{Period: q3, Now: reportAt}),
		"many runs":  Build(Input{Period: q3, Now: reportAt, Runs: many, SignOffs: signOffs}),
		"zero value": {},
	} {
		var want, got bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&got, rep); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want.String(), got.String()); diff != "" {
			t.Errorf("%s: streamed JSON differs (-encoder +streamed):\n%s", name, diff)
		}
	}
}
