package runner

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
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
// cycle takes one of the two processors for its mark phase and stops every goroutine twice, and
// each stop delays sample launches. Since samples are folded instead of kept, the live heap is a
// few MiB and no longer grows, so the default GOGC=100 collects very often (55 cycles for the
// 605,000 samples of 50 probes at 10 ms for 2 minutes, BenchmarkSampleRetention); GOGC=200 halves
// that (23) while the drill's peak RSS stays near 75 MiB, where GOGC=400 (13 cycles) let it reach
// 108 MiB (BenchmarkMemory; README, performance). The 512 MiB soft limit only matters if some probe
// type holds far more than that. An explicit GOGC or GOMEMLIMIT in the environment wins.
func TuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(512 << 20)
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

	mu sync.Mutex
	// stream measures recovery as samples complete; samples themselves are not kept, so memory
	// follows the probe's state changes, not the length of the run.
	stream   *measure.Stream
	count    int // samples completed
	fails    int
	lateness LatenessHist
	skipped  int // grid points missed because the scheduler itself ran late by over an interval
	// running lists samples in flight in launch order, which is start order: the head is the
	// oldest, whose start is the frontier below which the stream may fold.
	running  []flight
	inFlight int // entries of running not done
	launched uint64

	stop    chan struct{}
	stopped chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

type flight struct {
	id    uint64
	start time.Duration
	done  bool
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
	return &Sampler{clock: clock, probe: p, cfg: cfg, stream: measure.NewStream(), stop: make(chan struct{}), stopped: make(chan struct{})}
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
	s.lateness.Add(start - due)
	if s.inFlight >= s.cfg.MaxInFlight {
		sm := measure.Sample{Start: start, End: start, Err: ErrInFlightLimit.Error()}
		s.completeLocked(sm)
		s.mu.Unlock()
		if s.cfg.OnSample != nil {
			s.cfg.OnSample(sm)
		}
		return
	}
	s.launched++
	id := s.launched
	s.running = append(s.running, flight{id: id, start: start})
	s.inFlight++
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
		s.finishLocked(id)
		s.completeLocked(sm)
		s.mu.Unlock()
		if s.cfg.OnSample != nil {
			s.cfg.OnSample(sm)
		}
	}()
}

// finishLocked marks a sample done and drops finished samples from the head of running.
func (s *Sampler) finishLocked(id uint64) {
	// Ids are consecutive in launch order, so the sample is found by offset from the head.
	if len(s.running) > 0 {
		if i := int(id - s.running[0].id); i >= 0 && i < len(s.running) {
			s.running[i].done = true
			s.inFlight--
		}
	}
	n := 0
	for n < len(s.running) && s.running[n].done {
		n++
	}
	if n > 0 {
		m := copy(s.running, s.running[n:])
		s.running = s.running[:m]
	}
}

// completeLocked hands a finished sample to the stream and folds what it can.
func (s *Sampler) completeLocked(sm measure.Sample) {
	s.count++
	if !sm.OK {
		s.fails++
	}
	s.stream.Add(sm)
	s.settleLocked()
}

func (s *Sampler) settleLocked() {
	if len(s.running) > 0 {
		s.stream.Settle(s.running[0].start, true)
	} else {
		s.stream.Settle(0, false)
	}
}

// Stop ends scheduling and waits for samples in flight (each bounded by the sample timeout).
func (s *Sampler) Stop() {
	s.once.Do(func() { close(s.stop) })
	<-s.stopped
	s.wg.Wait()
}

// MarkT0 reads t0 from clock while holding every sampler's lock and gives it to each: every
// sample that completed before then started before t0, which is what measure.Stream.SetT0
// requires, and every later one is judged against t0.
func MarkT0(clock *Clock, samplers []*Sampler) time.Duration {
	for _, s := range samplers {
		s.mu.Lock()
	}
	t0 := clock.Now()
	for _, s := range samplers {
		s.stream.SetT0(t0)
		s.mu.Unlock()
	}
	return t0
}

// Promise tells the sampler that the observation window will not end before at, so samples
// that started earlier can be folded once nothing before them is still running.
func (s *Sampler) Promise(at time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stream.Promise(at)
	s.settleLocked()
}

// SetEnd fixes the end of the observation window: later samples are not kept.
func (s *Sampler) SetEnd(end time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stream.SetEnd(end)
	s.settleLocked()
}

// Recovery is measure.ComputeRecovery over every sample completed so far, for [t0, end).
func (s *Sampler) Recovery(end time.Duration) measure.Recovery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.Recovery(end)
}

// HealthyFor is measure.HealthyFor over the samples completed since t0, with the start of the
// newest of them.
func (s *Sampler) HealthyFor(now time.Duration) (healthy, newest time.Duration, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.HealthyFor(now)
}

// Newest is the start of the newest sample completed since t0, if any.
func (s *Sampler) Newest() (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.Newest()
}

// Held is how many completed samples wait to be folded (for tests and benchmarks).
func (s *Sampler) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.Held()
}

// Counts returns how many samples completed and how many of them failed.
func (s *Sampler) Counts() (samples, failures int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count, s.fails
}

// OldestInFlight returns the start of the oldest sample still running, if any.
func (s *Sampler) OldestInFlight() (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.running) == 0 {
		return 0, false
	}
	return s.running[0].start, true
}

// Lateness returns how late each grid point was launched against the grid.
func (s *Sampler) Lateness() LatenessHist {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lateness.clone()
}

// Skipped counts grid points the scheduler missed entirely.
func (s *Sampler) Skipped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.skipped
}
