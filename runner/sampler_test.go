package runner

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/measure"
)

// erraticProbe answers after a pseudo-random delay (so answers overtake each other) and fails
// during an outage window and on the odd blip; some answers hang past the sampler's timeout.
type erraticProbe struct {
	clock    *Clock
	from, to time.Duration // outage on the probe's clock
	mu       sync.Mutex
	rng      *rand.Rand
}

func (p *erraticProbe) Check(ctx context.Context) error {
	p.mu.Lock()
	delay := time.Duration(p.rng.Int64N(int64(30 * time.Millisecond)))
	if p.rng.IntN(10) == 0 {
		delay = 200 * time.Millisecond // past the timeout: answers as a failure, late
	}
	blip := p.rng.IntN(25) == 0
	p.mu.Unlock()
	start := p.clock.Now()
	select {
	case <-time.After(delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	if blip || (start >= p.from && start < p.to) {
		return errors.New("down")
	}
	return nil
}

// TestSamplerStreamMatchesRecordedSamples records every sample a live sampler produces (out of
// order, with timeouts and in-flight-limit failures) and checks that the sampler's streamed
// recovery equals the batch computation over the recording, with promises made along the way as
// the runner makes them.
func TestSamplerStreamMatchesRecordedSamples(t *testing.T) {
	t.Parallel()
	for seed := range uint64(5) {
		synctest.Test(t, func(t *testing.T) {
			clock := NewClock()
			p := &erraticProbe{clock: clock, from: 300 * time.Millisecond, to: 700 * time.Millisecond, rng: rand.New(rand.NewPCG(seed, 7))}
			var mu sync.Mutex
			var rec []measure.Sample
			sm := NewSampler(clock, p, SamplerConfig{Interval: 10 * time.Millisecond, Timeout: 50 * time.Millisecond, MaxInFlight: 4,
				OnSample: func(s measure.Sample) { mu.Lock(); rec = append(rec, s); mu.Unlock() }})
			sm.Start(t.Context())
			time.Sleep(200 * time.Millisecond)
			t0 := MarkT0(clock, []*Sampler{sm})
			var end time.Duration
			for range 200 {
				time.Sleep(7 * time.Millisecond)
				if newest, ok := sm.Newest(); ok {
					sm.Promise(newest)
					end = newest + 1
				}
			}
			sm.SetEnd(end)
			sm.Stop()
			if held := sm.Held(); held != 0 {
				t.Errorf("seed %d: %d samples still held after stop", seed, held)
			}
			slices.SortStableFunc(rec, func(a, b measure.Sample) int { return cmp.Compare(a.Start, b.Start) })
			want := measure.ComputeRecovery(rec, t0, end)
			if diff := gocmp.Diff(want, sm.Recovery(end)); diff != "" {
				t.Errorf("seed %d: (-batch +stream):\n%s", seed, diff)
			}
			if want.Failures == 0 {
				t.Errorf("seed %d: the recording has no failure; the test proves little", seed)
			}
		})
	}
}
