package reporters

import (
	"time"

	"github.com/drillhq/drill/result"
)

// Hand-built results covering each way a drill can end. Each call returns a fresh value so a
// test may modify it.

var fixtureStart = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

const (
	fixtureT0  = "2026-05-04T10:00:02.500000000Z"
	fixtureSHA = "3f5a9c0e2b7d41e8a6c5f0d9b8e7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9"
)

func i64(v int64) *int64 { return result.Int64(v) }

func base(scenario, runID string) *result.Result {
	return &result.Result{
		Schema:         result.Schema,
		RunID:          runID,
		Scenario:       scenario,
		ScenarioFile:   "scenarios/" + scenario + ".yaml",
		ScenarioSHA256: fixtureSHA,
		Description:    "One member is SIGKILLed; writes must continue and no acknowledged write may be lost.",
		System:         "orders-etcd",
		Owner:          "platform-team",
		Tags:           []string{"etcd", "quarterly"},
		Cadence:        "quarterly",
		ToolVersion:    "v0.1.0",
		StartedAt:      fixtureStart,
		FinishedAt:     fixtureStart.Add(14200 * time.Millisecond),
		T0:             fixtureT0,
		SteadyState: result.Steady{
			Before: result.Check{Ran: true, Passed: true},
			After:  result.Check{Ran: true, Passed: true},
		},
		Rollback: result.Rollback{Ran: true, Clean: true},
	}
}

func passResult() *result.Result {
	r := base("etcd-follower-loss", "01HZX3PASS0000000000000000")
	r.Verdict = result.VerdictPass
	r.Objectives = result.Objectives{
		RTO: result.RTO{TargetMs: 10000, MeasuredMs: i64(1520), Met: true, ResolutionMs: 20, Probe: "health"},
		RPO: result.RPO{TargetMs: i64(0), MeasuredMs: i64(0), Met: true, AcknowledgedTotal: 1190, RecoveredWrites: 4, DataProbes: 1},
	}
	r.Probes = []result.Probe{
		{
			Name: "health", Type: "http", Role: "availability", IntervalMs: 20,
			Samples: 600, Failures: 75, RecoveredMs: i64(1520), DowntimeMs: i64(1508), FirstFailureMs: i64(12),
			LastError: `Get "http://127.0.0.1:2379/health": context deadline exceeded`,
			Down:      []result.Interval{{FromMs: 12, ToMs: 1520}},
		},
		{
			Name: "writes", Type: "etcd-writes", Role: "data", IntervalMs: 10,
			Samples: 1200, Failures: 10, RecoveredMs: i64(310), DowntimeMs: i64(300), FirstFailureMs: i64(10),
			LastError: "etcdserver: request timed out",
			Down:      []result.Interval{{FromMs: 10, ToMs: 310}},
			Data:      &result.Data{Written: 1200, Acknowledged: 1190, Lost: 0, Recovered: 4, RPOMs: i64(0)},
		},
	}
	r.Faults = []result.Fault{
		{Name: "kill-follower", Type: "etcd-kill-member", InjectedAtMs: i64(0), RevertedAtMs: i64(11690), Targets: []string{"m2"}},
	}
	r.Steps = []result.Step{
		{Phase: "recovery", Name: "restart-member", Type: "etcd-restart-member", StartedAtMs: i64(2000), DurationMs: 310},
	}
	r.Events = []result.Event{
		{AtMs: -2500, Kind: result.EventPhase, Message: "connect"},
		{AtMs: -2390, Kind: result.EventPhase, Message: "steady-state"},
		{AtMs: -2100, Kind: result.EventPhase, Message: "probes-start"},
		{AtMs: 0, Kind: result.EventPhase, Message: "inject"},
		{AtMs: 0, Kind: result.EventFault, Message: "kill-follower injected (targets: m2)"},
		{AtMs: 12, Kind: result.EventProbe, Message: "health down: context deadline exceeded"},
		{AtMs: 1520, Kind: result.EventProbe, Message: "health up"},
		{AtMs: 2000, Kind: result.EventStep, Message: "restart-member started"},
		{AtMs: 4520, Kind: result.EventPhase, Message: "rollback"},
		{AtMs: 11690, Kind: result.EventRevert, Message: "kill-follower reverted"},
		{AtMs: 11700, Kind: result.EventVerdict, Message: "pass"},
	}
	return r
}

func rtoFailResult() *result.Result {
	r := passResult()
	r.RunID = "01HZX3FAIL0000000000000000"
	r.Scenario = "etcd-leader-loss"
	r.ScenarioFile = "scenarios/etcd-leader-loss.yaml"
	r.Verdict = result.VerdictFail
	r.Reason = "RTO 2.31s exceeds target 2s"
	r.Objectives.RTO = result.RTO{TargetMs: 2000, MeasuredMs: i64(2310), Met: false, ResolutionMs: 20, Probe: "health"}
	r.Probes[0].RecoveredMs = i64(2310)
	r.Probes[0].DowntimeMs = i64(2298)
	r.Probes[0].Failures = 115
	r.Faults[0].Name = "kill-leader"
	r.Faults[0].Targets = []string{"m1"}
	r.Events = []result.Event{
		{AtMs: -2500, Kind: result.EventPhase, Message: "connect"},
		{AtMs: 0, Kind: result.EventFault, Message: "kill-leader injected (targets: m1)"},
		{AtMs: 12, Kind: result.EventProbe, Message: "health down: context deadline exceeded"},
		{AtMs: 2000, Kind: result.EventStep, Message: "restart-member started"},
		{AtMs: 2310, Kind: result.EventProbe, Message: "health up"},
		{AtMs: 11690, Kind: result.EventRevert, Message: "kill-leader reverted"},
		{AtMs: 11700, Kind: result.EventVerdict, Message: "fail: RTO 2.31s exceeds target 2s"},
	}
	return r
}

func neverRecoveredResult() *result.Result {
	r := base("api-instance-stop", "01HZX3NEVR0000000000000000")
	r.System = "orders-api"
	r.Verdict = result.VerdictFail
	r.Reason = "health not recovered within timeout 2m0s"
	r.FinishedAt = fixtureStart.Add(125 * time.Second)
	r.Objectives = result.Objectives{
		RTO: result.RTO{TargetMs: 30000, MeasuredMs: nil, Met: false, ResolutionMs: 500},
		RPO: result.RPO{},
	}
	r.Probes = []result.Probe{{
		Name: "health", Type: "http", Role: "availability", IntervalMs: 500,
		Samples: 240, Failures: 236, FirstFailureMs: i64(1500),
		LastError: "Get \"http://10.0.1.17/health\": dial tcp 10.0.1.17:80: connect: connection refused",
		Down:      []result.Interval{{FromMs: 1500, ToMs: 120000}},
	}}
	r.Faults = []result.Fault{{
		Name: "stop-instances", Type: "aws-ec2-stop", InjectedAtMs: i64(0), RevertedAtMs: i64(121000),
		Targets: []string{"i-0a1b2c3d4e5f60718", "i-0f1e2d3c4b5a69788"},
	}}
	r.Events = []result.Event{
		{AtMs: -1200, Kind: result.EventPhase, Message: "steady-state"},
		{AtMs: 0, Kind: result.EventFault, Message: "stop-instances injected (targets: i-0a1b2c3d4e5f60718, i-0f1e2d3c4b5a69788)"},
		{AtMs: 1500, Kind: result.EventProbe, Message: "health down: connection refused"},
		{AtMs: 120000, Kind: result.EventError, Message: "timeout 2m0s: health not recovered"},
		{AtMs: 121000, Kind: result.EventRevert, Message: "stop-instances reverted"},
		{AtMs: 122500, Kind: result.EventVerdict, Message: "fail: health not recovered within timeout 2m0s"},
	}
	return r
}

func steadyFailedResult() *result.Result {
	r := base("etcd-quorum-loss", "01HZX3STDY0000000000000000")
	r.Verdict = result.VerdictError
	r.Reason = "system not in steady state"
	r.T0 = ""
	r.FinishedAt = fixtureStart.Add(800 * time.Millisecond)
	r.SteadyState = result.Steady{
		Before: result.Check{Ran: true, Passed: false, Failed: []string{
			`health: Get "http://127.0.0.1:2379/health": dial tcp 127.0.0.1:2379: connect: connection refused`,
		}},
		After: result.Check{Skipped: "system not in steady state before the drill"},
	}
	r.Rollback = result.Rollback{}
	r.Objectives = result.Objectives{
		RTO: result.RTO{TargetMs: 10000, ResolutionMs: 50},
		RPO: result.RPO{TargetMs: i64(0), DataProbes: 1},
	}
	r.Probes = []result.Probe{
		{Name: "health", Type: "http", Role: "availability", IntervalMs: 50},
		{Name: "writes", Type: "etcd-writes", Role: "data", IntervalMs: 10},
	}
	r.Faults = []result.Fault{
		{Name: "kill-two-members", Type: "etcd-kill-member"},
	}
	r.Events = []result.Event{
		{AtMs: 0, Kind: result.EventPhase, Message: "connect"},
		{AtMs: 140, Kind: result.EventPhase, Message: "steady-state"},
		{AtMs: 790, Kind: result.EventError, Message: `health: Get "http://127.0.0.1:2379/health": dial tcp 127.0.0.1:2379: connect: connection refused`},
		{AtMs: 800, Kind: result.EventVerdict, Message: "error: system not in steady state"},
	}
	return r
}

// rollbackErrorResult also carries the characters reports must escape: markup, quotes, a CDATA
// terminator and the colour codes of a command's stderr.
func rollbackErrorResult() *result.Result {
	r := base("dns-failover", "01HZX3RLBK0000000000000000")
	r.System = "checkout <eu> & \"us\""
	r.Verdict = result.VerdictError
	revertErr := "iptables -D INPUT -p tcp --dport 443 -j DROP: exit status 1: \x1b[31miptables: Bad rule (does a matching rule exist in that chain?).\x1b[0m ]]>"
	r.Reason = "rollback failed: revert block-https: " + revertErr
	r.Objectives = result.Objectives{
		RTO: result.RTO{TargetMs: 60000, MeasuredMs: i64(812), Met: true, ResolutionMs: 100, Probe: "checkout"},
		RPO: result.RPO{MeasuredMs: i64(0), Met: true, AcknowledgedTotal: 57, DataProbes: 1},
	}
	r.Probes = []result.Probe{
		{
			Name: "checkout", Type: "http", Role: "availability", IntervalMs: 100,
			Samples: 120, Failures: 8, RecoveredMs: i64(812), DowntimeMs: i64(800), FirstFailureMs: i64(12),
			LastError: "expected status 200, got 503: <html>Service Unavailable</html>",
		},
		{
			Name: "orders", Type: "dynamodb-writes", Role: "data", IntervalMs: 200,
			Samples: 60, Failures: 0, RecoveredMs: i64(0), DowntimeMs: i64(0), NoDisruption: true,
			Data: &result.Data{Written: 60, Acknowledged: 57, Recovered: 3, RPOMs: i64(0)},
		},
	}
	r.Faults = []result.Fault{{
		Name: "block-https", Type: "command", InjectedAtMs: i64(0), RevertedAtMs: i64(9100),
		Targets: []string{"local"}, RevertError: revertErr,
	}}
	r.Rollback = result.Rollback{Ran: true, Clean: false, Errors: []string{"revert block-https: " + revertErr}}
	r.Events = []result.Event{
		{AtMs: 0, Kind: result.EventFault, Message: "block-https injected (targets: local)"},
		{AtMs: 12, Kind: result.EventProbe, Message: "checkout down: expected status 200, got 503"},
		{AtMs: 812, Kind: result.EventProbe, Message: "checkout up"},
		{AtMs: 9100, Kind: result.EventError, Message: "revert block-https: exit status 1\nstderr: iptables: Bad rule & <chain>"},
		{AtMs: 9200, Kind: result.EventVerdict, Message: "error: rollback failed"},
	}
	return r
}

// noDisruptionResult passes, but none of its probes noticed the fault: the suspicious case.
func noDisruptionResult() *result.Result {
	r := base("redis-replica-kill", "01HZX3NODS0000000000000000")
	r.System = "sessions-redis"
	r.Verdict = result.VerdictPass
	r.Objectives = result.Objectives{
		RTO: result.RTO{TargetMs: 5000, MeasuredMs: i64(0), Met: true, ResolutionMs: 50, Probe: "ping"},
		RPO: result.RPO{TargetMs: nil, DataProbes: 0},
	}
	r.Probes = []result.Probe{
		{Name: "ping", Type: "tcp", Role: "availability", IntervalMs: 50, Samples: 200, RecoveredMs: i64(0), DowntimeMs: i64(0), NoDisruption: true},
		{Name: "no-pager", Type: "command", Role: "guard", IntervalMs: 1000, Samples: 10, RecoveredMs: i64(0), DowntimeMs: i64(0), NoDisruption: true},
	}
	r.Faults = []result.Fault{
		{Name: "kill-replica", Type: "command", InjectedAtMs: i64(0), RevertedAtMs: i64(10040), Targets: []string{"redis-2"}},
	}
	r.Events = []result.Event{
		{AtMs: 0, Kind: result.EventFault, Message: "kill-replica injected (targets: redis-2)"},
		{AtMs: 10040, Kind: result.EventRevert, Message: "kill-replica reverted"},
		{AtMs: 10050, Kind: result.EventVerdict, Message: "pass"},
	}
	return r
}

// abortedResult was interrupted during observation: nothing could be judged.
func abortedResult() *result.Result {
	r := passResult()
	r.RunID = "01HZX3ABRT0000000000000000"
	r.Verdict = result.VerdictAborted
	r.Reason = "interrupted (SIGINT) during observe"
	r.FinishedAt = fixtureStart.Add(4 * time.Second)
	r.Objectives.RTO.MeasuredMs = nil
	r.Objectives.RTO.Met = false
	r.Objectives.RTO.Probe = ""
	r.Objectives.RPO.MeasuredMs = nil
	r.Objectives.RPO.Met = false
	r.Probes[0].RecoveredMs = nil
	r.Probes[0].DowntimeMs = nil
	r.Probes[0].Failures = 40
	r.Probes[1].Data.RPOMs = nil
	r.Probes[1].Data.Error = "read-back skipped: interrupted"
	r.Steps = nil
	r.Events = []result.Event{
		{AtMs: 0, Kind: result.EventFault, Message: "kill-follower injected (targets: m2)"},
		{AtMs: 12, Kind: result.EventProbe, Message: "health down: context deadline exceeded"},
		{AtMs: 800, Kind: result.EventSignal, Message: "interrupt: rolling back"},
		{AtMs: 1300, Kind: result.EventRevert, Message: "kill-follower reverted"},
		{AtMs: 1500, Kind: result.EventVerdict, Message: "aborted: interrupted (SIGINT) during observe"},
	}
	r.Faults[0].RevertedAtMs = i64(1300)
	return r
}

// injectionFailedResult is what an older runner stored when the fault could not be injected:
// probes ran a moment after t0, saw nothing, and the RTO read "0 s, met".
func injectionFailedResult() *result.Result {
	r := passResult()
	r.RunID = "01HZX3INJF0000000000000000"
	r.Verdict = result.VerdictError
	r.Reason = "inject kill-follower: permission denied"
	r.FinishedAt = fixtureStart.Add(3 * time.Second)
	r.Objectives.RTO = result.RTO{TargetMs: 10000, MeasuredMs: i64(0), Met: true, ResolutionMs: 20, Probe: "health"}
	r.Objectives.RPO = result.RPO{TargetMs: i64(0), DataProbes: 1}
	r.Probes[0] = result.Probe{Name: "health", Type: "http", Role: "availability", IntervalMs: 20, Samples: 2, RecoveredMs: i64(0), DowntimeMs: i64(0), NoDisruption: true}
	r.Probes[1].Data = &result.Data{Error: "read-back skipped"}
	r.Faults[0].Error = "permission denied"
	r.Faults[0].Targets = []string{}
	r.Faults[0].RevertedAtMs = i64(5)
	r.Steps = nil
	r.Events = []result.Event{
		{AtMs: 0, Kind: result.EventPhase, Message: "inject"},
		{AtMs: 1, Kind: result.EventError, Message: "inject kill-follower: permission denied"},
		{AtMs: 5, Kind: result.EventRevert, Message: "kill-follower reverted"},
		{AtMs: 9, Kind: result.EventVerdict, Message: "error: inject kill-follower: permission denied"},
	}
	return r
}

// dryRunResult is a --dry-run: a plan, no verdict on the system.
func dryRunResult() *result.Result {
	r := base("etcd-follower-loss", "01HZX3DRYR0000000000000000")
	r.DryRun = true
	r.Verdict = result.VerdictPass
	r.Reason = "dry run: nothing injected, no verdict on the system"
	r.T0 = ""
	r.FinishedAt = fixtureStart.Add(300 * time.Millisecond)
	r.SteadyState = result.Steady{}
	r.Rollback = result.Rollback{}
	r.Objectives = result.Objectives{RTO: result.RTO{TargetMs: 10000}}
	r.Faults = []result.Fault{{Name: "kill-follower", Type: "etcd-kill-member", Targets: []string{"m2"}}}
	r.Events = []result.Event{
		{AtMs: 0, Kind: result.EventPhase, Message: "connect"},
		{AtMs: 200, Kind: result.EventFault, Message: "plan: fault kill-follower (etcd-kill-member) would be injected; targets: m2"},
		{AtMs: 300, Kind: result.EventVerdict, Message: "dry run: nothing injected, no verdict on the system"},
	}
	return r
}

type fixture struct {
	name    string
	results func() []*result.Result
}

func one(f func() *result.Result) func() []*result.Result {
	return func() []*result.Result { return []*result.Result{f()} }
}

var fixtures = []fixture{
	{"pass", one(passResult)},
	{"rto-fail", one(rtoFailResult)},
	{"never-recovered", one(neverRecoveredResult)},
	{"steady-failed", one(steadyFailedResult)},
	{"rollback-error", one(rollbackErrorResult)},
	{"no-disruption", one(noDisruptionResult)},
	{"aborted", one(abortedResult)},
	{"injection-failed", one(injectionFailedResult)},
	{"dry-run", one(dryRunResult)},
	{"several", func() []*result.Result {
		return []*result.Result{passResult(), rtoFailResult(), steadyFailedResult()}
	}},
}
