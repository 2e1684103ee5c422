package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/scenarios"
)

// fakeJournal logs each call into the service's event log, so tests see journal lines and
// changes to the system in one order.
type fakeJournal struct {
	svc   *service
	delay time.Duration // each intent line takes this long (a slow fsync)
	fail  error

	mu      sync.Mutex
	records map[string]json.RawMessage
}

func (j *fakeJournal) Injecting(ctx context.Context, fault, typ string, targets []string, record json.RawMessage) error {
	if j.fail != nil {
		return j.fail
	}
	if record == nil {
		time.Sleep(j.delay)
		j.svc.log("journal intent " + fault + " " + typ)
		return nil
	}
	j.mu.Lock()
	if j.records == nil {
		j.records = map[string]json.RawMessage{}
	}
	j.records[fault] = record
	j.mu.Unlock()
	j.svc.log(fmt.Sprintf("journal record %s %v %s", fault, targets, record))
	return nil
}

func (j *fakeJournal) Reverted(ctx context.Context, fault, note string) error {
	j.svc.log("journal reverted " + fault + ": " + note)
	return nil
}

func (j *fakeJournal) Creating(ctx context.Context, typ string, targets []string, record json.RawMessage) error {
	if j.fail != nil {
		return j.fail
	}
	j.svc.log(fmt.Sprintf("journal resource %s %v %s", typ, targets, record))
	return nil
}

func (j *fakeJournal) Removed(ctx context.Context, typ, note string) error {
	j.svc.log("journal removed " + typ + ": " + note)
	return nil
}

type outageRecord struct {
	Service string `json:"service"`
}

type otherRecord struct {
	Other int `json:"other"`
}

// journaledOutage is outageFault for a type registered WithRecover: it journals first, unless
// told to forget or to journal the wrong record.
type journaledOutage struct {
	outageFault
	env       *Env
	forget    bool
	wrongType bool
}

func (f *journaledOutage) Inject(ctx context.Context) (Injection, error) {
	var rec any = outageRecord{Service: "svc-" + f.name}
	if f.wrongType {
		rec = otherRecord{Other: 1}
	}
	if !f.forget {
		if err := f.env.Journal(ctx, []string{"svc-" + f.name}, rec); err != nil {
			return Injection{}, err
		}
	}
	return f.outageFault.Inject(ctx)
}

func journalRegistry(svc *service, forget, wrongType bool) *Registry {
	reg := testRegistry(svc)
	reg.AddFault(NewFaultType("joutage", "test", func() *outageCfg { return &outageCfg{} },
		func(c *outageCfg, env *Env) (Fault, error) {
			return &journaledOutage{outageFault: outageFault{name: "f", cfg: *c, svc: svc}, env: env, forget: forget, wrongType: wrongType}, nil
		},
		WithRecover(func(ctx context.Context, env *Env, rec *outageRecord) error {
			svc.log("recover " + rec.Service)
			return nil
		})))
	return reg
}

func TestRunJournalsBeforeInjectingAndMarksReverted(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		s := testScenario(outageCfg{For: time.Second})
		s.Faults[0].Type = "joutage"
		j := &fakeJournal{svc: svc, delay: 500 * time.Millisecond}
		res := Run(t.Context(), s, Options{Registry: journalRegistry(svc, false, false), Journal: j, RunID: "run-1"})
		if res.Verdict != result.VerdictPass || res.RunID != "run-1" {
			t.Fatalf("verdict %s (%s), run %s", res.Verdict, res.Reason, res.RunID)
		}
		want := []string{
			"journal intent down joutage",
			`journal record down [svc-f] {"service":"svc-f"}`,
			"inject f",
			"revert f",
			"journal reverted down: reverted by the drill",
		}
		if got := strings.Join(svc.events, "\n"); got != strings.Join(want, "\n") {
			t.Errorf("order of journal and changes:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
		}
		// The intent line's fsync comes before t0: it must not be counted as outage.
		if got := time.Duration(*res.Objectives.RTO.MeasuredMs) * time.Millisecond; got > time.Second+20*time.Millisecond {
			t.Errorf("RTO %v for a 1s outage: the journal's delay was timed as outage", got)
		}
		// What was journaled is what the type's Recover reads, in a new process.
		typ, _ := journalRegistry(svc, false, false).Fault("joutage")
		if err := typ.Recover(t.Context(), NewEnv(nil, nil), j.records["down"]); err != nil {
			t.Fatal(err)
		}
		if svc.events[len(svc.events)-1] != "recover svc-f" {
			t.Errorf("Recover did not get the record: %v", svc.events)
		}
	})
}

func TestRunRefusesToInjectWhatItCannotJournal(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		j := &fakeJournal{svc: svc, fail: errors.New("disk full")}
		res := Run(t.Context(), testScenario(outageCfg{For: time.Second}), Options{Registry: testRegistry(svc), Journal: j})
		for _, e := range svc.events {
			if strings.HasPrefix(e, "inject") {
				t.Fatalf("fault injected although its journal line failed: %v", svc.events)
			}
		}
		if res.Verdict != result.VerdictError || !strings.Contains(res.Reason, "disk full") {
			t.Errorf("verdict %s (%s), want error naming the journal failure", res.Verdict, res.Reason)
		}
	})
}

func TestRunFailsARecoverableFaultThatDidNotJournal(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		s := testScenario(outageCfg{For: 100 * time.Millisecond})
		s.Faults[0].Type = "joutage"
		res := Run(t.Context(), s, Options{Registry: journalRegistry(svc, true, false), Journal: &fakeJournal{svc: svc}})
		if res.Verdict != result.VerdictError || !strings.Contains(res.Reason, "journaled no revert data") {
			t.Errorf("verdict %s (%s), want error: journaled no revert data", res.Verdict, res.Reason)
		}
		if len(svc.reverted) != 1 {
			t.Errorf("not reverted: %v", svc.reverted)
		}
	})
}

func TestRunRejectsARecordRecoverCannotRead(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		s := testScenario(outageCfg{For: 100 * time.Millisecond})
		s.Faults[0].Type = "joutage"
		res := Run(t.Context(), s, Options{Registry: journalRegistry(svc, false, true), Journal: &fakeJournal{svc: svc}})
		if res.Verdict != result.VerdictError || !strings.Contains(res.Reason, "outageRecord") {
			t.Errorf("verdict %s (%s), want error naming the record type", res.Verdict, res.Reason)
		}
		for _, e := range svc.events {
			if e == "inject f" {
				t.Errorf("fault injected with an unreadable record: %v", svc.events)
			}
		}
	})
}

// A fault with nothing to undo is closed in the journal at once, so a later kill leaves nothing
// for recover to do about it.
func TestRunJournalClosesFaultsWithNothingToUndo(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		svc := &service{}
		reg := testRegistry(svc)
		reg.AddFault(FaultType{Name: "noop", New: func(cfg any, env *Env) (Fault, error) { return noopFault{}, nil }})
		s := testScenario(outageCfg{})
		s.Faults[0].Type = "noop"
		_ = Run(t.Context(), s, Options{Registry: reg, Journal: &fakeJournal{svc: svc}})
		want := "journal intent down noop\njournal reverted down: nothing to undo"
		if got := strings.Join(svc.events, "\n"); got != want {
			t.Errorf("journal:\n%s\nwant:\n%s", got, want)
		}
	})
}

type noopFault struct{}

// A type that declares WithoutRevert but returns a Revert fails the run (drill recover would
// close its leftover as nothing to undo); one that keeps its word passes.
func TestRunFailsANoRevertTypeThatReturnsARevert(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		fault     func(svc *service, c *outageCfg) Fault
		wantError bool
	}{
		{"returns a revert", func(svc *service, c *outageCfg) Fault { return &outageFault{name: "f", cfg: *c, svc: svc} }, true},
		{"nothing to undo", func(*service, *outageCfg) Fault { return noopFault{} }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				svc := &service{}
				reg := testRegistry(svc)
				reg.AddFault(NewFaultType("norevert", "test", func() *outageCfg { return &outageCfg{} },
					func(c *outageCfg, env *Env) (Fault, error) { return tt.fault(svc, c), nil }, WithoutRevert()))
				s := testScenario(outageCfg{For: 100 * time.Millisecond})
				s.Faults[0].Type = "norevert"
				res := Run(t.Context(), s, Options{Registry: reg, Journal: &fakeJournal{svc: svc}})
				if got := res.Verdict == result.VerdictError && strings.Contains(res.Reason, "declares none (WithoutRevert)"); got != tt.wantError {
					t.Errorf("verdict %s (%s), want the WithoutRevert error: %v", res.Verdict, res.Reason, tt.wantError)
				}
			})
		})
	}
}

func (noopFault) Inject(context.Context) (Injection, error) { return Injection{}, nil }

// Outside a drill, Journal is a no-op: a fault's own unit test needs no journal.
func TestEnvJournalOutsideADrill(t *testing.T) {
	if err := NewEnv(nil, nil).Journal(t.Context(), nil, outageRecord{}); err != nil {
		t.Fatal(err)
	}
}

// A type written as a FaultType literal gets the same Recover and record check through With.
func TestFaultTypeLiteralWithRecover(t *testing.T) {
	var got string
	typ := FaultType{Name: "lit"}.With(WithRecover(func(ctx context.Context, env *Env, rec *outageRecord) error {
		got = rec.Service
		return nil
	}))
	if typ.Recover == nil || typ.checkRecord == nil {
		t.Fatal("With(WithRecover) set no Recover")
	}
	if err := typ.Recover(t.Context(), NewEnv(nil, nil), json.RawMessage(`{"service":"x"}`)); err != nil || got != "x" {
		t.Fatalf("Recover: %v, got %q", err, got)
	}
	if err := typ.Recover(t.Context(), NewEnv(nil, nil), json.RawMessage(`{"other":1}`)); err == nil || !strings.Contains(err.Error(), "recover lit") {
		t.Fatalf("Recover of a foreign record: %v, want an error naming the type", err)
	}
}

type labRecord struct {
	Dir string `json:"dir"`
}

// labConnector sets up a "lab" the way etcdenv's and sqlenv's connectors do: journaled before it
// exists, marked removed by its cleanup.
type labConnector struct {
	svc *service
	typ string
	rec any
}

func (*labConnector) Name() string                   { return "lab" }
func (*labConnector) Wants(*scenarios.Scenario) bool { return true }
func (c *labConnector) Connect(ctx context.Context, env *Env) (func(context.Context) error, error) {
	if err := env.JournalResource(ctx, c.typ, []string{"/lab"}, c.rec); err != nil {
		return nil, err
	}
	c.svc.log("lab up")
	return func(ctx context.Context) error {
		c.svc.log("lab down")
		env.ResourceRemoved(ctx, c.typ, "removed by the drill")
		return nil
	}, nil
}

// A connector's resource is journaled before it is created and marked removed after its cleanup
// took it down; a type that is not registered, or a record its Recover cannot read, stops the
// drill before anything is created.
func TestRunJournalsConnectorResources(t *testing.T) {
	t.Parallel()
	labType := NewResourceType("test-lab", "a test lab", func(ctx context.Context, env *Env, rec *labRecord) error { return nil })
	tests := []struct {
		name    string
		typ     string
		rec     any
		want    []string
		verdict result.Verdict
		reason  string
	}{
		{"journaled then removed", "test-lab", labRecord{Dir: "/lab"}, []string{
			`journal resource test-lab [/lab] {"dir":"/lab"}`,
			"lab up",
			"journal intent down outage",
			"inject f",
			"revert f",
			"journal reverted down: reverted by the drill",
			"lab down",
			"journal removed test-lab: removed by the drill",
		}, result.VerdictPass, ""},
		{"unregistered type", "other-lab", labRecord{Dir: "/lab"}, nil, result.VerdictError, "resource type not registered"},
		{"unreadable record", "test-lab", otherRecord{Other: 1}, nil, result.VerdictError, "labRecord"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				svc := &service{}
				reg := testRegistry(svc)
				reg.AddResource(labType)
				reg.AddConnector(&labConnector{svc: svc, typ: tc.typ, rec: tc.rec})
				res := Run(t.Context(), testScenario(outageCfg{For: 100 * time.Millisecond}), Options{Registry: reg, Journal: &fakeJournal{svc: svc}})
				if res.Verdict != tc.verdict || !strings.Contains(res.Reason, tc.reason) {
					t.Errorf("verdict %s (%s), want %s naming %q", res.Verdict, res.Reason, tc.verdict, tc.reason)
				}
				if got := strings.Join(svc.events, "\n"); got != strings.Join(tc.want, "\n") {
					t.Errorf("journal and changes:\n%s\nwant:\n%s", got, strings.Join(tc.want, "\n"))
				}
			})
		})
	}
}
