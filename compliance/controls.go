package compliance

import (
	"time"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/result"
)

// Control is a requirement of a framework that drill results are evidence for. The wording is
// a paraphrase for orientation, not the text of the standard: auditors judge against the
// standard itself.
type Control struct {
	Framework string `json:"framework"`
	ID        string `json:"id"`
	Title     string `json:"title"`
	// Requirement paraphrases what the control asks for.
	Requirement string `json:"requirement"`
	// Evidence says which part of this report speaks to it.
	Evidence string `json:"evidence"`
}

// Controls lists the controls the report maps its evidence to.
func Controls() []Control {
	return []Control{
		{"SOC 2 (Trust Services Criteria)", "A1.3", "Recovery plan testing",
			"Recovery plan procedures supporting system recovery are tested to help meet availability commitments and system requirements.",
			"Each system's latest drill: date, verdict, measured RTO/RPO against target; open findings."},
		{"ISO/IEC 27001:2022", "Annex A 5.30", "ICT readiness for business continuity",
			"ICT readiness is planned, implemented, maintained and tested based on business continuity objectives and ICT continuity requirements.",
			"Targets (the continuity objectives) against what the drills measured; cadence status."},
		{"ISO 22301:2019", "8.5", "Exercise programme",
			"A programme of exercising and testing validates over time the effectiveness of business continuity strategies and solutions; results are reviewed and acted on.",
			"The programme's cadence and status per system, the findings with owners and retests, and sign-offs."},
		{"DORA (EU) 2022/2554", "Art. 11", "Response and recovery",
			"ICT business continuity and response and recovery plans are tested regularly (at least yearly) and after substantive changes.",
			"Latest drill date and verdict per system; runs in the period."},
		{"DORA (EU) 2022/2554", "Art. 12", "Backup, restoration and recovery",
			"Backup and restoration procedures are tested periodically; recovery meets the recovery time and point objectives.",
			"Measured RPO (data probes: acknowledged writes lost after recovery) and RTO against target. A system without a measured RPO shows no restoration evidence."},
		{"NIST SP 800-34 Rev. 1", "3.5", "Plan testing, training and exercises",
			"Contingency plans are tested to validate recovery capability, and deficiencies found are corrected.",
			"Drill results per system, findings (deficiencies) with owners, due dates, retests and closure notes."},
	}
}

// ControlEvidence is one system's evidence, the same for every control in Controls.
type ControlEvidence struct {
	System        string         `json:"system"`
	Status        Status         `json:"status"`
	LastTest      time.Time      `json:"lastTest,omitzero"` // the newest run of any verdict
	LastRunID     string         `json:"lastRunId,omitempty"`
	LastResult    result.Verdict `json:"lastResult,omitempty"`
	LastUnproven  bool           `json:"lastUnproven,omitempty"`
	RTOTargetMs   int64          `json:"rtoTargetMs"`
	RTOMeasuredMs *int64         `json:"rtoMeasuredMs"` // of the newest run
	RPOTargetMs   *int64         `json:"rpoTargetMs"`
	RPOMeasuredMs *int64         `json:"rpoMeasuredMs"` // of the newest run
	OpenFindings  int            `json:"openFindings"`
	Overdue       int            `json:"overdueFindings"`
}

// controlEvidence builds one row per system from its scenarios' newest runs and the findings.
// lastUnproven says, by run id, whether a scenario's newest run is an unproven pass.
func controlEvidence(systems []System, findings []FindingRow, lastUnproven map[string]bool) []ControlEvidence {
	out := []ControlEvidence{}
	for _, sys := range systems {
		ce := ControlEvidence{System: sys.Name, Status: sys.Status, RTOTargetMs: sys.RTOTargetMs, RPOTargetMs: sys.RPOTargetMs}
		for _, sc := range sys.Scenarios {
			if sc.LastRun == nil || (!ce.LastTest.IsZero() && !sc.LastRun.StartedAt.After(ce.LastTest)) {
				continue
			}
			ce.LastTest, ce.LastRunID, ce.LastResult = sc.LastRun.StartedAt, sc.LastRun.RunID, sc.LastRun.Verdict
			ce.RTOMeasuredMs, ce.RPOMeasuredMs = sc.LastRun.RTOMeasuredMs, sc.LastRun.RPOMeasuredMs
			ce.LastUnproven = lastUnproven[sc.LastRun.RunID]
		}
		for _, f := range findings {
			if f.System == sys.Name && f.Status == history.FindingOpen {
				ce.OpenFindings++
				if f.Overdue {
					ce.Overdue++
				}
			}
		}
		out = append(out, ce)
	}
	return out
}
