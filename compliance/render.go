package compliance

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/drillhq/drill/history"
)

// Formats accepted by Write.
const (
	FormatHTML     = "html"
	FormatMarkdown = "md"
	FormatJSON     = "json"
)

// Formats lists the output formats.
func Formats() []string { return []string{FormatHTML, FormatMarkdown, FormatJSON} }

// Write renders rep in the named format.
func Write(w io.Writer, format string, rep *Report) error {
	switch format {
	case FormatHTML:
		return WriteHTML(w, rep)
	case FormatMarkdown, "markdown":
		return WriteMarkdown(w, rep)
	case FormatJSON:
		return WriteJSON(w, rep)
	}
	return fmt.Errorf("unknown report format %q (want %s)", format, strings.Join(Formats(), "|"))
}

// WriteJSON writes the report document, indented, with a final newline.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("write report json: %w", err)
	}
	return nil
}

// methodNotes explain how every figure in the report was obtained; both the HTML and the
// Markdown report end with them so the document stands on its own.
func methodNotes(rep *Report) []string {
	return []string{
		"RTO (measured): for each availability probe, the start of its earliest sample after t0 from which every later sample succeeded until the end of observation; the RTO is the largest of these. t0 is the instant the first fault's injection started. Values are accurate to about one probe interval (the resolution shown).",
		"RPO (measured): data probes write sequenced records and read them back after recovery. Lost writes are acknowledged writes that are absent; RPO is 0 when none is lost, otherwise the time between the newest surviving acknowledged write before the loss and the newest lost one.",
		fmt.Sprintf("Status is judged as of %s. compliant: the newest drill passed within its cadence. overdue: the newest drill passed, but longer ago than the cadence allows. failing: the newest drill did not pass (fail, error or aborted). never drilled: no drill on record. unproven: drills passed, but in none of them did an availability probe see any disruption, so the faults may have missed the system; such a pass is shown but never counts as a passing drill. A system takes the worst status of its drills (failing, then never drilled or unproven, then overdue).", DateTime(rep.AsOf)),
		"Cadence: weekly = 7 days; monthly, quarterly, semiannual, annual = 1, 3, 6, 12 calendar months (UTC) after the last passing drill, clamped to the end of shorter months. Dry runs are not evidence.",
		"DR strategy ladder: source " + LadderSource + ". The whitepaper gives orders of magnitude (hours; tens of minutes; minutes; real time); drill uses these upper bounds on RTO: multi-site active/active ≤ 1 min, warm standby ≤ 10 min, pilot light ≤ 1 h, backup & restore > 1 h. The tier a target implies is the least costly strategy whose typical RTO meets it; drill's own policy adds that a critical system is recommended at least pilot light. A tier implied by a target is what the system is meant to achieve, not evidence that it does: \"Drills demonstrate\" places the worst RTO measured in the period on the same scale.",
		"Every figure comes from a stored drill.result/v1 document; the evidence appendix lists each run cited with its id, times, tool version and the SHA-256 of the scenario file it ran, so a reviewer can retrieve it with `drill history --json`.",
	}
}

func statusIcon(s Status) string {
	switch s {
	case StatusCompliant:
		return "✅"
	case StatusOverdue:
		return "⚠️"
	case StatusFailing:
		return "❌"
	}
	return "⬜"
}

func ladderVerdictText(c LadderCheck) string {
	switch c.Verdict {
	case "consistent":
		return "consistent with guidance"
	case "slower":
		if c.Unrecovered > 0 {
			return "not demonstrated: a drill never recovered"
		}
		return "slower than guidance"
	case "over-target":
		return "right strategy, but over the RTO target"
	}
	return "not demonstrated: no measurement in period"
}

func criticalityText(c string) string {
	if c == "" {
		return "not set"
	}
	return c
}

func cadenceText(cs []string) string {
	if len(cs) == 0 {
		return "none"
	}
	return strings.Join(cs, ", ")
}

func rpoTargetText(ms *int64) string {
	if ms == nil {
		return "none"
	}
	return Millis(*ms)
}

// measuredRTO says what the RTO column shows for a run.
func measuredRTO(r RunRow) string {
	if r.RTOMeasuredMs == nil {
		if r.Verdict == "fail" {
			return "not recovered"
		}
		return "not measured"
	}
	return Millis(*r.RTOMeasuredMs)
}

func measuredRPO(r RunRow) string {
	if r.RPOMeasuredMs == nil {
		return "not measured"
	}
	return Millis(*r.RPOMeasuredMs)
}

func lastPassText(p *RunRef) string {
	if p == nil {
		return "none on record"
	}
	s := Date(p.StartedAt)
	if p.RTOMeasuredMs != nil {
		s += " (RTO " + Millis(*p.RTOMeasuredMs) + ")"
	}
	return s
}

func scopeText(rep *Report) string {
	if rep.Suite == nil {
		return "all scenarios in history"
	}
	if rep.Suite.Name != "" {
		return fmt.Sprintf("suite %s (%s)", rep.Suite.Name, rep.Suite.File)
	}
	return "suite " + rep.Suite.File
}

func periodText(p Period) string {
	if strings.Contains(p.Label, " to ") || p.Label == "" {
		return p.Dates()
	}
	return fmt.Sprintf("%s (%s)", p.Label, p.Dates())
}

// spanText describes a fault or step for text outputs.
func spanText(s Span) string {
	if s.FromMs == nil {
		return fmt.Sprintf("%s (%s) not started", s.Name, s.Type)
	}
	out := fmt.Sprintf("%s (%s) %s", s.Name, s.Type, rel(*s.FromMs))
	if s.ToMs != nil {
		out += " → " + rel(*s.ToMs)
	}
	if s.Error != "" {
		out += " — error: " + s.Error
	}
	return out
}

func laneText(l Lane) string {
	out := fmt.Sprintf("%s (%s)", l.Name, l.Role)
	switch {
	case l.NoDisruption:
		return out + " no disruption observed"
	case len(l.Down) == 0 && l.RecoveredMs != nil:
		return out + " up throughout"
	case len(l.Down) == 0:
		return out + " not measured"
	}
	var parts []string
	for _, d := range l.Down {
		parts = append(parts, rel(d.FromMs)+" → "+rel(d.ToMs))
	}
	out += " down " + strings.Join(parts, ", ")
	if l.RecoveredMs == nil {
		out += "; never recovered"
	} else if l.DowntimeMs != nil {
		out += fmt.Sprintf("; recovered %s (downtime %s)", rel(*l.RecoveredMs), Millis(*l.DowntimeMs))
	}
	return out
}

// signOffText lists a run's sign-offs, or says it awaits one.
func signOffText(sos []history.SignOff) string {
	if len(sos) == 0 {
		return "awaiting sign-off"
	}
	var parts []string
	for _, so := range sos {
		t := so.By
		if so.Role != "" {
			t += " (" + so.Role + ")"
		}
		t += " on " + DateTime(so.At)
		if so.Note != "" {
			t += ": " + so.Note
		}
		parts = append(parts, t)
	}
	return "signed off by " + strings.Join(parts, "; ")
}

// findingStatusText is a finding's state as people read it; overdue comes first.
func findingStatusText(f FindingRow) string {
	var s string
	switch {
	case f.Overdue:
		s = "OVERDUE"
	case f.Status == history.FindingClosed:
		s = "closed " + Date(f.ClosedAt)
		if f.CloseNote != "" {
			s += ": " + f.CloseNote
		}
	default:
		s = "open"
	}
	if f.Retest != nil {
		s += fmt.Sprintf("; retested: %s (%s, run %s)", f.Retest.Result, Date(f.Retest.At), f.Retest.RunID)
	}
	return s
}

func daysText(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// controlResultText is the newest run's verdict, labelled when it proves nothing.
func controlResultText(e ControlEvidence) string {
	switch {
	case e.LastResult == "":
		return "never tested"
	case e.LastUnproven:
		return string(e.LastResult) + " (unproven: no disruption observed)"
	}
	return string(e.LastResult) + " (" + e.LastRunID + ")"
}

func openFindingsText(e ControlEvidence) string {
	s := fmt.Sprint(e.OpenFindings)
	if e.Overdue > 0 {
		s += fmt.Sprintf(" (%d OVERDUE)", e.Overdue)
	}
	return s
}
