package runner

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSampleRetention pushes the samples of a 2-minute drill, 50 probes at 10 ms (605,000),
// through the samplers' own launch path with an instant probe that is down for 1 s of it, and
// reports the live heap left per sample after a forced collection. Unlike RSS on a loaded,
// shared machine, it is repeatable: it counts what the sampler keeps, not what the scheduler
// did meanwhile. Run with: make memory
func BenchmarkSampleRetention(b *testing.B) {
	const probes, perProbe, interval = 50, 12100, 10 * time.Millisecond
	b.ReportAllocs()
	for range b.N {
		var down atomic.Bool
		p := probeFunc(func(context.Context) error {
			if down.Load() {
				return errors.New("connection refused")
			}
			return nil
		})
		clock := NewClock()
		ss := make([]*Sampler, probes)
		for i := range ss {
			ss[i] = NewSampler(clock, p, SamplerConfig{Interval: interval, Timeout: time.Second}) // room for a batch in flight
		}
		before := liveHeap()
		var ms0 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		markT0(clock, ss)
		for k := range perProbe {
			// The outage spans grid points 3000..3099; batches of 100 keep in flight bounded.
			if k%100 == 0 {
				for _, s := range ss {
					s.wg.Wait()
				}
				down.Store(k == 3000)
				promise(ss, time.Duration(k)*interval)
			}
			due := time.Duration(k) * interval
			for _, s := range ss {
				s.launch(b.Context(), due, due)
			}
		}
		for _, s := range ss {
			s.wg.Wait()
		}
		var ms1 runtime.MemStats
		runtime.ReadMemStats(&ms1)
		// Collections the feeding itself caused (GOGC decides how many), and what they cost.
		b.ReportMetric(float64(ms1.NumGC-ms0.NumGC), "GCs")
		b.ReportMetric(float64(ms1.PauseTotalNs-ms0.PauseTotalNs)/1e6, "GC-pause-ms")
		after := liveHeap()
		per := float64(int64(after)-int64(before)) / float64(probes*perProbe)
		b.ReportMetric(per, "live-B/sample")
		b.ReportMetric(float64(after-before)/(1<<20), "live-MiB")
		runtime.KeepAlive(ss)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// The two hooks below are what the streaming sampler needs; on a sampler that keeps every
// sample (the base commit) they are no-ops, which is how the benchmark compares the two.

func markT0(clock *Clock, ss []*Sampler) { MarkT0(clock, ss) }

func promise(ss []*Sampler, at time.Duration) {
	for _, s := range ss {
		s.Promise(at)
	}
}
