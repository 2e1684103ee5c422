package compliance

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func TestReportShowsWhoAndWhere(t *testing.T) {
	t.Parallel()
	rep := fixtureReport(t)
	for _, format := range []string{FormatHTML, FormatMarkdown, FormatJSON} {
		var buf bytes.Buffer
		if err := Write(&buf, format, rep); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"alice", "drill-runner-1", "production", "CHG-1042", "bob (DBA)", "5d3531a0c0ff"} {
			if !strings.Contains(buf.String(), want) {
				t.Errorf("%s report lacks %q", format, want)
			}
		}
	}
}

func TestReportShowsSignOffsAndFindings(t *testing.T) {
	t.Parallel()
	rep := fixtureReport(t)
	if len(rep.AwaitingSignOff) != rep.Summary.Runs-2 {
		t.Errorf("awaiting sign-off %v, want every run in the period but the two signed off", rep.AwaitingSignOff)
	}
	var ids []string
	overdue := map[string]bool{}
	for _, f := range rep.Findings {
		ids = append(ids, f.ID)
		overdue[f.ID] = f.Overdue
	}
	if strings.Join(ids, ",") != "F-0001,F-0002,F-0003,F-0004" || !overdue["F-0003"] || overdue["F-0002"] || overdue["F-0001"] {
		t.Errorf("findings %v overdue %v: want F-0000 (closed before the period) left out, F-0003 overdue", ids, overdue)
	}
	for _, format := range []string{FormatHTML, FormatMarkdown} {
		var buf bytes.Buffer
		if err := Write(&buf, format, rep); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		// The finding's status says OVERDUE once; the row's colour marks it in HTML.
		if text := strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(out, " ")), " "); strings.Contains(strings.ToLower(text), "overdue overdue") {
			t.Errorf("%s report says overdue twice in a row", format)
		}
		for _, want := range []string{"signed off by alice (DR coordinator)", "dave (service owner)", "awaiting sign-off", "OVERDUE", "retested: passed", "snapshot job fixed", "F-0004"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s report lacks %q", format, want)
			}
		}
	}
}

func TestControlsMapping(t *testing.T) {
	t.Parallel()
	rep := fixtureReport(t)
	want := []string{"A1.3", "Annex A 5.30", "8.5", "Art. 11", "Art. 12", "3.5"}
	if len(rep.Controls) != len(want) {
		t.Fatalf("%d controls", len(rep.Controls))
	}
	for i, c := range rep.Controls {
		if c.ID != want[i] || c.Requirement == "" || c.Evidence == "" {
			t.Errorf("control %d: %+v", i, c)
		}
	}
	ev := map[string]ControlEvidence{}
	for _, e := range rep.ControlEvidence {
		ev[e.System] = e
	}
	if len(ev) != len(rep.Systems) {
		t.Errorf("evidence for %d systems, report has %d", len(ev), len(rep.Systems))
	}
	pay := ev["payments-db"]
	if pay.LastResult != "fail" || pay.OpenFindings != 1 || pay.Overdue != 1 || pay.RTOMeasuredMs == nil || *pay.RTOMeasuredMs != 390000 || pay.RTOTargetMs != 300000 {
		t.Errorf("payments-db evidence %+v", pay)
	}
	if b := ev["billing"]; b.LastResult != "" || !b.LastTest.IsZero() {
		t.Errorf("never-drilled system has evidence %+v", b)
	}
	for _, format := range []string{FormatHTML, FormatMarkdown} {
		var buf bytes.Buffer
		if err := Write(&buf, format, rep); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, s := range []string{"Controls mapping", "ISO/IEC 27001:2022", "DORA", "NIST SP 800-34", "1 (1 OVERDUE)", "never tested", "implies"} {
			if !strings.Contains(out, s) {
				t.Errorf("%s report lacks %q", format, s)
			}
		}
		if strings.Contains(out, "Guidance recommends") {
			t.Errorf("%s report still presents the target's tier as a recommendation met", format)
		}
	}
}
