package reporters

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/drillhq/drill/internal/english"
	"github.com/drillhq/drill/result"
)

// The JUnit dialect below is the common subset read by Jenkins (junit plugin), GitLab,
// mikepenz/action-junit-report and dorny/test-reporter: testsuites > testsuite (with
// properties and system-out) > testcase with at most one failure, error or skipped child.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  *junitText      `xml:"system-out"`
}

// junitText is element text written as CDATA, so multi-line output stays readable in the raw
// file instead of turning every newline into &#xA;.
type junitText struct {
	Text string `xml:",cdata"`
}

func text(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{Text: clean(s)}
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	Skipped   *junitSkipped `xml:"skipped"`
	SystemOut *junitText    `xml:"system-out"`
	SystemErr *junitText    `xml:"system-err"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// Testcase names, one per question a drill answers (docs/DESIGN.md §5).
const (
	caseSteady   = "steady-state"
	caseRTO      = "rto"
	caseRPO      = "rpo"
	caseRollback = "rollback"
)

// WriteJUnit writes JUnit XML with one testsuite per scenario and the testcases steady-state,
// rto, rpo and rollback. Missed objectives are failures carrying measured vs target; testcases
// a drill that ended in error or aborted could not evaluate are errors; those that do not apply
// (no RPO objective and no data probe, nothing measured because the system was not in steady
// state) are skipped. The suite's system-out holds the event timeline. The rto testcase's time
// is the measured RTO, so CI duration trends chart it.
func WriteJUnit(w io.Writer, rs []*result.Result) error {
	doc := junitSuites{Name: "drill"}
	var totalMs int64
	for i, r := range rs {
		if r == nil {
			return fmt.Errorf("write junit: result %d is nil", i)
		}
		s, ms := junitSuiteFor(r)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		totalMs += ms
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = seconds(totalMs)

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

// junitSuiteFor builds the testsuite of one result and returns its duration in ms.
func junitSuiteFor(r *result.Result) (junitSuite, int64) {
	var ms int64
	if !r.StartedAt.IsZero() && r.FinishedAt.After(r.StartedAt) {
		ms = r.FinishedAt.Sub(r.StartedAt).Milliseconds()
	}
	s := junitSuite{
		Name:      clean(r.Scenario),
		Time:      seconds(ms),
		Timestamp: timestamp(r),
	}
	for _, p := range [][2]string{
		{"system", r.System},
		{"owner", r.Owner},
		{"runId", r.RunID},
		{"verdict", string(r.Verdict)},
		{"reason", oneLine(r.Reason)},
		{"t0", r.T0},
		{"scenarioFile", r.ScenarioFile},
		{"scenarioSha256", r.ScenarioSHA256},
		{"toolVersion", r.ToolVersion},
		{"toolCommit", r.ToolCommit},
		{"operator", r.Operator},
		{"host", r.Host},
		{"environment", r.Environment},
		{"participants", strings.Join(r.Participants, ", ")},
		{"ticket", r.Ticket},
		{"dryRun", boolProp(r.DryRun)},
		{"unproven", boolProp(r.IsUnproven())},
	} {
		if p[1] != "" {
			s.Properties = append(s.Properties, junitProperty{Name: p[0], Value: clean(p[1])})
		}
	}

	class := clean("drill." + r.System + "." + r.Scenario)
	cases := []junitCase{steadyCase(r), rtoCase(r), rpoCase(r), rollbackCase(r)}
	judgeable(r, cases)
	for _, c := range cases {
		c.Classname = class
		c.File = clean(r.ScenarioFile)
		if c.Time == "" {
			c.Time = seconds(0)
		}
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}

	var out strings.Builder
	for _, e := range r.Events {
		out.WriteString(eventLine(e))
		out.WriteByte('\n')
	}
	s.SystemOut = text(out.String())
	return s, ms
}

// judgeable makes sure a drill that ended in error or aborted shows as an error in CI: when no
// testcase already carries the error (a recovery step or a cleanup failed, say), the rto
// testcase does, since the recovery it measured can not be trusted.
func judgeable(r *result.Result, cases []junitCase) {
	if !notEvaluated(r.Verdict) {
		return
	}
	for _, c := range cases {
		if c.Error != nil {
			return
		}
	}
	for i := range cases {
		if cases[i].Name != caseRTO {
			continue
		}
		body := rtoBody(r)
		if cases[i].Failure != nil {
			body = cases[i].Failure.Message + "\n" + cases[i].Failure.Body
		}
		cases[i].Failure, cases[i].Skipped, cases[i].SystemOut = nil, nil, nil
		cases[i].Error = failure(string(r.Verdict), "RTO not judged: "+notRunReason(r), body)
	}
}

func boolProp(b bool) string {
	if b {
		return "true"
	}
	return ""
}

func unprovenText(r *result.Result) string {
	if r.UnprovenReason != "" {
		return r.UnprovenReason
	}
	return result.UnprovenText
}

func timestamp(r *result.Result) string {
	if r.StartedAt.IsZero() {
		return ""
	}
	return r.StartedAt.UTC().Format("2006-01-02T15:04:05Z07:00")
}

func seconds(ms int64) string { return fmt.Sprintf("%d.%03d", ms/1000, ms%1000) }

func failure(kind, message, body string) *junitProblem {
	return &junitProblem{Message: clean(oneLine(message)), Type: kind, Body: clean(body)}
}

// notRunReason says why a drill could not evaluate an objective.
func notRunReason(r *result.Result) string {
	if r.Reason != "" {
		return oneLine(r.Reason)
	}
	return "drill ended with verdict " + string(r.Verdict)
}

const notSteady = "not measured: system not in steady state"

func steadyCase(r *result.Result) junitCase {
	c := junitCase{Name: caseSteady}
	before, after := r.SteadyState.Before, r.SteadyState.After
	switch {
	// A drill that could not reach or restore steady state is an error (verdict error), not a
	// missed objective: only a missed RTO or RPO is a <failure>.
	case before.Ran && !before.Passed:
		c.Error = failure(caseSteady, "system not in steady state before the drill: "+strings.Join(before.Failed, "; "),
			"steady-state probes failing before any fault was injected:\n"+lines(before.Failed))
	case after.Ran && !after.Passed:
		c.Error = failure(caseSteady, "steady state not restored after rollback: "+strings.Join(after.Failed, "; "),
			"steady-state probes failing after rollback:\n"+lines(after.Failed))
	case notEvaluated(r.Verdict) && !(before.Ran && after.Ran):
		which := "after rollback"
		skipped := after.Skipped
		if !before.Ran {
			which, skipped = "before the drill", before.Skipped
		}
		msg := "steady state " + which + " not checked: " + notRunReason(r)
		c.Error = failure(string(r.Verdict), msg, skippedNote(skipped))
	case !before.Ran && !after.Ran:
		msg := "no steady-state check"
		if before.Skipped != "" {
			msg += ": " + before.Skipped
		}
		c.Skipped = &junitSkipped{Message: clean(oneLine(msg))}
	}
	return c
}

func skippedNote(s string) string {
	if s == "" {
		return ""
	}
	return "skipped: " + s
}

func rtoCase(r *result.Result) junitCase {
	c := junitCase{Name: caseRTO}
	rto := r.Objectives.RTO
	switch {
	case steadyBeforeFailed(r):
		c.Skipped = &junitSkipped{Message: notSteady}
	case injectionFailed(r) != "":
		c.Error = failure(string(r.Verdict), "RTO not judged: injection failed: "+injectionFailed(r), rtoBody(r))
	case r.Verdict == result.VerdictAborted:
		c.Error = failure(string(r.Verdict), "RTO not judged: "+notRunReason(r), rtoBody(r))
	case rto.MeasuredMs != nil:
		c.Time = seconds(max(*rto.MeasuredMs, 0))
		if !rto.Met {
			c.Failure = failure(caseRTO, fmt.Sprintf("RTO %s exceeds target %s", secs(*rto.MeasuredMs), dur(rto.TargetMs)), rtoBody(r))
		} else if r.IsUnproven() {
			c.SystemOut = text("UNPROVEN: " + unprovenText(r) + "\n" + rtoBody(r))
		} else {
			c.SystemOut = text(rtoBody(r))
		}
		if names := undisturbed(r); len(names) > 0 {
			c.SystemErr = text("WARNING: no disruption observed by " + strings.Join(names, ", ") +
				": the faults may have missed the system under test, so this RTO proves nothing\n")
		}
	case notEvaluated(r.Verdict):
		c.Error = failure(string(r.Verdict), "RTO not measured: "+notRunReason(r), rtoBody(r))
	case !injected(r):
		c.Skipped = &junitSkipped{Message: "not measured: no fault injected"}
	default:
		c.Failure = failure(caseRTO, fmt.Sprintf("RTO not met: not recovered (target %s)", dur(rto.TargetMs)), rtoBody(r))
	}
	return c
}

// rtoBody explains an RTO: the value with its resolution, the probe that set it, and how every
// availability probe fared.
func rtoBody(r *result.Result) string {
	rto := r.Objectives.RTO
	var b strings.Builder
	if rto.MeasuredMs != nil {
		fmt.Fprintf(&b, "measured: %s (resolution ±%s)\n", secs(*rto.MeasuredMs), dur(rto.ResolutionMs))
	} else {
		b.WriteString("measured: none, not recovered when observation ended\n")
	}
	fmt.Fprintf(&b, "target: %s\n", dur(rto.TargetMs))
	if rto.Probe != "" {
		fmt.Fprintf(&b, "set by probe: %s\n", rto.Probe)
	}
	if r.T0 != "" {
		fmt.Fprintf(&b, "t0: %s\n", r.T0)
	}
	for _, p := range r.Probes {
		if !p.IsAvailability() {
			continue
		}
		fmt.Fprintf(&b, "probe %s: %s\n", p.Name, probeStory(p))
	}
	return b.String()
}

func probeStory(p result.Probe) string {
	var parts []string
	switch {
	case p.NoDisruption:
		parts = append(parts, "no disruption observed")
	case p.RecoveredMs != nil:
		parts = append(parts, "down from "+relPtr(p.FirstFailureMs), "recovered at "+rel(*p.RecoveredMs))
		if p.DowntimeMs != nil {
			parts = append(parts, "downtime "+secs(*p.DowntimeMs))
		}
	default:
		parts = append(parts, "down from "+relPtr(p.FirstFailureMs), "never recovered")
	}
	parts = append(parts, fmt.Sprintf("%d/%d samples failed", p.Failures, p.Samples))
	if p.LastError != "" && !p.NoDisruption {
		parts = append(parts, "last error: "+oneLine(p.LastError))
	}
	return strings.Join(parts, ", ")
}

func rpoCase(r *result.Result) junitCase {
	c := junitCase{Name: caseRPO}
	rpo := r.Objectives.RPO
	switch {
	case rpo.TargetMs == nil && rpo.DataProbes == 0:
		c.Skipped = &junitSkipped{Message: "no RPO objective and no data probe"}
	case steadyBeforeFailed(r):
		c.Skipped = &junitSkipped{Message: notSteady}
	case rpo.MeasuredMs == nil && notEvaluated(r.Verdict):
		c.Error = failure(string(r.Verdict), "RPO not measured: "+notRunReason(r), rpoBody(r))
	case rpo.MeasuredMs == nil && rpo.TargetMs == nil:
		c.Skipped = &junitSkipped{Message: "no RPO objective; RPO not measured"}
	case rpo.MeasuredMs == nil:
		c.Failure = failure(caseRPO, fmt.Sprintf("RPO not measured (target %s)", dur(*rpo.TargetMs)), rpoBody(r))
	case rpo.TargetMs != nil && !rpo.Met && rpo.Source == result.RPOSourceRestorePoint:
		c.Failure = failure(caseRPO, fmt.Sprintf("RPO %s exceeds target %s (restore point)", secs(*rpo.MeasuredMs), dur(*rpo.TargetMs)), rpoBody(r))
	case rpo.TargetMs != nil && !rpo.Met:
		c.Failure = failure(caseRPO, fmt.Sprintf("RPO %s exceeds target %s (%s)", secs(*rpo.MeasuredMs), dur(*rpo.TargetMs), english.Count(rpo.LostWrites, "lost write", "lost writes")), rpoBody(r))
	default:
		c.SystemOut = text(rpoBody(r))
	}
	return c
}

func rpoBody(r *result.Result) string {
	rpo := r.Objectives.RPO
	var b strings.Builder
	if rpo.MeasuredMs != nil {
		fmt.Fprintf(&b, "measured: %s\n", secs(*rpo.MeasuredMs))
	} else {
		b.WriteString("measured: none\n")
	}
	if rpo.TargetMs != nil {
		fmt.Fprintf(&b, "target: %s\n", dur(*rpo.TargetMs))
	} else {
		b.WriteString("target: none\n")
	}
	if rpo.Source != "" {
		fmt.Fprintf(&b, "source: %s\n", rpo.Source)
	}
	if rpo.RestorePoint != nil {
		fmt.Fprintf(&b, "restore point: %s (%s)\n", rpo.RestorePoint.UTC().Format(time.RFC3339), rpo.RestoredFrom)
	}
	fmt.Fprintf(&b, "writes: %d acknowledged, %d lost, %d recovered, %d unexpected\n",
		rpo.AcknowledgedTotal, rpo.LostWrites, rpo.RecoveredWrites, rpo.UnexpectedWrites)
	for _, p := range r.Probes {
		if p.Data == nil {
			continue
		}
		d := p.Data
		fmt.Fprintf(&b, "probe %s: %d written, %d acknowledged, %d lost, %d recovered, %d unexpected",
			p.Name, d.Written, d.Acknowledged, d.Lost, d.Recovered, d.Unexpected)
		if d.Error != "" {
			fmt.Fprintf(&b, ", read-back error: %s", oneLine(d.Error))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func rollbackCase(r *result.Result) junitCase {
	c := junitCase{Name: caseRollback}
	rb := r.Rollback
	switch {
	case rb.Ran && rb.Clean:
	case rb.Ran:
		msg := "rollback failed"
		if len(rb.Errors) > 0 {
			msg += ": " + strings.Join(rb.Errors, "; ")
		}
		c.Error = failure(caseRollback, msg, lines(rollbackErrors(r)))
	case !injected(r):
		c.Skipped = &junitSkipped{Message: "nothing to roll back: no fault injected"}
	default:
		c.Error = failure(string(r.Verdict), "rollback did not run: injected faults may still be active", notRunReason(r))
	}
	return c
}

// rollbackErrors lists the rollback errors, plus revert errors of faults that the runner did not
// already copy into them, so the failure names every fault left behind.
func rollbackErrors(r *result.Result) []string {
	errs := append([]string(nil), r.Rollback.Errors...)
	for _, f := range r.Faults {
		if f.RevertError == "" {
			continue
		}
		known := false
		for _, e := range errs {
			if strings.Contains(e, f.RevertError) {
				known = true
				break
			}
		}
		if !known {
			errs = append(errs, fmt.Sprintf("revert %s: %s", f.Name, f.RevertError))
		}
	}
	return errs
}

func lines(items []string) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(it)
		b.WriteByte('\n')
	}
	return b.String()
}

// clean makes s safe for XML 1.0: it strips terminal escapes and replaces invalid UTF-8 and the
// characters XML forbids (most control characters) with U+FFFD. encoding/xml escapes markup but
// writes CDATA sections verbatim, where such characters would make the whole report unparsable.
func clean(s string) string {
	s = ansiEscape.ReplaceAllString(s, "")
	ok := true
	for _, r := range s {
		if !xmlChar(r) {
			ok = false
			break
		}
	}
	if ok && utf8.ValidString(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if !xmlChar(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
}

func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
