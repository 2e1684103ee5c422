package compliance

import (
	"time"

	"github.com/drillhq/drill/suite"
)

// The DR strategy ladder of the AWS Well-Architected whitepaper "Disaster Recovery of Workloads
// on AWS: Recovery in the Cloud" (Reliability pillar), section "Disaster recovery options in the
// cloud". Its figure places the four strategies by RPO/RTO: backup & restore "hours", pilot
// light "10s of minutes", warm standby "minutes", multi-site active/active "real-time" (near
// zero). The whitepaper gives orders of magnitude, not numbers; drill turns them into these
// upper bounds on RTO so a target or a measurement can be placed on a rung:
//
//	multi-site active/active   RTO <= 1 min   (real time: seconds)
//	warm standby               RTO <= 10 min  (minutes)
//	pilot light                RTO <= 1 h     (tens of minutes)
//	backup & restore           RTO  > 1 h     (hours)
//
// Recommendation: the least costly strategy whose typical RTO meets the system's RTO target.
// drill adds one policy of its own, labelled as such in the report: a system classed critical
// is recommended at least pilot light, because restoring from backup (hours, and the
// least-rehearsed path) should not be the only recovery for what the business ranks critical.
const (
	StrategyMultiSite     = "multi-site-active-active"
	StrategyWarmStandby   = "warm-standby"
	StrategyPilotLight    = "pilot-light"
	StrategyBackupRestore = "backup-restore"
)

// LadderSource cites where the rungs come from.
const LadderSource = `AWS whitepaper "Disaster Recovery of Workloads on AWS: Recovery in the Cloud" (AWS Well-Architected Framework, Reliability pillar), "Disaster recovery options in the cloud"`

// Rung is one strategy of the ladder.
type Rung struct {
	Strategy string `json:"strategy"`
	Name     string `json:"name"`
	Typical  string `json:"typicalRto"` // the whitepaper's wording
	// MaxRTOMs is the upper RTO bound drill uses for the rung; 0 for the last (unbounded) rung.
	MaxRTOMs int64 `json:"maxRtoMs"`
}

// Ladder lists the rungs fastest (most costly) first.
func Ladder() []Rung {
	return []Rung{
		{StrategyMultiSite, "Multi-site active/active", "real time, seconds", time.Minute.Milliseconds()},
		{StrategyWarmStandby, "Warm standby", "minutes", (10 * time.Minute).Milliseconds()},
		{StrategyPilotLight, "Pilot light", "tens of minutes", time.Hour.Milliseconds()},
		{StrategyBackupRestore, "Backup & restore", "hours", 0},
	}
}

// rungIndex is the index in Ladder() of the slowest rung whose RTO bound covers ms.
func rungIndex(ms int64) int {
	rungs := Ladder()
	for i, r := range rungs {
		if r.MaxRTOMs > 0 && ms <= r.MaxRTOMs {
			return i
		}
	}
	return len(rungs) - 1
}

func rungOf(strategy string) (int, Rung) {
	for i, r := range Ladder() {
		if r.Strategy == strategy {
			return i, r
		}
	}
	return -1, Rung{}
}

// StrategyName is the display name of a strategy key ("" stays "").
func StrategyName(strategy string) string {
	_, r := rungOf(strategy)
	return r.Name
}

// LadderCheck compares what the guidance recommends for a system with what its drills showed.
type LadderCheck struct {
	RTOTargetMs int64  `json:"rtoTargetMs"`
	Criticality string `json:"criticality,omitempty"`
	Recommended string `json:"recommended"`
	// RecommendedBy is "rto-target" or "criticality-floor" (drill's policy for critical systems).
	RecommendedBy string `json:"recommendedBy"`
	// WorstMeasuredRTOMs is the largest RTO measured in the period (nil: no run recovered or none
	// ran). Unrecovered runs are counted in Unrecovered instead.
	WorstMeasuredRTOMs *int64 `json:"worstMeasuredRtoMs"`
	Unrecovered        int    `json:"unrecoveredRuns"`
	// Demonstrated is the rung the worst measured RTO falls on; "" when nothing was measured.
	Demonstrated string `json:"demonstrated"`
	// Verdict: "consistent" (every drill recovered, within the RTO target, on the recommended
	// rung or a faster one), "slower" (a drill never recovered or shows a slower rung),
	// "over-target" (on the recommended rung but over the target) or "unproven" (nothing
	// measured in the period).
	Verdict string `json:"verdict"`
}

// CheckLadder places a system on the ladder.
func CheckLadder(rtoTargetMs int64, criticality string, measured []*int64) LadderCheck {
	c := LadderCheck{RTOTargetMs: rtoTargetMs, Criticality: criticality, RecommendedBy: "rto-target"}
	rec := rungIndex(rtoTargetMs)
	if floor, _ := rungOf(StrategyPilotLight); criticality == suite.Critical && rec > floor {
		rec, c.RecommendedBy = floor, "criticality-floor"
	}
	c.Recommended = Ladder()[rec].Strategy
	for _, m := range measured {
		if m == nil {
			c.Unrecovered++
			continue
		}
		if c.WorstMeasuredRTOMs == nil || *m > *c.WorstMeasuredRTOMs {
			v := *m
			c.WorstMeasuredRTOMs = &v
		}
	}
	switch {
	case c.Unrecovered > 0:
		// A drill that never recovered demonstrates no rung at all.
		c.Verdict = "slower"
		c.Demonstrated = ""
	case c.WorstMeasuredRTOMs == nil:
		c.Verdict = "unproven"
	default:
		dem := rungIndex(*c.WorstMeasuredRTOMs)
		c.Demonstrated = Ladder()[dem].Strategy
		switch {
		case dem > rec:
			c.Verdict = "slower"
		case *c.WorstMeasuredRTOMs > rtoTargetMs:
			c.Verdict = "over-target"
		default:
			c.Verdict = "consistent"
		}
	}
	return c
}

// ladderRow is one line of the strategy check: a scenario with its system.
type ladderRow struct {
	System, Scenario string
	Check            LadderCheck
}

func ladderRows(systems []System) []ladderRow {
	var out []ladderRow
	for _, sys := range systems {
		for _, sc := range sys.Scenarios {
			out = append(out, ladderRow{sys.Name, sc.Name, sc.Ladder})
		}
	}
	return out
}
