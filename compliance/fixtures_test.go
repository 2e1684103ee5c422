package compliance

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/suite"
)

// The fixture programme: Q3 2026 for six drills on five systems, chosen so every status,
// verdict and ladder outcome appears at least once.
//
//	orders-etcd  etcd-minority-member-loss  pass, fail (14.2 s > 10 s), pass        -> compliant
//	             etcd-quorum-loss-restore   fail (never recovered), pass            -> compliant
//	storefront   web-http-outage            3 monthly passes, last 08-29            -> overdue
//	payments-db  payments-rds-failover      pass, fail (6 min 30 s > 5 min)         -> failing
//	search       search-node-loss           pass in March, error in September        -> failing
//	billing      billing-restore            nothing                                  -> never drilled
var (
	q3       = Period{Label: "2026-Q3", Since: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}
	reportAt = time.Date(2026, 10, 2, 8, 0, 0, 0, time.UTC)
)

type meta struct {
	system, owner, cadence, file string
	rtoMs                        int64
	rpoMs                        *int64
	fault, faultType             string
	step, stepType               string
	probe                        string
}

var scenarioMeta = map[string]meta{
	"etcd-minority-member-loss": {"orders-etcd", "platform-team", "quarterly", "drills/etcd-minority-loss.yaml", 10000, result.Int64(0),
		"kill-follower", "etcd-kill-member", "restart-member", "etcd-restart-member", "health"},
	"etcd-quorum-loss-restore": {"orders-etcd", "platform-team", "quarterly", "drills/etcd-quorum-restore.yaml", 300000, result.Int64(30000),
		"kill-two-members", "etcd-kill-member", "restore-snapshot", "etcd-restore-snapshot", "health"},
	"web-http-outage": {"storefront", "web-team", "monthly", "drills/web-http-outage.yaml", 30000, nil,
		"stop-web", "command", "restart-web", "command", "home"},
	"payments-rds-failover": {"payments-db", "payments-team", "quarterly", "drills/payments-rds-failover.yaml", 300000, result.Int64(60000),
		"reboot-with-failover", "rds-reboot-db-instance", "flip-dns", "route53-failover", "api"},
	"search-node-loss": {"search", "discovery-team", "semiannual", "drills/search-node-loss.yaml", 120000, nil,
		"stop-node", "ec2-stop-instances", "scale-up", "autoscaling-set-capacity", "health"},
	"legacy-dns-cutover": {"legacy-dns", "net-team", "annual", "drills/legacy.yaml", 600000, nil,
		"break-dns", "command", "cutover", "command", "resolve"},
}

func fileSHA(t testing.TB, rel string) string {
	b, err := os.ReadFile(filepath.Join("testdata", rel))
	if err != nil {
		return "0000000000000000000000000000000000000000000000000000000000000000"
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// mk builds a passing run that recovered at rtoMs; callers adjust the rest. The run id is
// built the way the runner builds it: start time, then a random suffix.
func mk(t testing.TB, suffix, scenario string, at time.Time, rtoMs int64) *result.Result {
	m := scenarioMeta[scenario]
	id := at.UTC().Format("20060102T150405Z") + "-" + suffix
	r := &result.Result{
		Schema: result.Schema, RunID: id, Scenario: scenario, ScenarioFile: m.file, ScenarioSHA256: fileSHA(t, m.file),
		System: m.system, Owner: m.owner, Cadence: m.cadence, ToolVersion: "v0.9.0",
		StartedAt: at, FinishedAt: at.Add(time.Duration(rtoMs+45000) * time.Millisecond),
		T0:      at.Add(20 * time.Second).Format(result.T0Layout),
		Verdict: result.VerdictPass,
		Objectives: result.Objectives{
			RTO: result.RTO{TargetMs: m.rtoMs, MeasuredMs: result.Int64(rtoMs), Met: rtoMs <= m.rtoMs, ResolutionMs: 50, Probe: "health"},
			RPO: result.RPO{TargetMs: m.rpoMs},
		},
		SteadyState: result.Steady{Before: result.Check{Ran: true, Passed: true}, After: result.Check{Ran: true, Passed: true}},
		Rollback:    result.Rollback{Ran: true, Clean: true},
		Faults: []result.Fault{{Name: m.fault, Type: m.faultType, InjectedAtMs: result.Int64(0),
			RevertedAtMs: result.Int64(rtoMs + 3200), Targets: []string{"target-1"}}},
		Steps: []result.Step{
			{Phase: "prepare", Name: "seed-writes", Type: "command", StartedAtMs: result.Int64(-12000), DurationMs: 9000},
			{Phase: "recovery", Name: m.step, Type: m.stepType, StartedAtMs: result.Int64(rtoMs / 3), DurationMs: rtoMs / 4},
		},
		Probes: []result.Probe{{Name: m.probe, Type: "http", Role: "availability", IntervalMs: 50, Samples: 400, Failures: int(rtoMs / 50),
			RecoveredMs: result.Int64(rtoMs), DowntimeMs: result.Int64(rtoMs - 50), FirstFailureMs: result.Int64(50),
			Down: []result.Interval{{FromMs: 50, ToMs: rtoMs}}}},
	}
	if m.rpoMs != nil {
		r.Objectives.RPO = result.RPO{TargetMs: m.rpoMs, MeasuredMs: result.Int64(0), Met: true, AcknowledgedTotal: 1800, DataProbes: 1}
		r.Probes = append(r.Probes, result.Probe{Name: "writes", Type: "etcd-writes", Role: "data", IntervalMs: 10, Samples: 1800,
			RecoveredMs: result.Int64(0), DowntimeMs: result.Int64(0), NoDisruption: true,
			Data: &result.Data{Written: 1800, Acknowledged: 1800, RPOMs: result.Int64(0)}})
	}
	return r
}

func day(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 30, 0, 0, time.UTC) }

func fixtureRuns(t testing.TB) []*result.Result {
	var runs []*result.Result
	add := func(r *result.Result) *result.Result { runs = append(runs, r); return r }

	// orders-etcd / etcd-minority-member-loss
	add(mk(t, "0a1b2c3d", "etcd-minority-member-loss", day(4, 10, 9), 2050))
	add(mk(t, "1f2e3d4c", "etcd-minority-member-loss", day(7, 14, 9), 2310))
	flap := add(mk(t, "5a6b7c8d", "etcd-minority-member-loss", day(8, 18, 14), 14200))
	flap.Verdict, flap.Reason = result.VerdictFail, "RTO 14.2s over target 10s (probe health)"
	flap.Probes[0].Down = []result.Interval{{FromMs: 50, ToMs: 6100}, {FromMs: 7250, ToMs: 14200}}
	flap.Probes[0].DowntimeMs = result.Int64(14150)
	flap.Events = []result.Event{{AtMs: 6100, Kind: result.EventProbe, Message: "health up"}, {AtMs: 7250, Kind: result.EventError, Message: "leader election retried: etcdserver: request timed out"}}
	witnessed := add(mk(t, "9e8d7c6b", "etcd-minority-member-loss", day(9, 22, 9), 1890))
	witnessed.Provenance = result.Provenance{Operator: "alice", Host: "drill-runner-1", ToolCommit: "5d3531a0c0ffee1234567890abcdef0123456789",
		Environment: "production", Participants: []string{"bob (DBA)", "carol (SRE)"}, Ticket: "CHG-1042"}

	// orders-etcd / etcd-quorum-loss-restore
	never := add(mk(t, "aa11bb22", "etcd-quorum-loss-restore", day(7, 8, 10), 0))
	never.Verdict, never.Reason = result.VerdictFail, "RTO unbounded: probe health did not recover within limits.timeout 10m"
	never.Objectives.RTO.MeasuredMs, never.Objectives.RTO.Met = nil, false
	never.Probes[0].RecoveredMs, never.Probes[0].DowntimeMs = nil, nil
	never.Probes[0].Down = []result.Interval{{FromMs: 50, ToMs: 600000}}
	never.Faults[0].RevertedAtMs = result.Int64(600400)
	never.Steps[1].StartedAtMs, never.Steps[1].DurationMs, never.Steps[1].Error = result.Int64(5000), 41000, "restore snapshot: snapshot file is empty"
	restore := add(mk(t, "cc33dd44", "etcd-quorum-loss-restore", day(8, 5, 10), 192000))
	restore.Steps = append(restore.Steps, result.Step{Phase: "rollback", Name: "remove-restored-data-dir", Type: "command", StartedAtMs: result.Int64(196000), DurationMs: 900})

	// storefront / web-http-outage: monthly, last pass 29 August -> overdue on 1 October.
	for i, at := range []time.Time{day(7, 3, 8), day(8, 1, 8), day(8, 29, 8)} {
		r := add(mk(t, []string{"01020304", "05060708", "090a0b0c"}[i], "web-http-outage", at, []int64{4200, 5120, 3900}[i]))
		r.Steps = r.Steps[1:]
		r.Steps[0].StartedAtMs, r.Steps[0].DurationMs = result.Int64(1500), 1800
	}
	dry := add(mk(t, "dddddddd", "web-http-outage", day(9, 30, 12), 0))
	dry.DryRun, dry.T0 = true, ""

	// payments-db / payments-rds-failover
	add(mk(t, "7a7b7c7d", "payments-rds-failover", day(7, 21, 22), 161000))
	pf := add(mk(t, "8a8b8c8d", "payments-rds-failover", day(9, 15, 22), 390000))
	pf.Verdict, pf.Reason = result.VerdictFail, "RTO 6m30s over target 5m0s (probe api)"
	pf.Objectives.RPO.MeasuredMs, pf.Objectives.RPO.LostWrites = result.Int64(12000), 37
	pf.Probes[1].NoDisruption, pf.Probes[1].Data.Lost, pf.Probes[1].Data.RPOMs = false, 37, result.Int64(12000)
	pf.Faults[0].RevertedAtMs = nil // a reboot has nothing to revert
	pf.Steps = pf.Steps[1:]
	pf.Steps[0].StartedAtMs, pf.Steps[0].DurationMs = result.Int64(240000), 62000

	// search / search-node-loss: an old pass, then a drill that could not start.
	add(mk(t, "3c3c3c3c", "search-node-loss", time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), 41000))
	se := add(mk(t, "4d4d4d4d", "search-node-loss", day(9, 28, 9), 0))
	se.Verdict, se.Reason, se.T0 = result.VerdictError, "system not in steady state: health: connection refused", ""
	se.Objectives.RTO.MeasuredMs, se.Objectives.RTO.Met = nil, false
	se.SteadyState.Before = result.Check{Ran: true, Passed: false, Failed: []string{"health: connection refused"}}
	se.Faults[0].InjectedAtMs, se.Faults[0].RevertedAtMs = nil, nil
	se.Steps, se.Probes = nil, []result.Probe{{Name: "health", Type: "http", Role: "availability", IntervalMs: 1000}}

	// Outside the suite: left out of a suite report, listed in a history-wide one.
	add(mk(t, "eeeeeeee", "legacy-dns-cutover", day(8, 12, 12), 95000))
	return runs
}

func fixtureSuite(t testing.TB) *suite.Suite {
	t.Helper()
	s, err := suite.Load("testdata/suite.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fixtureReport(t testing.TB) *Report {
	s := fixtureSuite(t)
	return Build(Input{Period: q3, Now: reportAt, Entries: s.Entries, SuiteFile: s.File, SuiteName: s.Name, Runs: fixtureRuns(t), ToolVersion: "v1.0.0",
		SignOffs: fixtureSignOffs(), Findings: fixtureFindings()})
}

// fixtureSignOffs approve two of the Q3 runs; the others await sign-off.
func fixtureSignOffs() map[string][]history.SignOff {
	return map[string][]history.SignOff{
		"20260922T093000Z-9e8d7c6b": {
			{RunID: "20260922T093000Z-9e8d7c6b", By: "alice", Role: "DR coordinator", At: day(9, 22, 11), Note: "timeline reviewed"},
			{RunID: "20260922T093000Z-9e8d7c6b", By: "dave", Role: "service owner", At: day(9, 23, 10)},
		},
		"20260805T103000Z-cc33dd44": {{RunID: "20260805T103000Z-cc33dd44", By: "alice", Role: "DR coordinator", At: day(8, 6, 9)}},
	}
}

// fixtureFindings: retested and closed in the period, open and overdue, open and assigned, and
// one closed before the period (left out).
func fixtureFindings() []history.Finding {
	return []history.Finding{
		{ID: "F-0001", System: "orders-etcd", Scenario: "etcd-quorum-loss-restore", RunID: "20260708T103000Z-aa11bb22", Verdict: result.VerdictFail,
			What: "fail: RTO unbounded: probe health did not recover within limits.timeout 10m", OpenedAt: day(7, 8, 11), Status: history.FindingClosed,
			Owner: "platform-team", Due: day(8, 1, 0), Retest: &history.Retest{RunID: "20260805T103000Z-cc33dd44", At: day(8, 5, 10), Result: "passed"},
			ClosedAt: day(8, 6, 9), CloseNote: "snapshot job fixed"},
		{ID: "F-0002", System: "orders-etcd", Scenario: "etcd-minority-member-loss", RunID: "20260818T143000Z-5a6b7c8d", Verdict: result.VerdictFail,
			What: "fail: RTO 14.2s over target 10s (probe health)", OpenedAt: day(8, 18, 15), Status: history.FindingOpen, Owner: "platform-team",
			Due: day(10, 15, 0), Retest: &history.Retest{RunID: "20260922T093000Z-9e8d7c6b", At: day(9, 22, 9), Result: "passed"}},
		{ID: "F-0003", System: "payments-db", Scenario: "payments-rds-failover", RunID: "20260915T223000Z-8a8b8c8d", Verdict: result.VerdictFail,
			What: "fail: RTO 6m30s over target 5m0s (probe api)", OpenedAt: day(9, 15, 23), Status: history.FindingOpen, Owner: "payments-team", Due: day(9, 30, 0)},
		{ID: "F-0004", System: "search", Scenario: "search-node-loss", RunID: "20260928T093000Z-4d4d4d4d", Verdict: result.VerdictError,
			What: "error: system not in steady state: health: connection refused", OpenedAt: day(9, 28, 9), Status: history.FindingOpen},
		{ID: "F-0000", System: "search", Scenario: "search-node-loss", RunID: "old", Verdict: result.VerdictFail, What: "fail: old",
			OpenedAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), Status: history.FindingClosed, ClosedAt: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)},
	}
}
