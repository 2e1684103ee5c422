package compliance

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/internal/english"
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

// WriteJSON writes the report document, indented, with a final newline: the bytes
// json.Encoder with a two-space indent writes, but streamed field by field and list element
// by list element instead of built whole in memory first.
func WriteJSON(w io.Writer, rep *Report) error {
	bw := bufio.NewWriter(w)
	if err := writeJSONObject(bw, reflect.ValueOf(*rep)); err != nil {
		return fmt.Errorf("write report json: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write report json: %w", err)
	}
	return nil
}

// writeJSONObject writes a struct with no embedded fields, one field at a time; each element of
// a list field is encoded on its own.
func writeJSONObject(w *bufio.Writer, v reflect.Value) error {
	t := v.Type()
	w.WriteString("{")
	first := true
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() || f.Anonymous {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fv := v.Field(i)
		if opts == "omitempty" && ((fv.Kind() == reflect.Slice && fv.Len() == 0) || fv.IsZero()) {
			continue
		}
		if !first {
			w.WriteString(",")
		}
		first = false
		key, err := json.Marshal(name)
		if err != nil {
			return err
		}
		w.WriteString("\n  ")
		w.Write(key)
		w.WriteString(": ")
		if fv.Kind() != reflect.Slice || fv.Len() == 0 {
			b, err := json.MarshalIndent(fv.Interface(), "  ", "  ")
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			w.Write(b)
			continue
		}
		w.WriteString("[")
		for j := range fv.Len() {
			if j > 0 {
				w.WriteString(",")
			}
			w.WriteString("\n    ")
			b, err := json.MarshalIndent(fv.Index(j).Interface(), "    ", "  ")
			if err != nil {
				return fmt.Errorf("%s[%d]: %w", name, j, err)
			}
			w.Write(b)
		}
		w.WriteString("\n  ]")
	}
	_, err := w.WriteString("\n}\n")
	return err
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

// listedAwaiting bounds the runs awaiting sign-off a report lists; the JSON form has them all.
const listedAwaiting = 25

// awaitingShown is the newest runs awaiting sign-off the report lists, oldest first, and how
// many earlier ones it leaves out.
func awaitingShown(rep *Report) (ids []string, more int) {
	ids = rep.AwaitingSignOff
	if len(ids) > listedAwaiting {
		more = len(ids) - listedAwaiting
		ids = ids[more:]
	}
	return ids, more
}

// listedFindings bounds the findings a report lists per scenario besides the overdue ones.
const listedFindings = 5

// findingsShown is the findings the report lists, in report order: per scenario every overdue
// one and the newest listedFindings others; more counts the rest (the JSON form and
// `drill findings --all` have them all).
func findingsShown(rep *Report) (rows []FindingRow, more int) {
	others := map[string]int{} // per scenario: findings not overdue, counted from the newest
	keepIt := make([]bool, len(rep.Findings))
	for i := len(rep.Findings) - 1; i >= 0; i-- {
		f := rep.Findings[i]
		switch {
		case f.Overdue:
			keepIt[i] = true
		case others[f.Scenario] < listedFindings:
			keepIt[i] = true
			others[f.Scenario]++
		}
	}
	for i, f := range rep.Findings {
		if keepIt[i] {
			rows = append(rows, f)
		} else {
			more++
		}
	}
	return rows, more
}

// scenarioRunList is the command that prints every run of one scenario the report covers.
func scenarioRunList(rep *Report, scenario string) string {
	return rep.RunList + " --scenario " + scenario
}

// statsText sums up a scenario's runs in the period.
func statsText(s ScenarioStats) string {
	if s.Runs == 0 {
		return "no runs in the period"
	}
	out := fmt.Sprintf("%s in the period: %d passed", english.Count(s.Runs, "run", "runs"), s.Passed)
	if s.PassedUnproven > 0 {
		out += fmt.Sprintf(" (%d unproven)", s.PassedUnproven)
	}
	out += fmt.Sprintf(", %d failed, %d errored or aborted; %.0f%% proven passes", s.Failed, s.Errored, s.PassRate*100)
	if s.WorstRTOMs != nil {
		out += fmt.Sprintf("; RTO median %s, worst %s", Millis(*s.MedianRTOMs), Millis(*s.WorstRTOMs))
	}
	if s.Unrecovered > 0 {
		out += fmt.Sprintf("; %s never recovered", english.Count(s.Unrecovered, "run", "runs"))
	}
	return out
}
