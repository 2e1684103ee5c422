package runner_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/drillhq/drill/probes"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// flakyServer is a real HTTP server on loopback that an outage fault takes down by closing its
// listener and every open connection, then brings back on the same port after a set time.
type flakyServer struct {
	addr string
	mu   sync.Mutex
	srv  *http.Server
}

func startFlaky(tb testing.TB) *flakyServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	f := &flakyServer{addr: ln.Addr().String()}
	f.serve(ln)
	tb.Cleanup(func() { f.mu.Lock(); _ = f.srv.Close(); f.mu.Unlock() })
	return f
}

func (f *flakyServer) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })}
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// down closes everything now; it returns when the server is unreachable.
func (f *flakyServer) down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.srv.Close()
}

// up listens again; it returns the instant the listener accepts connections.
func (f *flakyServer) up() error {
	for range 100 {
		ln, err := net.Listen("tcp", f.addr)
		if err == nil {
			f.serve(ln)
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return errors.New("could not listen again on " + f.addr)
}

// outage is a fault that records the true outage on the run's clock.
type outage struct {
	srv       *flakyServer
	clock     *runner.Clock
	duration  time.Duration
	injectAt  time.Duration
	downAt    time.Duration
	upAt      time.Duration
	upErr     error
	recovered chan struct{}
}

func (o *outage) Inject(ctx context.Context) (runner.Injection, error) {
	o.injectAt = o.clock.Now()
	o.srv.down()
	o.downAt = o.clock.Now()
	o.recovered = make(chan struct{})
	go func() {
		time.Sleep(o.duration - (o.clock.Now() - o.downAt))
		o.upErr = o.srv.up()
		o.upAt = o.clock.Now()
		close(o.recovered)
	}()
	return runner.Injection{Revert: func(context.Context) error { <-o.recovered; return o.upErr }}, nil
}

// BenchmarkAccuracy runs 20 drills at a probe interval of ACCURACY_INTERVAL (default 20ms)
// against a real HTTP server taken down for a known time, and reports how far the measured RTO is
// from the true outage (from t0 to the instant the server listened again). Target: every trial
// within interval + 3 ms. How long the fault's injection took (t0 to the return of Inject, which
// the result records as injectedUntilMs) is reported separately: with a command fault it is the
// shell's start-up, and the outage begins only at its end.
// Run with: make accuracy ACCURACY_INTERVAL=5ms
func BenchmarkAccuracy(b *testing.B) {
	const trials = 20
	interval := envDuration(b, "ACCURACY_INTERVAL", 20*time.Millisecond)
	for range b.N {
		var errs, injections []time.Duration
		for i := range trials {
			// Outages of 0.5 s to ~1.5 s, spaced so they land on different phases of the grid.
			truth := 500*time.Millisecond + time.Duration(i)*53*time.Millisecond
			srv := startFlaky(b)
			var o *outage
			reg := runner.NewRegistry()
			reg.AddProbe(probes.HTTPType(probes.NewHTTPClient()))
			reg.AddFault(runner.FaultType{Name: "outage", New: func(cfg any, env *runner.Env) (runner.Fault, error) {
				o = &outage{srv: srv, clock: env.Clock, duration: truth}
				return o, nil
			}})
			s := &scenarios.Scenario{
				Name: "accuracy", System: "bench",
				Objectives: scenarios.Objectives{RTO: 10 * time.Second},
				Probes: []scenarios.ProbeSpec{{Name: "http", Type: "http", Role: scenarios.RoleAvailability, Interval: interval, Timeout: 200 * time.Millisecond,
					With: &probes.HTTPConfig{URL: "http://" + srv.addr + "/", Method: "GET", ExpectStatus: 200}}},
				SteadyState: []string{"http"},
				Faults:      []scenarios.StepSpec{{Name: "outage", Type: "outage"}},
				Limits:      scenarios.Limits{Timeout: 30 * time.Second, Observe: 300 * time.Millisecond, Rollback: 10 * time.Second},
			}
			res := runner.Run(context.Background(), s, runner.Options{Registry: reg})
			if res.Objectives.RTO.MeasuredMs == nil {
				b.Fatalf("trial %d: RTO not measured: %s %s", i, res.Verdict, res.Reason)
			}
			measured := time.Duration(*res.Objectives.RTO.MeasuredMs) * time.Millisecond
			// True RTO: from the start of the injection (t0, to within microseconds) to the instant
			// the server listened again, both read from the run's monotonic clock.
			trueRTO := o.upAt - o.injectAt
			errs = append(errs, measured-trueRTO)
			injection := o.downAt - o.injectAt
			injections = append(injections, injection)
			recorded := "?"
			if u := res.Faults[0].InjectedUntilMs; u != nil {
				recorded = fmt.Sprintf("%dms", *u)
			}
			b.Logf("trial %2d: outage %v, measured RTO %v, true %v, error %+v; injection took %v (injectedUntilMs %s)", i+1, truth, measured,
				trueRTO.Round(time.Microsecond), (measured - trueRTO).Round(time.Microsecond), injection.Round(time.Microsecond), recorded)
		}
		report(b, errs, interval)
		slices.Sort(injections)
		inj := fmt.Sprintf("injection (t0 to outage begun): p50 %v max %v", injections[len(injections)/2].Round(time.Microsecond), injections[len(injections)-1].Round(time.Microsecond))
		b.Log(inj)
		fmt.Println(inj)
		b.Logf("load average after: %s", loadAvg())
	}
}

func report(b *testing.B, errs []time.Duration, interval time.Duration) {
	abs := make([]time.Duration, len(errs))
	within := 0
	for i, e := range errs {
		abs[i] = max(e, -e)
		if abs[i] <= interval+3*time.Millisecond {
			within++
		}
	}
	slices.Sort(abs)
	slices.Sort(errs)
	q := func(s []time.Duration, p float64) time.Duration { return s[int(p*float64(len(s)-1)+0.5)] }
	summary := fmt.Sprintf("%d trials at interval %v: error (measured-true) min %+v p50 %+v max %+v; |error| p50 %v p95 %v max %v; within interval+3ms: %d/%d",
		len(errs), interval, errs[0].Round(time.Microsecond), q(errs, .5).Round(time.Microsecond), errs[len(errs)-1].Round(time.Microsecond),
		q(abs, .5).Round(time.Microsecond), q(abs, .95).Round(time.Microsecond), abs[len(abs)-1].Round(time.Microsecond), within, len(errs))
	b.Log(summary)
	fmt.Println(summary)
	b.ReportMetric(float64(q(abs, .5).Microseconds())/1000, "p50-abs-err-ms")
	b.ReportMetric(float64(abs[len(abs)-1].Microseconds())/1000, "max-abs-err-ms")
	b.ReportMetric(float64(within), "trials-within-bound")
	if within != len(errs) {
		b.Errorf("%d of %d trials outside interval+3ms", len(errs)-within, len(errs))
	}
}
