package runner_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/drillhq/drill/probes"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// BenchmarkMemory runs one whole drill (runner.Run, GC tuned as cmd/drill tunes it) with
// MEMORY_PROBES http probes (default 50) every MEMORY_INTERVAL (10ms), each sample timing out after
// MEMORY_TIMEOUT (200ms), against a loopback server
// that a fault takes down for 1s, and ends at limits.timeout MEMORY_DURATION (2m) after the start,
// whatever the probes saw (a loaded machine makes the odd sample time out, and recovery holding
// for the whole window is not what is measured here). It reports the peak RSS,
// the live heap after a forced collection at the start and end of observation, and the live
// heap that each sample adds; from that slope it extrapolates the live heap of a 30-minute drill
// with 50 probes at 20ms (4.5 million samples). Run with: make memory
func BenchmarkMemory(b *testing.B) {
	dur := envDuration(b, "MEMORY_DURATION", 2*time.Minute)
	interval := envDuration(b, "MEMORY_INTERVAL", 10*time.Millisecond)
	timeout := envDuration(b, "MEMORY_TIMEOUT", 200*time.Millisecond)
	n := 50
	if v := os.Getenv("MEMORY_PROBES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("MEMORY_PROBES=%q: want a positive integer", v)
		}
	}
	runner.TuneGC(os.Getenv)
	for range b.N {
		srv := startFlaky(b)
		reg := runner.NewRegistry()
		reg.AddProbe(probes.HTTPType(probes.NewHTTPClient()))
		reg.AddFault(runner.FaultType{Name: "outage", New: func(cfg any, env *runner.Env) (runner.Fault, error) {
			return &outage{srv: srv, clock: env.Clock, duration: time.Second}, nil
		}})
		s := &scenarios.Scenario{
			Name: "memory", System: "bench",
			Objectives: scenarios.Objectives{RTO: 10 * time.Second},
			Faults:     []scenarios.StepSpec{{Name: "outage", Type: "outage"}},
			Limits:     scenarios.Limits{Timeout: dur, Observe: dur + time.Hour, Rollback: 10 * time.Second},
		}
		for i := range n {
			name := fmt.Sprint("p", i)
			s.Probes = append(s.Probes, scenarios.ProbeSpec{Name: name, Type: "http", Role: scenarios.RoleAvailability, Interval: interval, Timeout: timeout,
				With: &probes.HTTPConfig{URL: "http://" + srv.addr + "/?p=" + name, Method: "GET", ExpectStatus: 200}})
		}
		s.SteadyState = []string{"p0"}
		obs := &countingObserver{}
		done := make(chan struct{})
		var wg sync.WaitGroup
		var snaps []heapSnap
		wg.Go(func() {
			// Snapshots every eighth of the observation: a forced collection each time, so the
			// figure is live heap, not how far GOGC let garbage pile up.
			t := time.NewTicker(dur / 8)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					snaps = append(snaps, snapHeap(obs.samples.Load()))
				}
			}
		})
		load := loadAvg()
		cpu0 := cpuTime()
		start := time.Now()
		res := runner.Run(context.Background(), s, runner.Options{Registry: reg, Observer: obs})
		wall := time.Since(start)
		cpu := cpuTime() - cpu0
		close(done)
		wg.Wait()
		samples, failures := 0, 0
		for _, p := range res.Probes {
			samples += p.Samples
			failures += p.Failures
		}
		if res.T0 == "" {
			b.Fatalf("no fault injected: %s %s", res.Verdict, res.Reason)
		}
		peak := procStatusKiB(b, "VmHWM")
		b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
		b.ReportMetric(float64(samples), "samples")
		// CPU includes the loopback server's: both versions serve the same probes.
		b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cpu-s/wall-s")
		b.Logf("%d probes @%v, drill %v (%s): %d samples, %d failed after t0, peak RSS %.1f MiB; load average before %s, after %s",
			n, interval, wall.Round(time.Second), res.Verdict, samples, failures, float64(peak)/1024, load, loadAvg())
		if len(snaps) >= 3 {
			// Least squares over the snapshots after the first (which can fall in the outage, with
			// probes reconnecting): single snapshots swing by tens of MiB with the requests in
			// flight at that instant, so two endpoints would say little.
			pts := snaps[1:]
			var mx, my float64
			for _, p := range pts {
				mx += float64(p.samples)
				my += float64(p.live)
			}
			mx, my = mx/float64(len(pts)), my/float64(len(pts))
			var sxy, sxx float64
			for _, p := range pts {
				sxy += (float64(p.samples) - mx) * (float64(p.live) - my)
				sxx += (float64(p.samples) - mx) * (float64(p.samples) - mx)
			}
			perSample := sxy / max(sxx, 1)
			const thirtyMin = 50 * int64(30*time.Minute/(20*time.Millisecond))
			extrapolated := my + perSample*(float64(thirtyMin)-mx)
			b.ReportMetric(perSample, "live-B/sample")
			b.ReportMetric(float64(snaps[len(snaps)-1].live)/(1<<20), "live-heap-MiB")
			b.ReportMetric(extrapolated/(1<<20), "live-heap-30min-MiB")
			for _, sn := range snaps {
				b.Logf("  at %7d samples: live heap %6.1f MiB, RSS %6.1f MiB", sn.samples, float64(sn.live)/(1<<20), float64(sn.rss)/1024)
			}
			b.Logf("live heap per sample %.1f B (least squares); 30 min of 50 probes @20ms (%d samples): %.0f MiB live", perSample, thirtyMin, extrapolated/(1<<20))
		}
	}
}

type heapSnap struct {
	samples int64
	live    uint64
	rss     int64 // KiB
}

func snapHeap(samples int64) heapSnap {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return heapSnap{samples: samples, live: ms.HeapAlloc, rss: procStatusKiBNoFail("VmRSS")}
}

// countingObserver keeps the total of samples the runner reports in its status updates.
type countingObserver struct{ samples atomic.Int64 }

func (o *countingObserver) Event(string, result.Event) {}
func (o *countingObserver) Status(st runner.Status) {
	var n int64
	for _, p := range st.Probes {
		n += int64(p.Samples)
	}
	o.samples.Store(n)
}

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: want a positive duration such as 5ms", name, v)
	}
	return d
}

func procStatusKiB(b *testing.B, field string) int64 {
	v := procStatusKiBNoFail(field)
	if v < 0 {
		b.Fatalf("no %s in /proc/self/status", field)
	}
	return v
}

// procStatusKiBNoFail reads a "Field:   123 kB" line of /proc/self/status; -1 when absent.
func procStatusKiBNoFail(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				if v, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return v
				}
			}
		}
	}
	return -1
}

// cpuTime is the user+system CPU this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAvg returns the 1, 5 and 15 minute load averages ("?" where unavailable).
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
