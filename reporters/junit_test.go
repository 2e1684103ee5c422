package reporters

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/result"
)

// The reader types are independent of the writer's, so the test checks the XML a CI server
// sees, not the writer's structs.
type readSuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     float64     `xml:"time,attr"`
	Suites   []readSuite `xml:"testsuite"`
}

type readSuite struct {
	Name       string     `xml:"name,attr"`
	Tests      int        `xml:"tests,attr"`
	Failures   int        `xml:"failures,attr"`
	Errors     int        `xml:"errors,attr"`
	Skipped    int        `xml:"skipped,attr"`
	Time       float64    `xml:"time,attr"`
	Timestamp  string     `xml:"timestamp,attr"`
	Properties []readProp `xml:"properties>property"`
	Cases      []readCase `xml:"testcase"`
	SystemOut  string     `xml:"system-out"`
}

type readProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type readCase struct {
	Name      string       `xml:"name,attr"`
	Classname string       `xml:"classname,attr"`
	Time      float64      `xml:"time,attr"`
	Failure   *readProblem `xml:"failure"`
	Error     *readProblem `xml:"error"`
	Skipped   *readProblem `xml:"skipped"`
	SystemErr string       `xml:"system-err"`
}

type readProblem struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

func (c readCase) outcome() (string, *readProblem) {
	switch {
	case c.Failure != nil:
		return "failure", c.Failure
	case c.Error != nil:
		return "error", c.Error
	case c.Skipped != nil:
		return "skipped", c.Skipped
	}
	return "pass", nil
}

func parseJUnit(t *testing.T, rs []*result.Result) readSuites {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, rs); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `<?xml version="1.0" encoding="UTF-8"?>`+"\n") {
		t.Errorf("missing XML header:\n%s", buf.String())
	}
	var doc readSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit does not parse: %v\n%s", err, buf.String())
	}
	return doc
}

// expect is the outcome of each testcase, with a fragment its message must contain.
type expect struct{ outcome, message string }

func TestJUnitOutcomes(t *testing.T) {
	t.Parallel()
	pass := expect{"pass", ""}
	tests := []struct {
		fixture                     string
		steady, rto, rpo, rollbackE expect
	}{
		{"pass", pass, pass, pass, pass},
		{"rto-fail", pass, expect{"failure", "RTO 2.310s exceeds target 2s"}, pass, pass},
		{"never-recovered", pass, expect{"failure", "RTO not met: not recovered (target 30s)"},
			expect{"skipped", "no RPO objective and no data probe"}, pass},
		{"steady-failed", expect{"error", "system not in steady state before the drill: health: Get"},
			expect{"skipped", "not measured: system not in steady state"},
			expect{"skipped", "not measured: system not in steady state"},
			expect{"skipped", "nothing to roll back"}},
		{"rollback-error", pass, pass, pass, expect{"error", "rollback failed: revert block-https: iptables"}},
		{"injection-failed", pass, expect{"error", "RTO not judged: injection failed: kill-follower: permission denied"},
			expect{"error", "RPO not measured"}, pass},
		{"dry-run", expect{"skipped", "no steady-state check"}, expect{"skipped", "no fault injected"},
			expect{"skipped", "no RPO objective"}, expect{"skipped", "nothing to roll back"}},
		{"no-disruption", pass, pass, expect{"skipped", "no RPO objective and no data probe"}, pass},
		{"aborted", pass, expect{"error", "RTO not judged: interrupted (SIGINT) during observe"},
			expect{"error", "RPO not measured: interrupted (SIGINT) during observe"}, pass},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			r := fixtureByName(t, tt.fixture)[0]
			doc := parseJUnit(t, []*result.Result{r})
			if len(doc.Suites) != 1 {
				t.Fatalf("got %d testsuites, want 1", len(doc.Suites))
			}
			s := doc.Suites[0]
			if s.Name != r.Scenario {
				t.Errorf("suite name %q, want %q", s.Name, r.Scenario)
			}
			want := map[string]expect{"steady-state": tt.steady, "rto": tt.rto, "rpo": tt.rpo, "rollback": tt.rollbackE}
			var names []string
			for _, c := range s.Cases {
				names = append(names, c.Name)
				if c.Classname != "drill."+r.System+"."+r.Scenario {
					t.Errorf("%s: classname %q", c.Name, c.Classname)
				}
				got, p := c.outcome()
				w := want[c.Name]
				if got != w.outcome {
					t.Errorf("%s: outcome %s, want %s", c.Name, got, w.outcome)
					continue
				}
				if p != nil && !strings.Contains(p.Message, w.message) {
					t.Errorf("%s: message %q does not contain %q", c.Name, p.Message, w.message)
				}
			}
			if diff := cmp.Diff([]string{"steady-state", "rto", "rpo", "rollback"}, names); diff != "" {
				t.Errorf("testcases (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJUnitCounts(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			rs := fx.results()
			doc := parseJUnit(t, rs)
			if len(doc.Suites) != len(rs) {
				t.Fatalf("got %d testsuites, want %d", len(doc.Suites), len(rs))
			}
			var tests, failures, errs, skipped int
			var secs float64
			for i, s := range doc.Suites {
				var f, e, sk int
				for _, c := range s.Cases {
					switch o, _ := c.outcome(); o {
					case "failure":
						f++
					case "error":
						e++
					case "skipped":
						sk++
					}
				}
				if s.Tests != 4 || len(s.Cases) != 4 || s.Failures != f || s.Errors != e || s.Skipped != sk {
					t.Errorf("suite %s: tests=%d failures=%d errors=%d skipped=%d, but has %d cases with %d failures, %d errors, %d skipped",
						s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, len(s.Cases), f, e, sk)
				}
				tests += s.Tests
				failures += s.Failures
				errs += s.Errors
				skipped += s.Skipped
				secs += s.Time

				r := rs[i]
				if want := r.FinishedAt.Sub(r.StartedAt).Seconds(); s.Time != want {
					t.Errorf("suite %s: time %v, want %v", s.Name, s.Time, want)
				}
				ts, err := time.Parse(time.RFC3339, s.Timestamp)
				if err != nil || !ts.Equal(r.StartedAt) {
					t.Errorf("suite %s: timestamp %q (%v), want %v", s.Name, s.Timestamp, err, r.StartedAt)
				}
				props := map[string]string{}
				for _, p := range s.Properties {
					props[p.Name] = p.Value
				}
				for name, want := range map[string]string{
					"system": r.System, "owner": r.Owner, "runId": r.RunID, "verdict": string(r.Verdict),
					"t0": r.T0, "scenarioSha256": r.ScenarioSHA256,
				} {
					if props[name] != want {
						t.Errorf("suite %s: property %s = %q, want %q", s.Name, name, props[name], want)
					}
				}
				if got := strings.Count(s.SystemOut, "\n"); got != len(r.Events) {
					t.Errorf("suite %s: system-out has %d lines, want one per event (%d)", s.Name, got, len(r.Events))
				}
			}
			if doc.Tests != tests || doc.Failures != failures || doc.Errors != errs || doc.Skipped != skipped {
				t.Errorf("testsuites tests=%d failures=%d errors=%d skipped=%d, suites add up to %d/%d/%d/%d",
					doc.Tests, doc.Failures, doc.Errors, doc.Skipped, tests, failures, errs, skipped)
			}
			if diff := doc.Time - secs; diff > 0.0005 || diff < -0.0005 {
				t.Errorf("testsuites time %v, suites add up to %v", doc.Time, secs)
			}
		})
	}
}

func TestJUnitFailureBodies(t *testing.T) {
	t.Parallel()
	doc := parseJUnit(t, []*result.Result{rtoFailResult()})
	rto := doc.Suites[0].Cases[1]
	for _, want := range []string{"measured: 2.310s (resolution ±20ms)", "target: 2s", "set by probe: health", "recovered at +2.310s"} {
		if rto.Failure == nil || !strings.Contains(rto.Failure.Body, want) {
			t.Errorf("rto failure body lacks %q: %+v", want, rto.Failure)
		}
	}
	if rto.Time != 2.31 {
		t.Errorf("rto time %v, want the measured RTO 2.31", rto.Time)
	}

	r := rollbackErrorResult()
	r.Rollback.Errors = append(r.Rollback.Errors, "rollback step flush-dns: exit status 2")
	doc = parseJUnit(t, []*result.Result{r})
	rb := doc.Suites[0].Cases[3]
	if rb.Error == nil {
		t.Fatalf("rollback: want an error (verdict error, not a missed objective), got %+v", rb)
	}
	for _, want := range []string{"revert block-https: iptables", "rollback step flush-dns: exit status 2"} {
		if !strings.Contains(rb.Error.Body, want) {
			t.Errorf("rollback error body lacks %q:\n%s", want, rb.Error.Body)
		}
	}
}

// Anything a drill records may end up in the XML: markup, quotes, CDATA terminators, terminal
// colours, NUL bytes and broken UTF-8 must all come out as well-formed XML with the text intact.
func TestJUnitEscaping(t *testing.T) {
	t.Parallel()
	nasty := "a<b>&c\"d'e ]]> f\x1b[31mred\x1b[0m g\x00h \xff i"
	r := rollbackErrorResult()
	r.Scenario = "weird<&>"
	r.Reason = nasty
	r.Rollback.Errors = []string{nasty}
	r.Events = append(r.Events, result.Event{AtMs: 9300, Kind: result.EventError, Message: nasty})
	doc := parseJUnit(t, []*result.Result{r})

	s := doc.Suites[0]
	if s.Name != "weird<&>" {
		t.Errorf("suite name %q", s.Name)
	}
	const kept = "a<b>&c\"d'e ]]> fred g"
	if !strings.Contains(s.SystemOut, kept) {
		t.Errorf("system-out lost text; want %q in:\n%s", kept, s.SystemOut)
	}
	rb := s.Cases[3]
	if rb.Error == nil || !strings.Contains(rb.Error.Message, kept) || !strings.Contains(rb.Error.Body, kept) {
		t.Errorf("rollback error lost text: %+v", rb.Error)
	}
	for _, p := range s.Properties {
		if p.Name == "reason" && !strings.Contains(p.Value, kept) {
			t.Errorf("reason property %q", p.Value)
		}
	}
}

func TestJUnitEmpty(t *testing.T) {
	t.Parallel()
	doc := parseJUnit(t, nil)
	if doc.Tests != 0 || len(doc.Suites) != 0 {
		t.Errorf("empty run: %+v", doc)
	}
}

func TestJUnitWarnsWhenNothingWasDisrupted(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		r    *result.Result
		want string
	}{
		{noDisruptionResult(), "WARNING: no disruption observed by ping"},
		{passResult(), ""},
	} {
		doc := parseJUnit(t, []*result.Result{tt.r})
		rto := doc.Suites[0].Cases[1]
		if tt.want == "" && rto.SystemErr != "" || !strings.Contains(rto.SystemErr, tt.want) {
			t.Errorf("%s: rto system-err %q, want %q", tt.r.Scenario, rto.SystemErr, tt.want)
		}
	}
}

func TestJUnitSteadyStateCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(r *result.Result)
		want   expect
	}{
		{"not restored after rollback", func(r *result.Result) {
			r.Verdict = result.VerdictError
			r.SteadyState.After = result.Check{Ran: true, Failed: []string{"health: 503"}}
		}, expect{"error", "steady state not restored after rollback: health: 503"}},
		{"connect failed", func(r *result.Result) {
			r.Verdict = result.VerdictError
			r.Reason = "connect: dial tcp 127.0.0.1:2379: connection refused"
			r.SteadyState = result.Steady{Before: result.Check{Skipped: "connect failed"}, After: result.Check{Skipped: "connect failed"}}
		}, expect{"error", "steady state before the drill not checked: connect: dial tcp"}},
		{"after check interrupted", func(r *result.Result) {
			r.Verdict = result.VerdictAborted
			r.Reason = "interrupted twice"
			r.SteadyState.After = result.Check{Skipped: "interrupted"}
		}, expect{"error", "steady state after rollback not checked: interrupted twice"}},
		{"no steady-state probes", func(r *result.Result) {
			r.SteadyState = result.Steady{Before: result.Check{Skipped: "no steadyState probes"}, After: result.Check{Skipped: "no steadyState probes"}}
		}, expect{"skipped", "no steady-state check: no steadyState probes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := passResult()
			tt.modify(r)
			c := parseJUnit(t, []*result.Result{r}).Suites[0].Cases[0]
			got, p := c.outcome()
			if got != tt.want.outcome || p == nil || !strings.Contains(p.Message, tt.want.message) {
				t.Errorf("steady-state: %s %+v, want %s containing %q", got, p, tt.want.outcome, tt.want.message)
			}
		})
	}
}

// Only a missed objective is a <failure>: every drill that ended in error or aborted must show
// as an error in CI, whatever stopped it.
func TestJUnitErrorVerdictsAreErrors(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures {
		for _, r := range fx.results() {
			doc := parseJUnit(t, []*result.Result{r})
			s := doc.Suites[0]
			switch r.Verdict {
			case result.VerdictError, result.VerdictAborted:
				if s.Errors == 0 || s.Failures != 0 {
					t.Errorf("%s/%s (%s): errors=%d failures=%d, want errors and no failures", fx.name, r.Scenario, r.Verdict, s.Errors, s.Failures)
				}
			case result.VerdictPass:
				if s.Errors != 0 || s.Failures != 0 {
					t.Errorf("%s/%s (pass): errors=%d failures=%d", fx.name, r.Scenario, s.Errors, s.Failures)
				}
			}
		}
	}
	// A recovery step that failed leaves no testcase of its own to carry the error.
	r := passResult()
	r.Verdict, r.Reason = result.VerdictError, "recovery step restart-member: exit status 1"
	s := parseJUnit(t, []*result.Result{r}).Suites[0]
	if s.Errors != 1 || s.Cases[1].Error == nil || !strings.Contains(s.Cases[1].Error.Message, "RTO not judged: recovery step") {
		t.Errorf("recovery step failure: errors=%d rto=%+v", s.Errors, s.Cases[1])
	}
}
