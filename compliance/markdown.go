package compliance

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/drillhq/drill/internal/english"
	"github.com/drillhq/drill/result"
)

// WriteMarkdown renders the report as GitHub-flavoured Markdown for pull requests and wikis.
// Charts become tables: the numbers are the same as in the HTML report.
func WriteMarkdown(w io.Writer, rep *Report) error {
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }

	p("# Disaster-recovery drill compliance report\n\n")
	p("| | |\n|---|---|\n")
	p("| Period | %s |\n", cell(periodText(rep.Period)))
	p("| Compliance judged as of | %s |\n", DateTime(rep.AsOf))
	p("| Scope | %s |\n", cell(scopeText(rep)))
	p("| Generated | %s by drill %s |\n\n", DateTime(rep.GeneratedAt), cell(rep.ToolVersion))

	sm := rep.Summary
	p("## Summary\n\n")
	p("%s: **%d compliant**, **%d overdue**, **%d failing**, **%d never drilled**", english.Count(sm.Systems, "system", "systems"), sm.Compliant, sm.Overdue, sm.Failing, sm.NeverDrilled)
	if sm.Unproven > 0 {
		p(", **%d unproven**", sm.Unproven)
	}
	p(".  \n%s in the period: %d passed, %d failed, %d errored or aborted.", english.Count(sm.Runs, "drill run", "drill runs"), sm.Passed, sm.Failed, sm.Errored)
	if sm.PassedUnproven > 0 {
		p(" %d of the passes are unproven: no disruption observed.", sm.PassedUnproven)
	}
	p("\n\n")
	for _, n := range rep.Notes {
		p("> Note: %s\n\n", cell(n))
	}

	p("## Systems\n\n")
	p("| System | Owner | Criticality | Cadence | Strictest RTO target | Strictest RPO target | Drills in period | Last passing drill | Status |\n")
	p("|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range rep.Systems {
		p("| %s | %s | %s | %s | %s | %s | %d | %s | %s %s |\n", cell(s.Name), cell(orDash(s.Owner)), criticalityText(s.Criticality),
			cadenceText(s.Cadences), Millis(s.RTOTargetMs), rpoTargetText(s.RPOTargetMs), s.RunsInPeriod, lastPassText(s.LastPass),
			statusIcon(s.Status), s.Status.Label())
	}
	p("\n")

	p("## DR strategy check\n\n")
	p("Each scenario's RTO target implies a strategy tier on the AWS ladder; that is what the target calls for, not what was shown. \"Drills demonstrate\" is the tier the worst RTO measured in the period falls on.\n\n")
	p("| System | Scenario | Criticality | RTO target | Tier the target implies | Worst measured RTO | Drills demonstrate | Check |\n")
	p("|---|---|---|---|---|---|---|---|\n")
	for _, row := range ladderRows(rep.Systems) {
		c := row.Check
		rec := StrategyName(c.Recommended)
		if c.RecommendedBy == "criticality-floor" {
			rec += " (critical-system floor)"
		}
		p("| %s | `%s` | %s | %s | %s | %s | %s | %s |\n", cell(row.System), row.Scenario, criticalityText(c.Criticality), Millis(c.RTOTargetMs), rec,
			MillisPtr(c.WorstMeasuredRTOMs, "—"), orDash(StrategyName(c.Demonstrated)), ladderVerdictText(c))
	}
	p("\nThresholds (RTO): ")
	for i, r := range rep.Ladder.Rungs {
		if i > 0 {
			p("; ")
		}
		if r.MaxRTOMs > 0 {
			p("%s ≤ %s (%s)", r.Name, Millis(r.MaxRTOMs), r.Typical)
		} else {
			p("%s > %s (%s)", r.Name, Millis(rep.Ladder.Rungs[i-1].MaxRTOMs), r.Typical)
		}
	}
	p(". Source: %s.\n\n", rep.Ladder.Source)

	for _, s := range rep.Systems {
		p("## %s — %s %s\n\n", cell(s.Name), statusIcon(s.Status), s.Status.Label())
		p("%s.  \nOwner: %s · Criticality: %s · Cadence: %s · RTO target: %s · RPO target: %s\n\n", cell(capitalize(s.StatusReason)),
			cell(orDash(s.Owner)), criticalityText(s.Criticality), cadenceText(s.Cadences), Millis(s.RTOTargetMs), rpoTargetText(s.RPOTargetMs))
		for _, sc := range s.Scenarios {
			p("### Scenario `%s` — %s\n\n", sc.Name, sc.Status.Label())
			p("File `%s` · cadence %s · RTO target %s · RPO target %s · last pass %s · next due %s\n\n", code(orDash(sc.File)), orDash(sc.Cadence),
				Millis(sc.RTOTargetMs), rpoTargetText(sc.RPOTargetMs), lastPassText(sc.LastPass), Date(sc.DueAt))
			if len(sc.Runs) == 0 {
				p("No drill runs in this period.\n\n")
				continue
			}
			p("%s.\n\n", cell(capitalize(statsText(sc.Stats))))
			p("| Date (UTC) | Run | Verdict | RTO measured / target | RPO measured / target | Lost writes |\n")
			p("|---|---|---|---|---|---|\n")
			for _, r := range sc.Runs {
				verdict := string(r.Verdict)
				switch {
				case r.Unproven:
					verdict += " — UNPROVEN (no disruption observed)"
				case r.NoDisruption:
					verdict += " (no disruption observed)"
				}
				p("| %s | `%s` | %s | %s / %s | %s / %s | %d |\n", DateTime(r.StartedAt), r.RunID, cell(verdict),
					measuredRTO(r), Millis(r.RTOTargetMs), measuredRPO(r), rpoTargetText(r.RPOTargetMs), r.LostWrites)
			}
			p("\n")
			if sc.RunsNotListed > 0 {
				p("%s in the period %s counted above but not listed; `%s` prints every one.\n\n", english.Count(sc.RunsNotListed, "earlier run", "earlier runs"), english.Agree(sc.RunsNotListed, "is", "are"), scenarioRunList(rep, sc.Name))
			}
		}
	}

	if len(rep.Runs) > 0 {
		p("## Run timelines\n\nOne timeline per run the report cites: for each scenario its newest run, its newest failures and sign-offs in the period, and its last passing drill. ")
		if rep.RunsWithoutTimeline > 0 {
			p("The other %s in the period %s counted in every figure above but not shown; `%s` prints them all as drill.result/v1 JSON. ", english.Count(rep.RunsWithoutTimeline, "run", "runs"), english.Agree(rep.RunsWithoutTimeline, "is", "are"), rep.RunList)
		}
		p("Times are relative to t0, the start of the first fault's injection.\n\n")
		for _, r := range rep.Runs {
			p("**`%s`** %s · %s · %s · RTO %s (target %s)\n\n", r.RunID, DateTime(r.StartedAt), r.Scenario, r.Verdict, measuredRTO(r.RunRow), Millis(r.RTOTargetMs))
			for _, f := range r.Timeline.Faults {
				p("- fault %s\n", cell(spanText(f)))
			}
			for _, st := range r.Timeline.Steps {
				p("- %s step %s\n", st.Phase, cell(spanText(st)))
			}
			for _, l := range r.Timeline.Probes {
				p("- probe %s\n", cell(laneText(l)))
			}
			for _, m := range r.Timeline.Marks {
				p("- %s at %s: %s\n", m.Kind, rel(m.AtMs), cell(m.Message))
			}
			p("- %s\n", cell(signOffText(r.SignOffs)))
			p("\n")
		}
	}

	p("## Sign-off\n\n")
	if len(rep.AwaitingSignOff) == 0 {
		p("Every run in the period has been signed off.\n\n")
	} else {
		ids, more := awaitingShown(rep)
		p("%s in the period %s sign-off (`drill signoff RUN_ID --by NAME`)", english.Count(len(rep.AwaitingSignOff), "run", "runs"), english.Agree(len(rep.AwaitingSignOff), "awaits", "await"))
		if more > 0 {
			p("; the newest %d are listed, the JSON report lists every one (`awaitingSignOff`)", len(ids))
		}
		p(":\n\n")
		for _, id := range ids {
			p("- `%s`\n", id)
		}
		p("\n")
	}

	p("## Findings\n\n")
	if len(rep.Findings) == 0 {
		p("No findings: no drill of this programme has an open finding, and none was closed in the period.\n\n")
	} else {
		p("Every run that did not pass opens a finding. Open findings, and those closed in the period:\n\n")
		p("| ID | System | Scenario | Opened | Age | What failed | Owner | Due | Status | Run |\n")
		p("|---|---|---|---|---|---|---|---|---|---|\n")
		rows, more := findingsShown(rep)
		for _, f := range rows {
			p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | `%s` |\n", cell(f.ID), cell(f.System), cell(f.Scenario), Date(f.OpenedAt),
				daysText(f.AgeDays), cell(f.What), cell(orDash(f.Owner)), Date(f.Due), cell(findingStatusText(f)), f.RunID)
		}
		p("\n")
		if more > 0 {
			p("%d more finding(s) are not listed (per scenario, every overdue one and the newest %d others are); `drill findings --all` and the JSON report list every one.\n\n", more, listedFindings)
		}
	}

	p("## Controls mapping\n\n")
	p("The drills are evidence relevant to these controls (requirements paraphrased; the standard's own text governs):\n\n")
	p("| Framework | Control | Asks for | Evidence in this report |\n|---|---|---|---|\n")
	for _, c := range rep.Controls {
		p("| %s | %s %s | %s | %s |\n", cell(c.Framework), cell(c.ID), cell(c.Title), cell(c.Requirement), cell(c.Evidence))
	}
	p("\nEvidence per system, the same for each control above:\n\n")
	p("| System | Status | Last test | Result | RTO measured / target | RPO measured / target | Open findings |\n|---|---|---|---|---|---|---|\n")
	for _, e := range rep.ControlEvidence {
		p("| %s | %s | %s | %s | %s / %s | %s / %s | %s |\n", cell(e.System), e.Status.Label(), Date(e.LastTest), cell(controlResultText(e)),
			MillisPtr(e.RTOMeasuredMs, "not measured"), Millis(e.RTOTargetMs), MillisPtr(e.RPOMeasuredMs, "not measured"), rpoTargetText(e.RPOTargetMs), openFindingsText(e))
	}
	p("\n")

	p("## Evidence appendix\n\n")
	p("| Run ID | Scenario | System | Started (UTC) | Finished (UTC) | t0 | Verdict | Operator @ host | Environment | Ticket | Participants | Tool version | Scenario file SHA-256 |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, e := range rep.Evidence {
		sha := "`" + orDash(e.ScenarioSHA256) + "`"
		if e.ScenarioChanged {
			sha += " (file changed since)"
		}
		when := DateTime(e.StartedAt)
		if !e.InPeriod {
			when += " (before period)"
		}
		p("| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", e.RunID, cell(e.Scenario), cell(e.System), when, DateTime(e.FinishedAt),
			orDash(e.T0), e.Verdict, cell(operatorText(e.Provenance)), cell(orDash(e.Environment)), cell(orDash(e.Ticket)),
			cell(orDash(strings.Join(e.Participants, ", "))), cell(toolText(e)), sha)
	}
	p("\n## Method\n\n")
	for _, n := range methodNotes(rep) {
		p("- %s\n", n)
	}
	if err := b.Flush(); err != nil {
		return fmt.Errorf("write report markdown: %w", err)
	}
	return nil
}

// cell keeps text inside one Markdown table cell or line, and shows it as text: names, owners
// and error messages come from scenario files and commands, and must neither start a heading,
// link or emphasis nor pass HTML through to the rendered page.
func cell(s string) string {
	return mdEscaper.Replace(strings.Join(strings.Fields(s), " "))
}

// mdEscaper escapes the characters that Markdown or the HTML it may embed would interpret. GFM
// lets any ASCII punctuation be backslash-escaped; markup characters become entities so no
// tag survives, even in renderers that allow raw HTML. An escaped "[" is enough to stop a link
// or image; "]" stays as it is, so markers such as [REDACTED] still read (and grep) as written.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "#", `\#`, "|", `\|`, "~", `\~`,
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
)

// code keeps a value inside its `code span`: a backtick or a line break would end it.
func code(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "`", "'")), " ")
}

// operatorText is "alice @ host" from whatever of the two was recorded.
func operatorText(p result.Provenance) string {
	switch {
	case p.Operator != "" && p.Host != "":
		return p.Operator + " @ " + p.Host
	case p.Operator != "":
		return p.Operator
	case p.Host != "":
		return "@ " + p.Host
	}
	return "—"
}

// toolText is the tool version with the short commit it was built from, when known.
func toolText(e Evidence) string {
	s := orDash(e.ToolVersion)
	if c := e.ToolCommit; c != "" {
		if len(c) > 12 && !strings.HasSuffix(c, "+dirty") {
			c = c[:12]
		}
		s += " (" + c + ")"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// capitalize starts a reason sentence with a capital, unless it starts with a scenario name
// ("pyhttp-outage: never passed"): names are identifiers, and "Pyhttp-outage" is not one.
func capitalize(s string) string {
	first, _, _ := strings.Cut(s, " ")
	if s == "" || strings.HasSuffix(first, ":") {
		return s
	}
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}
