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
