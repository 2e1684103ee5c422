// Package reporters renders drill results (result.Result) for people and machines: the console
// summary and live progress, the JSON document, and JUnit XML for CI (docs/DESIGN.md §5).
package reporters

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/drillhq/drill/internal/english"
	"github.com/drillhq/drill/result"
)

// rel formats a millisecond offset relative to t0 as "+1.234s" / "-0.250s", with a sign always,
// so a reader can tell at a glance whether something happened before or after the fault.
func rel(ms int64) string {
	sign := "+"
	if ms < 0 {
		sign = "-"
		ms = -ms
	}
	return fmt.Sprintf("%s%d.%03ds", sign, ms/1000, ms%1000)
}

// relPtr is rel for optional offsets; missing shows as "-".
func relPtr(ms *int64) string {
	if ms == nil {
		return "-"
	}
	return rel(*ms)
}

// dur formats a millisecond duration the way scenario files spell them ("1.52s", "20ms", "2m0s").
func dur(ms int64) string {
	return (time.Duration(ms) * time.Millisecond).String()
}

// secs formats milliseconds as seconds with exactly three decimals ("2.310s"): measured values
// keep their full millisecond precision, unlike targets which are shown as written.
func secs(ms int64) string {
	sign := ""
	if ms < 0 {
		sign = "-"
		ms = -ms
	}
	return fmt.Sprintf("%s%d.%03ds", sign, ms/1000, ms%1000)
}

// oneLine folds a possibly multi-line message (command stderr, wrapped errors) onto one line so
// that line-oriented outputs stay one line per item. It also drops terminal escape sequences
// and other control characters: error text must neither colour nor garble the console.
func oneLine(s string) string {
	s = strings.TrimSpace(ansiEscape.ReplaceAllString(s, ""))
	if strings.ContainsAny(s, "\r\n") {
		fields := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
		for i, f := range fields {
			fields[i] = strings.TrimSpace(f)
		}
		s = strings.Join(fields, " | ")
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
}

// ansiEscape matches terminal escape sequences (CSI such as colours, and OSC), which the stderr
// of a failed command often carries.
var ansiEscape = regexp.MustCompile("\x1b\\[[0-?]*[ -/]*[@-~]|\x1b\\][^\x07\x1b]*(\x07|\x1b\\\\)")

// truncate shortens s to at most n runes, marking the cut, so one long error cannot blow a
// console table out to hundreds of columns (the full text is in the JSON report).
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

// injected reports whether any fault of r was injected, i.e. whether there is anything to
// measure a recovery from.
func injected(r *result.Result) bool {
	if r.T0 != "" {
		return true
	}
	for _, f := range r.Faults {
		if f.InjectedAtMs != nil {
			return true
		}
	}
	return false
}

// notEvaluated reports whether the drill ended without a judgement (docs/DESIGN.md §4: error or
// aborted), so unmeasured objectives are reported as errors, not as failures of the system.
func notEvaluated(verdict result.Verdict) bool {
	return verdict == result.VerdictError || verdict == result.VerdictAborted
}

// injectionFailed returns the first fault's injection error, "" when every injection worked.
func injectionFailed(r *result.Result) string {
	for _, f := range r.Faults {
		if f.Error != "" {
			return f.Name + ": " + oneLine(f.Error)
		}
	}
	return ""
}

// steadyBeforeFailed reports whether the drill stopped at the preflight check.
func steadyBeforeFailed(r *result.Result) bool {
	return r.SteadyState.Before.Ran && !r.SteadyState.Before.Passed
}

// undisturbed lists the availability probes that saw no failure after t0: a fault that
// disturbed nothing probably hit the wrong target, and RTO 0 then proves nothing.
func undisturbed(r *result.Result) []string {
	if !injected(r) {
		return nil
	}
	var names []string
	for _, p := range r.Probes {
		if p.NoDisruption && p.IsAvailability() {
			names = append(names, p.Name)
		}
	}
	return names
}

// verdictCounts is the "2 pass, 1 fail" line: known verdicts in severity order, then any other.
func verdictCounts(rs []*result.Result) string {
	counts := map[result.Verdict]int{}
	var extra []result.Verdict
	for _, r := range rs {
		if counts[r.Verdict] == 0 {
			switch r.Verdict {
			case result.VerdictPass, result.VerdictFail, result.VerdictError, result.VerdictAborted:
			default:
				extra = append(extra, r.Verdict)
			}
		}
		counts[r.Verdict]++
	}
	var parts []string
	for _, v := range append([]result.Verdict{result.VerdictPass, result.VerdictFail, result.VerdictError, result.VerdictAborted}, extra...) {
		if counts[v] > 0 {
			name := string(v)
			if name == "" {
				name = "(no verdict)"
			}
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], name))
		}
	}
	line := fmt.Sprintf("%s: %s", english.Count(len(rs), "scenario", "scenarios"), strings.Join(parts, ", "))
	quiet := 0
	for _, r := range rs {
		if len(undisturbed(r)) > 0 {
			quiet++
		}
	}
	if quiet > 0 {
		line += fmt.Sprintf("; WARNING: %d with no disruption observed", quiet)
	}
	return line
}
