package compliance

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/suite"
)

// A drill that stopped before its fault was stored by older versions with a 0 s RTO target;
// the report must keep the scenario's target, not take 0 s as the system's strictest one.
func TestEarlyStopDoesNotLowerTheTarget(t *testing.T) {
	t.Parallel()
	pass := mk(t, "11111111", "web-http-outage", day(8, 1, 8), 5000)
	stopped := mk(t, "22222222", "web-http-outage", day(9, 1, 8), 0)
	stopped.Verdict, stopped.T0 = result.VerdictError, ""
	stopped.Objectives.RTO = result.RTO{} // as stored before the runner recorded targets always
	rep := Build(Input{Period: q3, Now: reportAt, Runs: []*result.Result{pass, stopped}})
	sys := rep.Systems[0]
	if sys.RTOTargetMs != 30000 {
		t.Errorf("system RTO target %d ms, want the scenario's 30000", sys.RTOTargetMs)
	}
	for _, r := range sys.Scenarios[0].Runs {
		if r.RTOTargetMs != 30000 {
			t.Errorf("run %s target %d ms, want 30000", r.RunID, r.RTOTargetMs)
		}
	}
	for _, r := range rep.Runs {
		if r.RTOTargetMs != 30000 {
			t.Errorf("timeline run %s target %d ms, want 30000", r.RunID, r.RTOTargetMs)
		}
	}
}

// undisturbed returns a passing run in which no availability probe saw the fault.
func undisturbed(t *testing.T, suffix string, at time.Time) *result.Result {
	r := mk(t, suffix, "web-http-outage", at, 0)
	r.Probes[0].NoDisruption, r.Probes[0].Failures, r.Probes[0].Down = true, 0, nil
	return r
}

func TestUnprovenPassIsNotCompliance(t *testing.T) {
	t.Parallel()
	entries := []suite.Entry{{Name: "web-http-outage", System: "storefront", Cadence: suite.Monthly, RTO: 30 * time.Second}}
	now := day(9, 20, 0)
	period := Period{Since: day(7, 1, 0), Until: day(10, 1, 0)}
	tests := []struct {
		name       string
		runs       []*result.Result
		want       Status
		wantReason string
	}{
		{"only an unproven pass", []*result.Result{undisturbed(t, "aaaaaaaa", day(9, 10, 8))}, StatusUnproven, "unproven"},
		{"proven pass stays, unproven one noted", []*result.Result{mk(t, "bbbbbbbb", "web-http-outage", day(9, 1, 8), 4000), undisturbed(t, "cccccccc", day(9, 10, 8))}, StatusCompliant, "latest drill (2026-09-10) is unproven"},
		{"unproven does not refresh an old pass", []*result.Result{mk(t, "dddddddd", "web-http-outage", day(7, 2, 8), 4000), undisturbed(t, "eeeeeeee", day(9, 10, 8))}, StatusOverdue, "unproven"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep := Build(Input{Period: period, Now: now, Entries: entries, Runs: tt.runs})
			sys := rep.Systems[0]
			if sys.Status != tt.want || !strings.Contains(sys.StatusReason, tt.wantReason) {
				t.Errorf("status %s (%s), want %s mentioning %q", sys.Status, sys.StatusReason, tt.want, tt.wantReason)
			}
			if rep.Summary.Compliant+rep.Summary.Unproven+rep.Summary.Overdue != 1 {
				t.Errorf("summary %+v", rep.Summary)
			}
			var md bytes.Buffer
			if err := WriteMarkdown(&md, rep); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(md.String(), "UNPROVEN") {
				t.Errorf("markdown does not label the unproven run:\n%s", md.String())
			}
			var html bytes.Buffer
			if err := WriteHTML(&html, rep); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(html.String(), `<span class="badge unproven">unproven</span>`) {
				t.Error("HTML does not label the unproven run")
			}
		})
	}
}

// Text from scenario files and commands must stay text in the Markdown report.
func TestMarkdownEscapesRecordedText(t *testing.T) {
	t.Parallel()
	r := mk(t, "12341234", "web-http-outage", day(8, 1, 8), 5000)
	r.System = "storefront\n# Compliant <script>alert(1)</script>"
	r.Owner = "web-team | [click](http://x) *bold* [REDACTED]"
	r.Verdict, r.Reason = result.VerdictFail, "RTO over target\n## injected heading <img src=x>"
	rep := Build(Input{Period: q3, Now: reportAt, Runs: []*result.Result{r}})
	var md bytes.Buffer
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, bad := range []string{"<script>", "<img", "\n# Compliant", "\n## injected", " [click](", "*bold*", "| [click"} {
		if strings.Contains(out, bad) {
			t.Errorf("markdown passes %q through:\n%s", bad, out)
		}
	}
	for _, want := range []string{`storefront \# Compliant &lt;script&gt;alert(1)&lt;/script&gt;`, `web-team \| \[click](http://x) \*bold\*`} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks escaped %q", want)
		}
	}
	if !strings.Contains(out, "[REDACTED]") {
		t.Error("markdown hides the redaction marker behind escapes")
	}
}

// An older runner stored "RTO 0 s, met" for a drill whose fault failed to inject.
func TestFailedInjectionShowsNoRTO(t *testing.T) {
	t.Parallel()
	r := mk(t, "33333333", "web-http-outage", day(8, 1, 8), 0)
	r.Verdict, r.Reason = result.VerdictError, "inject stop-web: permission denied"
	r.Faults[0].Error = "permission denied"
	rep := Build(Input{Period: q3, Now: reportAt, Runs: []*result.Result{r}})
	row := rep.Systems[0].Scenarios[0].Runs[0]
	if row.RTOMeasuredMs != nil || row.RTOMet {
		t.Errorf("row RTO %v met %v, want not measured", row.RTOMeasuredMs, row.RTOMet)
	}
	if got := measuredRTO(row); got != "not measured" {
		t.Errorf("shown as %q", got)
	}
}
