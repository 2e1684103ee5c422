package runner

import (
	"log/slog"
	"slices"

	"github.com/drillhq/drill/internal/redact"
	"github.com/drillhq/drill/result"
)

// redactResult removes the scenario's secrets (and URL credentials and query strings) from
// every string of a finished result. Run calls it last, so the JSON and JUnit files, the console
// summary, history, DynamoDB and the compliance reports, which all take the *result.Result Run
// returns, never see a secret, and a field added to the result later is covered without a
// change here.
func redactResult(res *result.Result, s *redact.Secrets) {
	// Identifiers and timestamps are made by drill, never from a scenario; a short secret that
	// happens to occur in one (a numeric PIN in a date) must not corrupt them.
	schema, runID, sha, t0 := res.Schema, res.RunID, res.ScenarioSHA256, res.T0
	// Tags share their array with the scenario, which the caller may still print or reuse.
	res.Tags = slices.Clone(res.Tags)
	s.InPlace(res)
	res.Schema, res.RunID, res.ScenarioSHA256, res.T0 = schema, runID, sha, t0
}

// redactLog returns log with redaction in front of its handler, so neither the runner nor the
// probes, faults and steps that log through Env.Log can write a secret at any level.
func redactLog(log *slog.Logger, s *redact.Secrets) *slog.Logger {
	if log == nil {
		return nil
	}
	return slog.New(redact.NewHandler(log.Handler(), s))
}

// redactingObserver keeps secrets out of the live progress: events are redacted when they
// happen, long before the result is.
type redactingObserver struct {
	next    Observer
	secrets *redact.Secrets
}

func (o redactingObserver) Event(scenario string, e result.Event) {
	e.Message = o.secrets.Apply(e.Message)
	o.next.Event(o.secrets.Apply(scenario), e)
}

// T0 forwards the moment t0 is fixed to an observer that wants it.
func (o redactingObserver) T0(scenario string) {
	if t, ok := o.next.(T0Observer); ok {
		t.T0(o.secrets.Apply(scenario))
	}
}

func (o redactingObserver) Status(st Status) {
	st.Scenario = o.secrets.Apply(st.Scenario)
	st.Phase = o.secrets.Apply(st.Phase)
	probes := make([]ProbeStatus, len(st.Probes))
	for i, p := range st.Probes {
		p.Name = o.secrets.Apply(p.Name)
		probes[i] = p
	}
	st.Probes = probes
	o.next.Status(st)
}

// Redact removes the scenario's secrets, URL credentials and query strings from s. The result
// is redacted as a whole anyway; types call this before they cut text short (a stderr tail, a
// quoted command, a body snippet), because half a secret no longer matches and would survive.
func (e *Env) Redact(s string) string {
	if e == nil || e.Scenario == nil {
		return redact.Text(s)
	}
	return e.Scenario.Secrets.Apply(s)
}
