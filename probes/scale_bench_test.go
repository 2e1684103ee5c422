package probes

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

var (
	scaleWindow = flag.Duration("scale.window", 5*time.Second, "wall time each scale benchmark iteration samples for")
	// With both processes on two cores, the server's CPU competes with drill's scheduling; a
	// niced server shows what drill achieves when its target runs elsewhere, as it usually does.
	scaleServerNice = flag.Int("scale.server-nice", 0, "run the target server at this nice level (0: same priority as drill)")
)

const (
	scaleProbes   = 1000
	scaleInterval = 100 * time.Millisecond
	scaleTimeout  = time.Second
)

// BenchmarkHTTP1000Probes is the scale target: 1,000 http probes at 100 ms against one local
// server, sampled exactly as the runner samples them (grids spread over one interval with
// runner.GridPhase, GC tuned with runner.TuneGC as cmd/drill does). The server is a separate
// process (cmd/demo-web), as a drill's target is, so the CPU figure is drill's own.
//
//	go test ./probes -run='^$' -bench=HTTP1000 -benchtime=1x
func BenchmarkHTTP1000Probes(b *testing.B) {
	runner.TuneGC(os.Getenv)
	addr := startDemoWeb(b)

	client := NewHTTPClient()
	b.Cleanup(client.CloseIdleConnections)
	typ := HTTPType(client)
	probes := make([]runner.Probe, scaleProbes)
	for i := range probes {
		cfg := typ.NewConfig().(*HTTPConfig)
		cfg.URL = fmt.Sprintf("http://%s/health?probe=%d", addr, i)
		cfg.BodyContains = "ok"
		spec := scenarios.ProbeSpec{Name: fmt.Sprint("p", i), Type: "http", Interval: scaleInterval, Timeout: scaleTimeout, With: cfg}
		var err error
		if probes[i], err = typ.New(spec, runner.NewEnv(nil, nil)); err != nil {
			b.Fatal(err)
		}
	}
	runScale(b, probes)
}

// startDemoWeb builds and starts cmd/demo-web on a free loopback port, stopped at cleanup.
func startDemoWeb(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "demo-web")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/demo-web").CombinedOutput(); err != nil {
		b.Fatalf("build demo-web: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "-addr", addr)
	if *scaleServerNice != 0 {
		cmd = exec.Command("nice", "-n", strconv.Itoa(*scaleServerNice), bin, "-addr", addr)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for range 500 {
		if resp, err := http.Get("http://" + addr + "/health"); err == nil {
			resp.Body.Close()
			return addr
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatalf("demo-web did not start on %s", addr)
	return ""
}

// BenchmarkNoop1000Probes is the same grid with probes that return at once: the lateness the
// sampler alone adds, to tell scheduler cost from HTTP cost when the target is missed.
func BenchmarkNoop1000Probes(b *testing.B) {
	probes := make([]runner.Probe, scaleProbes)
	for i := range probes {
		probes[i] = noopProbe{}
	}
	runScale(b, probes)
}

type noopProbe struct{}

func (noopProbe) Check(context.Context) error { return nil }

// runScale samples probes for the window, phased like the runner phases a scenario's probes.
func runScale(b *testing.B, probes []runner.Probe) {
	var (
		lateness runner.LatenessHist
		samples  int
		failed   int
		skipped  int
		firstErr string
		wall     time.Duration
	)
	var firstErrOnce sync.Once
	load := loadAvg()
	before := cpuTime(b)
	b.ResetTimer()
	for range b.N {
		clock := runner.NewClock()
		samplers := make([]*runner.Sampler, len(probes))
		for i, p := range probes {
			samplers[i] = runner.NewSampler(clock, p, runner.SamplerConfig{
				Interval: scaleInterval, Timeout: scaleTimeout,
				Phase: runner.GridPhase(i, len(probes), scaleInterval),
				OnSample: func(sm measure.Sample) {
					if !sm.OK {
						firstErrOnce.Do(func() { firstErr = sm.Err })
					}
				},
			})
		}
		// Cancelling ctx stops every sampler's scheduling at once; Stop then only waits for
		// samples in flight. Stopping one by one would let the others keep sampling meanwhile.
		ctx, cancel := context.WithCancel(b.Context())
		start := time.Now()
		for _, s := range samplers {
			s.Start(ctx)
		}
		time.Sleep(time.Until(start.Add(*scaleWindow)))
		cancel()
		wall += time.Since(start)
		for _, s := range samplers {
			s.Stop()
		}
		for _, s := range samplers {
			lateness.Merge(s.Lateness())
			skipped += s.Skipped()
			n, f := s.Counts()
			samples += n
			failed += f
		}
	}
	b.StopTimer()
	cpu := cpuTime(b) - before

	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	// Quantiles come from the sampler's histogram (within 1/32 of the value); the maximum is exact.
	p50, p99, pmax := ms(lateness.Quantile(0.50)), ms(lateness.Quantile(0.99)), ms(lateness.Quantile(1))
	rate := float64(samples) / wall.Seconds()
	cpuPerWall := cpu.Seconds() / wall.Seconds()
	b.ReportMetric(p50, "late-p50-ms")
	b.ReportMetric(p99, "late-p99-ms")
	b.ReportMetric(pmax, "late-max-ms")
	b.ReportMetric(rate, "samples/s")
	b.ReportMetric(float64(failed), "failed")
	b.ReportMetric(float64(skipped), "skipped")
	b.ReportMetric(cpuPerWall, "cpu-s/wall-s")
	b.Logf("%d probes @%v for %v: lateness p50 %.2fms p99 %.2fms max %.2fms; %.0f samples/s, %d failed, %d grid points skipped; CPU %.2fs per wall s (GOMAXPROCS %d)",
		len(probes), scaleInterval, wall.Round(time.Millisecond), p50, p99, pmax, rate, failed, skipped, cpuPerWall, runtime.GOMAXPROCS(0))
	// The machine is shared: lateness means little without knowing what else was running.
	b.Logf("load average before: %s, after: %s", load, loadAvg())
	if firstErr != "" {
		b.Logf("first failure: %s", firstErr)
	}
}

// loadAvg returns the 1, 5 and 15 minute load averages ("?" where unavailable).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// cpuTime is the user+system CPU this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
