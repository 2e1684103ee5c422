package reporters

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/drillhq/drill/internal/english"
	"github.com/drillhq/drill/internal/textwrap"
	"github.com/drillhq/drill/result"
)

// noteWidth caps free-text cells (errors) in the console tables at a few wrapped lines; the
// JSON report has them whole.
const noteWidth = 320

// tableWidth is the widest a console table may be, borders included.
const tableWidth = 120

// minNoteWidth keeps a wrapped note readable when the other columns are already wide.
const minNoteWidth = 24

// WriteSummary writes the console summary of one or more drills: per scenario a header line,
// the objectives, probes, faults and steps tables, the steady-state and rollback status, and a
// warning when the faults disturbed nothing. Several scenarios end with a count per verdict.
// It never writes colour codes, so the output is the same in a terminal, a pipe or a CI log.
func WriteSummary(w io.Writer, rs []*result.Result) error {
	var buf bytes.Buffer
	for i, r := range rs {
		if r == nil {
			return fmt.Errorf("write summary: result %d is nil", i)
		}
		if i > 0 {
			buf.WriteByte('\n')
		}
		if err := summarize(&buf, r); err != nil {
			return fmt.Errorf("write summary of %s: %w", r.Scenario, err)
		}
	}
	if len(rs) > 1 {
		fmt.Fprintf(&buf, "\n%s\n", verdictCounts(rs))
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

func summarize(buf *bytes.Buffer, r *result.Result) error {
	buf.WriteString(headerLine(r))
	buf.WriteByte('\n')

	if err := renderTable(buf, []string{"objective", "target", "measured", "met"}, objectiveRows(r)); err != nil {
		return fmt.Errorf("objectives table: %w", err)
	}
	if len(r.Probes) > 0 {
		if err := renderTable(buf, []string{"probe", "role", "samples", "failures", "down from", "recovered at", "downtime", "note"}, probeRows(r)); err != nil {
			return fmt.Errorf("probes table: %w", err)
		}
	}
	if len(r.Faults) > 0 {
		if err := renderTable(buf, []string{"fault", "type", "targets", "injected", "reverted", "error"}, faultRows(r)); err != nil {
			return fmt.Errorf("faults table: %w", err)
		}
	}
	if len(r.Steps) > 0 {
		if err := renderTable(buf, []string{"step", "phase", "type", "started", "took", "error"}, stepRows(r)); err != nil {
			return fmt.Errorf("steps table: %w", err)
		}
	}

	fmt.Fprintf(buf, "steady state: before %s, after %s\n", checkText(r.SteadyState.Before), checkText(r.SteadyState.After))
	fmt.Fprintf(buf, "rollback: %s\n", rollbackText(r))
	if line := provenanceText(r.Provenance); line != "" {
		fmt.Fprintf(buf, "recorded: %s\n", line)
	}
	if names := undisturbed(r); len(names) > 0 {
		noun := "probes"
		if len(names) == 1 {
			noun = "probe"
		}
		fmt.Fprintf(buf, "WARNING: no disruption observed by %s %s: the faults may have missed the system under test, so this RTO proves nothing\n",
			noun, strings.Join(names, ", "))
	}
	return nil
}

func headerLine(r *result.Result) string {
	var b strings.Builder
	verdict := strings.ToUpper(string(r.Verdict))
	switch {
	case r.DryRun:
		// A dry run's pass only keeps the exit code 0; it is no verdict on the system.
		verdict = "DRY RUN (nothing injected, no verdict)"
	case r.IsUnproven():
		verdict += " (UNPROVEN: no disruption observed)"
	}
	fmt.Fprintf(&b, "=== %s  system: %s  verdict: %s", oneLine(r.Scenario), oneLine(r.System), verdict)
	if r.Reason != "" && !r.DryRun {
		fmt.Fprintf(&b, " (%s)", oneLine(r.Reason))
	}
	if r.T0 != "" {
		fmt.Fprintf(&b, "  t0: %s", r.T0)
	} else {
		b.WriteString("  t0: none (no fault injected)")
	}
	return b.String()
}

func renderTable(buf *bytes.Buffer, header []string, rows [][]string) error {
	t := tablewriter.NewTable(buf,
		// ASCII borders survive every CI log viewer and non-UTF-8 terminal.
		tablewriter.WithSymbols(tw.NewSymbols(tw.StyleASCII)),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
	)
	t.Header(header)
	rows = fitLastColumn(header, rows, tableWidth)
	for _, row := range rows {
		if err := t.Append(row); err != nil {
			return err
		}
	}
	return t.Render()
}

// fitLastColumn wraps the last column (a note or an error) at word boundaries so the table
// fits in width columns; the other columns are short values and keep their width. The wrapping
// is done here rather than by tablewriter, whose width limit also narrows columns that fit.
func fitLastColumn(header []string, rows [][]string, width int) [][]string {
	n := len(header)
	if n == 0 {
		return rows
	}
	widths := make([]int, n)
	for i, h := range header {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, row := range rows {
		for i := 0; i < n && i < len(row); i++ {
			widths[i] = max(widths[i], utf8.RuneCountInString(row[i]))
		}
	}
	// "| a | b |": each column adds its padding and one border, plus the closing border.
	others := 1 + 3*n
	for _, w := range widths[:n-1] {
		others += w
	}
	avail := max(width-others, minNoteWidth)
	if widths[n-1] <= avail {
		return rows
	}
	out := make([][]string, len(rows))
	for i, row := range rows {
		out[i] = row
		if len(row) == n {
			out[i] = append(append([]string(nil), row[:n-1]...), textwrap.Wrap(row[n-1], avail))
		}
	}
	return out
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	// Capitals stand in for the red a colour terminal would use.
	return "NO"
}

func objectiveRows(r *result.Result) [][]string {
	rto, rpo := r.Objectives.RTO, r.Objectives.RPO

	rtoMeasured, rtoMet := "", yesNo(rto.Met)
	switch {
	case injectionFailed(r) != "":
		// What the probes saw after a failed injection says nothing about recovery.
		rtoMeasured, rtoMet = "not judged: injection failed", "-"
	case rto.MeasuredMs != nil:
		rtoMeasured = dur(*rto.MeasuredMs)
		if rto.ResolutionMs > 0 {
			rtoMeasured += " ±" + dur(rto.ResolutionMs)
		}
	case !injected(r):
		rtoMeasured, rtoMet = "not measured", "-"
	case notEvaluated(r.Verdict):
		// Stopped before recovery could be judged: not a miss, not a pass.
		rtoMeasured, rtoMet = "not recovered when stopped", "-"
	default:
		rtoMeasured = "not recovered"
	}

	rpoTarget := "no target"
	if rpo.TargetMs != nil {
		rpoTarget = dur(*rpo.TargetMs)
	}
	rpoMeasured, rpoMet := "", yesNo(rpo.Met)
	switch {
	case rpo.MeasuredMs != nil && rpo.Source == result.RPOSourceRestorePoint:
		// No writes were counted: the window is t0 minus the point the restore went back to.
		rpoMeasured = fmt.Sprintf("%s (restore point)", dur(*rpo.MeasuredMs))
	case rpo.MeasuredMs != nil:
		rpoMeasured = fmt.Sprintf("%s (%s)", dur(*rpo.MeasuredMs), english.Count(rpo.LostWrites, "lost write", "lost writes"))
	case rpo.DataProbes == 0:
		rpoMeasured = "n/a (no data probe)"
	default:
		rpoMeasured = "not measured"
	}
	if rpo.TargetMs == nil || (rpo.MeasuredMs == nil && (!injected(r) || notEvaluated(r.Verdict))) {
		rpoMet = "-"
	}
	return [][]string{
		{"RTO", dur(rto.TargetMs), rtoMeasured, rtoMet},
		{"RPO", rpoTarget, rpoMeasured, rpoMet},
	}
}

func probeRows(r *result.Result) [][]string {
	rows := make([][]string, 0, len(r.Probes))
	for _, p := range r.Probes {
		role := p.RoleOrDefault()
		downFrom, recovered, downtime := relPtr(p.FirstFailureMs), "-", "-"
		switch {
		case p.NoDisruption:
			downtime = "0s"
		case p.RecoveredMs != nil:
			recovered = rel(*p.RecoveredMs)
		case injected(r) && p.Samples > 0 && notEvaluated(r.Verdict):
			recovered = "not yet"
		case injected(r) && p.Samples > 0:
			recovered = "never"
		}
		if p.DowntimeMs != nil && !p.NoDisruption {
			downtime = dur(*p.DowntimeMs)
		}
		rows = append(rows, []string{
			p.Name, role, strconv.Itoa(p.Samples), strconv.Itoa(p.Failures),
			downFrom, recovered, downtime, truncate(probeNote(p), noteWidth),
		})
	}
	return rows
}

func probeNote(p result.Probe) string {
	var notes []string
	// A data probe's accounting comes first: it is what the RPO rests on.
	if d := p.Data; d != nil {
		s := fmt.Sprintf("%d acked, %d lost", d.Acknowledged, d.Lost)
		if d.Recovered > 0 {
			s += fmt.Sprintf(", %d recovered", d.Recovered)
		}
		if d.Unexpected > 0 {
			s += fmt.Sprintf(", %d UNEXPECTED (probe broken)", d.Unexpected)
		}
		notes = append(notes, s)
		if d.Error != "" {
			notes = append(notes, "read-back: "+oneLine(d.Error))
		}
	}
	if p.NoDisruption {
		notes = append(notes, "no disruption observed")
	} else if p.LastError != "" {
		notes = append(notes, oneLine(p.LastError))
	}
	return strings.Join(notes, "; ")
}

func faultRows(r *result.Result) [][]string {
	rows := make([][]string, 0, len(r.Faults))
	for _, f := range r.Faults {
		var errs []string
		if f.Error != "" {
			errs = append(errs, oneLine(f.Error))
		}
		if f.RevertError != "" {
			errs = append(errs, "revert: "+oneLine(f.RevertError))
		}
		targets := strings.Join(f.Targets, ", ")
		if targets == "" {
			targets = "-"
		}
		rows = append(rows, []string{
			f.Name, f.Type, targets, relPtr(f.InjectedAtMs), relPtr(f.RevertedAtMs),
			truncate(strings.Join(errs, "; "), noteWidth),
		})
	}
	return rows
}

func stepRows(r *result.Result) [][]string {
	rows := make([][]string, 0, len(r.Steps))
	for _, s := range r.Steps {
		took := "-"
		if s.StartedAtMs != nil {
			took = dur(s.DurationMs)
		}
		rows = append(rows, []string{
			s.Name, s.Phase, s.Type, relPtr(s.StartedAtMs), took, truncate(oneLine(s.Error), noteWidth),
		})
	}
	return rows
}

func checkText(c result.Check) string {
	switch {
	case !c.Ran && c.Skipped != "":
		return "not checked (" + oneLine(c.Skipped) + ")"
	case !c.Ran:
		return "not checked"
	case c.Passed:
		return "passed"
	case len(c.Failed) > 0:
		return "FAILED (" + oneLine(strings.Join(c.Failed, "; ")) + ")"
	default:
		return "FAILED"
	}
}

func rollbackText(r *result.Result) string {
	rb := r.Rollback
	switch {
	case !rb.Ran && !injected(r):
		return "not run (nothing injected)"
	case !rb.Ran:
		return "NOT RUN: injected faults may still be active"
	case rb.Clean:
		return "clean"
	case len(rb.Errors) > 0:
		errs := make([]string, len(rb.Errors))
		for i, e := range rb.Errors {
			errs[i] = oneLine(e)
		}
		return "FAILED: " + strings.Join(errs, "; ")
	default:
		return "FAILED"
	}
}

// provenanceText is who ran the drill, where and under which change, as one line; "" when
// nothing was recorded.
func provenanceText(p result.Provenance) string {
	var parts []string
	switch {
	case p.Operator != "" && p.Host != "":
		parts = append(parts, "by "+oneLine(p.Operator)+" on "+oneLine(p.Host))
	case p.Operator != "":
		parts = append(parts, "by "+oneLine(p.Operator))
	case p.Host != "":
		parts = append(parts, "on "+oneLine(p.Host))
	}
	if p.Environment != "" {
		parts = append(parts, "environment "+oneLine(p.Environment))
	}
	if p.Ticket != "" {
		parts = append(parts, "ticket "+oneLine(p.Ticket))
	}
	if len(p.Participants) > 0 {
		parts = append(parts, "with "+oneLine(strings.Join(p.Participants, ", ")))
	}
	return strings.Join(parts, ", ")
}
