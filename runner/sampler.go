package runner

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/drillhq/drill/measure"
)

// SamplerConfig sets the sampling grid of one probe.
type SamplerConfig struct {
	Interval time.Duration
	Timeout  time.Duration // per sample
	// MaxInFlight bounds samples running at once; a grid slot that finds the bound reached is
	// recorded as a failed sample, because a target that cannot answer within that many intervals
	// is not serving. Zero means Timeout/Interval + 2, at most MaxInFlightCap.
	MaxInFlight int
	// Phase delays the first grid point. The runner spreads probes over one interval so that
	// many probes do not all fire at the same instant, which would make every one of them late.
	Phase time.Duration
	// OnSample, when set, is called as each sample completes (from the sample's goroutine).
	OnSample func(measure.Sample)
}

// TuneGC trades memory for timing precision. On a two-core machine each garbage-collection
// cycle takes one of the two processors for its mark phase, and with the default GOGC=100 a
// drill with many probes collects several times a second: that, not the scheduler, made
// samples launch late. GOGC=400 with a 1 GiB soft limit collects far less often while memory
// stays bounded. An explicit GOGC or GOMEMLIMIT in the environment wins.
func TuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}

// GridPhase is the phase the runner gives probe i of n: probes are spread evenly over one
// interval so their grid points do not coincide. Each probe's own grid stays regular.
func GridPhase(i, n int, interval time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(i) * interval / time.Duration(n)
}

// MaxInFlightCap bounds the default in-flight limit: against a hung target, a short interval
// with a long timeout would otherwise hold thousands of connections open on the system under
// test (1 ms with a 10 s timeout: 10,002).
const MaxInFlightCap = 256

// ErrInFlightLimit marks a grid slot skipped because earlier samples had not returned.
var ErrInFlightLimit = errors.New("earlier samples still running (in-flight limit reached)")

// Sampler runs one probe open-loop (docs/DESIGN.md §3): a sample is launched at every grid point
// start + k*Interval whether or not earlier samples returned, so a hung target cannot stretch
// the grid, and each sample is attributed to the instant it started.
type Sampler struct {
	clock *Clock
	probe Probe
	cfg   SamplerConfig

	mu       sync.Mutex
	samples  []measure.Sample
	lateness []time.Duration
	skipped  int // grid points missed because the scheduler itself ran late by over an interval
	// running holds the start of every sample in flight, by launch number.
	running  map[uint64]time.Duration
	launched uint64

	stop    chan struct{}
	stopped chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

// NewSampler prepares a sampler; Start begins sampling.
func NewSampler(clock *Clock, p Probe, cfg SamplerConfig) *Sampler {
	if cfg.Interval <= 0 {
		panic("runner: sampler interval must be positive") // the loader rejects this for users
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = cfg.Interval
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = int(min(cfg.Timeout/cfg.Interval, MaxInFlightCap-2)) + 2
	}
	return &Sampler{clock: clock, probe: p, cfg: cfg, running: map[uint64]time.Duration{}, stop: make(chan struct{}), stopped: make(chan struct{})}
}

// Start launches the scheduling loop; the first sample starts after Phase.
func (s *Sampler) Start(ctx context.Context) {
	go s.loop(ctx)
}

func (s *Sampler) loop(ctx context.Context) {
	defer close(s.stopped)
	origin := s.clock.Now() + s.cfg.Phase
	timer := time.NewTimer(0)
	defer timer.Stop()
	for k := int64(0); ; k++ {
		due := origin + time.Duration(k)*s.cfg.Interval
		if wait := due - s.clock.Now(); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-s.stop:
				return
			case <-ctx.Done():
				return
			}
		} else {
			select {
			case <-s.stop:
				return
			case <-ctx.Done():
				return
			default:
			}
		}
		now := s.clock.Now()
		if late := now - due; late >= s.cfg.Interval {
			// The scheduler itself was starved (e.g. the process was paused); catching up by
			// firing a burst would not add information, so skip to the current grid point.
			missed := int64(late / s.cfg.Interval)
			s.mu.Lock()
			s.skipped += int(missed)
			s.mu.Unlock()
			k += missed
			due += time.Duration(missed) * s.cfg.Interval
		}
		s.launch(ctx, due, now)
	}
}

func (s *Sampler) launch(ctx context.Context, due, start time.Duration) {
	s.mu.Lock()
	s.lateness = append(s.lateness, start-due)
	if len(s.running) >= s.cfg.MaxInFlight {
		sm := measure.Sample{Start: start, End: start, Err: ErrInFlightLimit.Error()}
		s.samples = append(s.samples, sm)
		s.mu.Unlock()
		if s.cfg.OnSample != nil {
			s.cfg.OnSample(sm)
		}
		return
	}
	s.launched++
	id := s.launched
	s.running[id] = start
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		// Samples are not cancelled by Stop: one already launched is part of the evidence and
		// is bounded by its own timeout.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
		err := s.probe.Check(sctx)
		if err == nil && sctx.Err() != nil {
			err = fmt.Errorf("timed out after %v", s.cfg.Timeout)
		}
		cancel()
		end := s.clock.Now()
		sm := measure.Sample{Start: start, End: end, OK: err == nil}
		if err != nil {
			sm.Err = err.Error()
		}
		s.mu.Lock()
		delete(s.running, id)
		s.samples = append(s.samples, sm)
		s.mu.Unlock()
		if s.cfg.OnSample != nil {
			s.cfg.OnSample(sm)
		}
	}()
}

// Stop ends scheduling and waits for samples in flight (each bounded by the sample timeout).
func (s *Sampler) Stop() {
	s.once.Do(func() { close(s.stop) })
	<-s.stopped
	s.wg.Wait()
}

// Samples returns the completed samples in start order.
func (s *Sampler) Samples() []measure.Sample {
	s.mu.Lock()
	out := append([]measure.Sample(nil), s.samples...)
	s.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// OldestInFlight returns the start of the oldest sample still running, if any.
func (s *Sampler) OldestInFlight() (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	oldest, ok := time.Duration(0), false
	for _, st := range s.running {
		if !ok || st < oldest {
			oldest, ok = st, true
		}
	}
	return oldest, ok
}

// Lateness returns, per launched grid point, how late the launch was against the grid.
func (s *Sampler) Lateness() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.lateness...)
}

// Skipped counts grid points the scheduler missed entirely.
func (s *Sampler) Skipped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.skipped
}
