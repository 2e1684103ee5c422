package runner

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drillhq/drill/result"
)

// timingObserver records, on the bubble's fake clock, what an observer is told and when.
type timingObserver struct {
	mu       sync.Mutex
	start    time.Time
	t0       time.Duration // when T0 was called; -1 before
	statuses []time.Duration
	downs    int // status reports with health down
	events   []observed
}

type observed struct {
	ev      result.Event
	afterT0 bool // T0 had been called when the event arrived
}

func (o *timingObserver) Event(_ string, e result.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, observed{ev: e, afterT0: o.t0 >= 0})
}

func (o *timingObserver) T0(string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.t0 = time.Since(o.start)
}

func (o *timingObserver) Status(st Status) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if st.Phase == PhaseObserve || st.Phase == PhaseRecovery || st.Phase == PhaseInject {
		o.statuses = append(o.statuses, time.Since(o.start))
	}
	for _, p := range st.Probes {
		if p.Known && !p.Up {
			o.downs++
		}
	}
}

// TestObserverTiming runs a 1.2s outage on the fake clock: the status stream must be fast
// enough for a terminal to show it (10 Hz), the outage must reach the observer both as events
// and as status, and T0 must separate the events timed from the start from those timed from t0.
func TestObserverTiming(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		obs := &timingObserver{start: time.Now(), t0: -1}
		svc := &service{}
		res := Run(t.Context(), testScenario(outageCfg{For: 1200 * time.Millisecond}), Options{Registry: testRegistry(svc), Observer: obs})
		if res.Verdict != result.VerdictPass {
			t.Fatalf("verdict %s: %s", res.Verdict, res.Reason)
		}
		obs.mu.Lock()
		defer obs.mu.Unlock()

		if obs.t0 < 0 {
			t.Fatal("T0 never called")
		}
		for i := 1; i < len(obs.statuses); i++ {
			if gap := obs.statuses[i] - obs.statuses[i-1]; gap > 100*time.Millisecond {
				t.Errorf("status gap %v at %v, want at most 100ms (10 Hz)", gap, obs.statuses[i])
			}
		}
		if len(obs.statuses) < 10 {
			t.Errorf("only %d status reports after t0", len(obs.statuses))
		}
		if obs.downs == 0 {
			t.Error("no status report showed the outage")
		}

		var down, up, fault bool
		for _, o := range obs.events {
			if o.ev.Kind == result.EventFault && !o.afterT0 {
				t.Errorf("fault event %q arrived before T0", o.ev.Message)
			}
			if o.ev.Kind == result.EventPhase && o.ev.Message == PhaseSteady && o.afterT0 {
				t.Errorf("steady-state event arrived after T0")
			}
			if o.afterT0 && o.ev.Kind == result.EventProbe {
				switch o.ev.Message {
				case "health up":
					up = down
				default:
					down = true
				}
			}
			fault = fault || o.ev.Kind == result.EventFault
		}
		if !fault || !down || !up {
			t.Errorf("events after t0: fault %t, health down %t, then up %t; want all", fault, down, up)
		}
	})
}
