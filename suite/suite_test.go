package suite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/internal/goldenfile"
	"github.com/drillhq/drill/result"
)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}

func dur(d time.Duration) *time.Duration { return &d }

func TestLoad(t *testing.T) {
	t.Parallel()
	s, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Path, Name, System, Owner, Cadence, CadenceFrom, Criticality string
		RTO                                                          time.Duration
		RPO                                                          *time.Duration
		Line                                                         int
	}
	var got []row
	for _, e := range s.Entries {
		if len(e.SHA256) != 64 {
			t.Errorf("%s: sha256 %q is not a hex digest", e.Path, e.SHA256)
		}
		got = append(got, row{e.Path, e.Name, e.System, e.Owner, e.Cadence, e.CadenceFrom, e.Criticality, e.RTO, e.RPO, e.Line})
	}
	want := []row{
		{"testdata/drills/etcd-minority-loss.yaml", "etcd-minority-member-loss", "orders-etcd", "platform-team", "quarterly", "scenario", "critical", 10 * time.Second, dur(0), 8},
		// The glob expands sorted; the later explicit entry for web-http-outage is a duplicate
		// and does not change its criticality.
		{"testdata/drills/web-dns-failover.yaml", "web-dns-failover", "storefront", "web-team", "semiannual", "defaults", "high", 2 * time.Minute, nil, 10},
		{"testdata/drills/web-http-outage.yaml", "web-http-outage", "storefront", "web-team", "monthly", "scenario", "high", 30 * time.Second, nil, 10},
		{"testdata/drills/payments-rds-failover.yaml", "payments-rds-failover", "payments-db", "payments-team", "monthly", "suite", "critical", 5 * time.Minute, dur(time.Minute), 14},
		{"testdata/drills/billing-restore.yaml", "billing-restore", "billing", "finance-it", "annual", "scenario", "medium", 4 * time.Hour, dur(24 * time.Hour), 17},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if s.Name != "production-dr" || s.Description != "Quarterly DR programme." {
		t.Errorf("name/description = %q/%q", s.Name, s.Description)
	}
	if diff := cmp.Diff([]string{
		"testdata/drills/etcd-minority-loss.yaml", "testdata/drills/web-dns-failover.yaml",
		"testdata/drills/web-http-outage.yaml", "testdata/drills/payments-rds-failover.yaml",
		"testdata/drills/billing-restore.yaml",
	}, s.Paths()); diff != "" {
		t.Errorf("Paths (-want +got):\n%s", diff)
	}
}

func TestLoadReportsEveryError(t *testing.T) {
	t.Parallel()
	_, err := Load("testdata/bad.yaml")
	if err == nil {
		t.Fatal("bad suite loaded")
	}
	want := []string{
		`testdata/bad.yaml:1:10: unsupported suite version "2" (want 1)`,
		`testdata/bad.yaml:2:1: unknown key "nmae" (did you mean "name"?)`,
		`testdata/bad.yaml:4:12: unknown cadence "fortnightly" (want weekly|monthly|quarterly|semiannual|annual)`,
		`testdata/bad.yaml:6:11: scenario file testdata/drills/missing.yaml does not exist`,
		`testdata/bad.yaml:7:11: glob "drills/nothing-*.yaml" matches no file (looked in testdata)`,
		`testdata/bad.yaml:9:18: unknown criticality "tier-1" (want critical|high|medium|low)`,
		`testdata/bad.yaml:10:5: unknown key "cadense" (did you mean "cadence"?)`,
		`testdata/bad.yaml:11:5: entry has no path:`,
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("a.yaml", "version: 1\nname: same\nsystem: s\n")
	write("b.yaml", "version: 1\nname: same\nsystem: s\n")
	write("noname.yaml", "version: 1\nsystem: s\n")
	write("badrto.yaml", "version: 1\nname: x\nobjectives: { rto: soon }\n")
	write("badcad.yaml", "version: 1\nname: y\ncadence: daily\n")
	tests := []struct{ name, body, want string }{
		{"empty", "", "empty suite file"},
		{"not a mapping", "- a.yaml\n", "a suite is a mapping"},
		{"no version", "scenarios: [a.yaml]\n", "missing version: 1"},
		{"no scenarios", "version: 1\n", "missing scenarios:"},
		{"empty list", "version: 1\nscenarios: []\n", "must be a non-empty list"},
		{"duplicate name", "version: 1\nscenarios: [a.yaml, b.yaml]\n", `both define scenario "same"`},
		{"scenario without name", "version: 1\nscenarios: [noname.yaml]\n", "has no name:"},
		{"bad rto", "version: 1\nscenarios: [badrto.yaml]\n", `objectives.rto: invalid duration "soon"`},
		{"bad scenario cadence", "version: 1\nscenarios: [badcad.yaml]\n", `unknown cadence "daily"`},
		{"bad glob", "version: 1\nscenarios: [\"[\"]\n", "bad glob"},
		{"entry is a list", "version: 1\nscenarios: [[a.yaml]]\n", "a scenarios: entry is a path or a mapping"},
		{"yaml syntax", "version: 1\nscenarios: [a.yaml\n", "suite-yaml syntax.yaml:"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name := fmt.Sprintf("suite-%d.yaml", i)
			if tt.name == "yaml syntax" {
				name = "suite-yaml syntax.yaml"
			}
			_, err := Load(write(name, tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %v; want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "absent.yaml")); err == nil || !strings.Contains(err.Error(), "read suite") {
		t.Errorf("missing suite file: err = %v", err)
	}
}

func TestNextDue(t *testing.T) {
	t.Parallel()
	d := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		last, cadence, want string
	}{
		{"2026-07-01T09:30:00Z", Weekly, "2026-07-08T09:30:00Z"},
		{"2026-07-01T09:30:00Z", Monthly, "2026-08-01T09:30:00Z"},
		{"2026-01-31T10:00:00Z", Monthly, "2026-02-28T10:00:00Z"},
		{"2028-01-31T10:00:00Z", Monthly, "2028-02-29T10:00:00Z"},
		{"2026-11-30T10:00:00Z", Quarterly, "2027-02-28T10:00:00Z"},
		{"2026-08-31T00:00:00Z", Semiannual, "2027-02-28T00:00:00Z"},
		{"2028-02-29T12:00:00Z", Annual, "2029-02-28T12:00:00Z"},
		{"2026-12-15T23:59:59Z", Monthly, "2027-01-15T23:59:59Z"},
		// Calendar math happens in UTC: 31 Jan 23:30 in -05:00 is 1 Feb 04:30 UTC.
		{"2026-01-31T23:30:00-05:00", Monthly, "2026-03-01T04:30:00Z"},
	}
	for _, tt := range tests {
		got, err := NextDue(d(tt.last), tt.cadence)
		if err != nil {
			t.Fatal(err)
		}
		if want := d(tt.want); !got.Equal(want) {
			t.Errorf("NextDue(%s, %s) = %s; want %s", tt.last, tt.cadence, got.Format(time.RFC3339), tt.want)
		}
	}
	if _, err := NextDue(d("2026-01-01T00:00:00Z"), "daily"); err == nil {
		t.Error("NextDue with an unknown cadence succeeded")
	}
}

var now = time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }

func res(id, scenario string, at time.Time, verdict result.Verdict) *result.Result {
	return &result.Result{Schema: result.Schema, RunID: id, Scenario: scenario, System: "sys", StartedAt: at, FinishedAt: at.Add(time.Minute), Verdict: verdict}
}

// fixtureRuns is the history behind the golden due file.
func fixtureRuns() []*result.Result {
	dry := res("dry-1", "billing-restore", day(2026, 9, 1), result.VerdictPass)
	dry.DryRun = true
	return []*result.Result{
		res("etcd-1", "etcd-minority-member-loss", day(2026, 5, 1), result.VerdictPass),
		res("etcd-2", "etcd-minority-member-loss", day(2026, 8, 20), result.VerdictFail),
		res("web-1", "web-http-outage", day(2026, 7, 20), result.VerdictPass),
		res("web-2", "web-http-outage", day(2026, 8, 20), result.VerdictPass),
		res("dns-1", "web-dns-failover", day(2026, 7, 1), result.VerdictPass),
		res("pay-1", "payments-rds-failover", day(2026, 9, 1), result.VerdictFail),
		res("pay-2", "payments-rds-failover", day(2026, 9, 2), result.VerdictError),
		dry,
		// Starts after now: a report "as of" an earlier date must not see it.
		res("web-future", "web-http-outage", day(2026, 9, 30), result.VerdictPass),
		res("other", "not-in-suite", day(2026, 9, 1), result.VerdictPass),
	}
}

func formatItems(items []Item) string {
	var b strings.Builder
	for _, it := range items {
		fmt.Fprintf(&b, "%-26s %-11s cadence=%-10s", it.Entry.Name, it.Status, it.Entry.Cadence)
		if it.LastPass != nil {
			fmt.Fprintf(&b, " lastPass=%s@%s", it.LastPass.RunID, it.LastPass.StartedAt.Format("2006-01-02"))
		}
		if it.LastRun != nil {
			fmt.Fprintf(&b, " lastRun=%s:%s", it.LastRun.RunID, it.LastRun.Verdict)
		}
		if !it.DueAt.IsZero() {
			fmt.Fprintf(&b, " due=%s", it.DueAt.Format(time.RFC3339))
		}
		if it.Overdue > 0 {
			fmt.Fprintf(&b, " overdue=%s", it.Overdue)
		}
		if it.DueIn > 0 {
			fmt.Fprintf(&b, " dueIn=%s", it.DueIn)
		}
		fmt.Fprintf(&b, " needsRun=%v\n", it.NeedsRun())
	}
	return b.String()
}

func TestDueGolden(t *testing.T) {
	t.Parallel()
	s, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	items := Due(now, s.Entries, fixtureRuns())
	golden(t, "due.golden", []byte(formatItems(items)))

	SortByUrgency(items)
	golden(t, "due-by-urgency.golden", []byte(formatItems(items)))
}

func TestDueStatus(t *testing.T) {
	t.Parallel()
	entry := Entry{Name: "s", Cadence: Monthly}
	tests := []struct {
		name    string
		entry   Entry
		runs    []*result.Result
		want    Status
		overdue time.Duration
		dueIn   time.Duration
	}{
		{"no runs", entry, nil, StatusNeverRun, 0, 0},
		{"only failures", entry, []*result.Result{res("a", "s", day(2026, 9, 1), result.VerdictFail)}, StatusNeverRun, 0, 0},
		{"due exactly now", entry, []*result.Result{res("a", "s", now.AddDate(0, -1, 0), result.VerdictPass)}, StatusOverdue, 0, 0},
		{"one second overdue", entry, []*result.Result{res("a", "s", now.AddDate(0, -1, 0).Add(-time.Second), result.VerdictPass)}, StatusOverdue, time.Second, 0},
		{"due in exactly 30 days", Entry{Name: "s", Cadence: Quarterly}, []*result.Result{res("a", "s", time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC), result.VerdictPass)}, StatusDueSoon, 0, 30 * 24 * time.Hour},
		{"due in 30 days and 1s", Entry{Name: "s", Cadence: Quarterly}, []*result.Result{res("a", "s", time.Date(2026, 7, 15, 12, 0, 1, 0, time.UTC), result.VerdictPass)}, StatusCompliant, 0, 30*24*time.Hour + time.Second},
		{"weekly, passed an hour ago", Entry{Name: "s", Cadence: Weekly}, []*result.Result{res("a", "s", now.Add(-time.Hour), result.VerdictPass)}, StatusDueSoon, 0, 7*24*time.Hour - time.Hour},
		{"annual, passed yesterday", Entry{Name: "s", Cadence: Annual}, []*result.Result{res("a", "s", now.Add(-24*time.Hour), result.VerdictPass)}, StatusCompliant, 0, 364 * 24 * time.Hour},
		{"newest pass counts, not the oldest", entry, []*result.Result{
			res("old", "s", day(2026, 1, 1), result.VerdictPass),
			res("new", "s", day(2026, 9, 10), result.VerdictPass),
		}, StatusDueSoon, 0, 25 * 24 * time.Hour},
		{"a later failure does not reset the clock", entry, []*result.Result{
			res("p", "s", day(2026, 9, 10), result.VerdictPass),
			res("f", "s", day(2026, 9, 14), result.VerdictFail),
		}, StatusDueSoon, 0, 25 * 24 * time.Hour},
		{"dry run is not evidence", entry, []*result.Result{func() *result.Result {
			r := res("d", "s", day(2026, 9, 10), result.VerdictPass)
			r.DryRun = true
			return r
		}()}, StatusNeverRun, 0, 0},
		{"no cadence", Entry{Name: "s"}, []*result.Result{res("a", "s", day(2020, 1, 1), result.VerdictPass)}, StatusUnscheduled, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			it := Due(now, []Entry{tt.entry}, tt.runs)[0]
			if it.Status != tt.want || it.Overdue != tt.overdue || it.DueIn != tt.dueIn {
				t.Errorf("status=%s overdue=%s dueIn=%s; want %s, %s, %s", it.Status, it.Overdue, it.DueIn, tt.want, tt.overdue, tt.dueIn)
			}
		})
	}
}

func TestDueFromHistoryAndSelectDue(t *testing.T) {
	t.Parallel()
	store, err := history.Open(filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	for _, r := range fixtureRuns() {
		if r.DryRun {
			continue // the store refuses dry runs; Due ignoring them is tested without a store
		}
		if err := store.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fromStore, err := DueFromHistory(ctx, now, s.Entries, store)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(formatItems(Due(now, s.Entries, fixtureRuns())), formatItems(fromStore)); diff != "" {
		t.Errorf("DueFromHistory differs from Due on the same runs (-want +got):\n%s", diff)
	}

	due, err := SelectDue(ctx, now, s.Entries, store)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range due {
		names = append(names, e.Name)
	}
	// Suite order; web-http-outage (due in 5 days) and web-dns-failover (compliant) stay out.
	want := []string{"etcd-minority-member-loss", "payments-rds-failover", "billing-restore"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("SelectDue (-want +got):\n%s", diff)
	}
}

func TestEntriesFromHistory(t *testing.T) {
	t.Parallel()
	old := res("o", "a-scn", day(2026, 1, 1), result.VerdictPass)
	old.System, old.Cadence = "sys-old", Annual
	newer := res("n", "a-scn", day(2026, 6, 1), result.VerdictFail)
	newer.System, newer.Owner, newer.Cadence, newer.ScenarioFile = "sys-a", "team", Quarterly, "drills/a.yaml"
	newer.Objectives.RTO.TargetMs = 10000
	newer.Objectives.RPO.TargetMs = result.Int64(0)
	b := res("b", "b-scn", day(2026, 2, 1), result.VerdictPass)
	b.System = "sys-0"
	// c-scn's newest run stopped before its fault and was stored with a 0 s target.
	c1 := res("c1", "c-scn", day(2026, 2, 1), result.VerdictPass)
	c1.System, c1.Objectives.RTO.TargetMs = "sys-c", 30000
	c2 := res("c2", "c-scn", day(2026, 3, 1), result.VerdictError)
	c2.System = "sys-c"
	got := EntriesFromHistory([]*result.Result{old, newer, b, c1, c2})
	want := []Entry{
		{Name: "b-scn", System: "sys-0"},
		{Path: "drills/a.yaml", Name: "a-scn", System: "sys-a", Owner: "team", Cadence: Quarterly, CadenceFrom: "history", RTO: 10 * time.Second, RPO: dur(0)},
		{Name: "c-scn", System: "sys-c", RTO: 30 * time.Second},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EntriesFromHistory (-want +got):\n%s", diff)
	}
}
