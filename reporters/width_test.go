package reporters

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/drillhq/drill/result"
)

// TestSummaryTablesFit120Columns: every table line fits a 120-column terminal, long notes wrap
// rather than being cut.
func TestSummaryTablesFit120Columns(t *testing.T) {
	long := rollbackErrorResult()
	long.Probes[0].LastError = strings.Repeat("connection refused by upstream ", 8) + strings.Repeat("x", 150)
	for _, r := range []*result.Result{passResult(), rtoFailResult(), neverRecoveredResult(), steadyFailedResult(), rollbackErrorResult(), noDisruptionResult(), abortedResult(), long} {
		var buf bytes.Buffer
		if err := WriteSummary(&buf, []*result.Result{r}); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(buf.String(), "\n") {
			if (strings.HasPrefix(line, "|") || strings.HasPrefix(line, "+")) && utf8.RuneCountInString(line) > tableWidth {
				t.Errorf("%s: table line of %d columns:\n%s", r.Scenario, utf8.RuneCountInString(line), line)
			}
		}
		if r == long && !strings.Contains(buf.String(), strings.Repeat("x", 24)) {
			t.Errorf("long note lost:\n%s", buf.String())
		}
	}
}
