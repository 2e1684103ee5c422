package compliance

import (
	"bytes"
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
		for _, want := range []string{"signed off by alice (DR coordinator)", "dave (service owner)", "awaiting sign-off", "OVERDUE", "retested: passed", "snapshot job fixed", "F-0004"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s report lacks %q", format, want)
			}
		}
	}
}
