package measure

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
)

// replay feeds samples to a Stream the way the sampler does: in completion order, settling after
// every answer with the start of the oldest sample still running. t0 is set once every answer up
// to t0 has arrived, promises are made as time passes (never beyond end or the current time, as
// the runner promises the oldest of the probes' newest answers), and the end is fixed lag after
// end, as the runner learns it only after other probes' later answers have arrived. HealthyFor is
// checked against the batch function after every answer until then.
func replay(t *testing.T, samples []Sample, t0, end, lag time.Duration, promiseEvery int) *Stream {
	t.Helper()
	type event struct {
		at     time.Duration
		launch bool
		i      int
	}
	var evs []event
	for i, sm := range samples {
		evs = append(evs, event{sm.Start, true, i}, event{sm.End, false, i})
	}
	// Launches before answers at the same instant: a sample is running from the instant it starts.
	slices.SortStableFunc(evs, func(a, b event) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		if a.launch != b.launch {
			if a.launch {
				return -1
			}
			return 1
		}
		return 0
	})
	st := NewStream()
	running := map[int]bool{}
	var completed []Sample
	t0Set, endSet := false, false
	for n, ev := range evs {
		if !t0Set && ev.at > t0 {
			st.SetT0(t0)
			t0Set = true
		}
		if !endSet && ev.at > end+lag && t0Set {
			st.SetEnd(end)
			endSet = true
		}
		if ev.launch {
			running[ev.i] = true
			continue
		}
		delete(running, ev.i)
		st.Add(samples[ev.i])
		completed = append(completed, samples[ev.i])
		oldest, any := time.Duration(0), false
		for i := range running {
			if !any || samples[i].Start < oldest {
				oldest, any = samples[i].Start, true
			}
		}
		st.Settle(oldest, any)
		if t0Set && promiseEvery > 0 && n%promiseEvery == 0 {
			st.Promise(min(ev.at, end))
		}
		if t0Set && !endSet {
			checkHealthy(t, st, completed, t0, ev.at)
		}
	}
	if !t0Set {
		st.SetT0(t0)
	}
	return st
}

// checkHealthy compares the stream's HealthyFor with the batch one over the answers so far.
func checkHealthy(t *testing.T, st *Stream, completed []Sample, t0, now time.Duration) {
	t.Helper()
	var after []Sample
	for _, sm := range completed {
		if sm.Start >= t0 {
			after = append(after, sm)
		}
	}
	slices.SortStableFunc(after, func(a, b Sample) int { return cmp.Compare(a.Start, b.Start) })
	wantH, wantOK := HealthyFor(after, now)
	gotH, newest, gotOK := st.HealthyFor(now)
	if gotH != wantH || gotOK != wantOK {
		t.Fatalf("at %v: HealthyFor = %v, %v; batch %v, %v", now, gotH, gotOK, wantH, wantOK)
	}
	if len(after) > 0 && newest != after[len(after)-1].Start {
		t.Fatalf("at %v: newest %v, batch %v", now, newest, after[len(after)-1].Start)
	}
}

// gridSamples builds samples every 10ms; pattern has one rune per sample: '+' ok, '-' fail;
// lat gives each sample's latency (missing: 1ms).
func gridSamples(pattern string, lat map[int]time.Duration) []Sample {
	out := grid(0, pattern)
	for i := range out {
		d, ok := lat[i]
		if !ok {
			d = ms
		}
		out[i].End = out[i].Start + d
	}
	return out
}

func TestStreamMatchesBatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		samples []Sample
		t0, end time.Duration
	}{
		{name: "outage then recovery", samples: gridSamples("+++---++++", nil), t0: 25 * ms, end: 100 * ms},
		{name: "flapping", samples: gridSamples("+-+-++-+++", nil), t0: 0, end: 100 * ms},
		{name: "still failing", samples: gridSamples("++---", nil), t0: 0, end: 50 * ms},
		{name: "no samples", t0: 0, end: time.Second},
		{name: "end cuts the tail", samples: gridSamples("+-+-++--++", nil), t0: 0, end: 75 * ms},
		{
			// Sample 3 starts before the candidate recovery at 40ms and answers last, failing:
			// recovery moves to 50ms although 40ms..90ms answered ok long before.
			name:    "in-flight sample overturns recovery",
			samples: gridSamples("+--------+-+++++", map[int]time.Duration{9: 100 * ms}),
			t0:      0, end: 160 * ms,
		},
		{
			name:    "out of order: slow success after fast failures",
			samples: gridSamples("++++-----+++", map[int]time.Duration{1: 45 * ms, 2: 30 * ms}),
			t0:      0, end: 120 * ms,
		},
		{name: "zero-latency sample at t0", samples: gridSamples("+-++", map[int]time.Duration{2: 0}), t0: 20 * ms, end: 40 * ms},
		{name: "t0 after everything", samples: gridSamples("+-+", nil), t0: time.Second, end: 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, every := range []int{0, 1, 3} {
				st := replay(t, tt.samples, tt.t0, tt.end, 25*ms, every)
				want := ComputeRecovery(tt.samples, tt.t0, tt.end)
				if diff := gocmp.Diff(want, st.Recovery(tt.end)); diff != "" {
					t.Errorf("promise every %d: stream vs batch (-batch +stream):\n%s", every, diff)
				}
			}
		})
	}
}

// TestStreamOverturnedRecovery pins the case the stream exists to get right: an early sample
// still in flight must keep later successes from being folded into a recovery.
func TestStreamOverturnedRecovery(t *testing.T) {
	t.Parallel()
	st := NewStream()
	st.SetT0(0)
	st.Promise(time.Second)
	st.Add(Sample{Start: 0, End: ms, Err: "down"})
	st.Settle(10*ms, true) // sample at 10ms still running
	for _, start := range []time.Duration{20 * ms, 30 * ms} {
		st.Add(Sample{Start: start, End: start + ms, OK: true})
		st.Settle(10*ms, true)
	}
	if st.Held() != 2 {
		t.Fatalf("held %d samples, want the 2 after the running one", st.Held())
	}
	st.Add(Sample{Start: 10 * ms, End: 35 * ms, Err: "late failure"})
	st.Settle(0, false)
	got := st.Recovery(40 * ms)
	want := Recovery{Samples: 4, Failures: 2, Recovered: true, At: 20 * ms, FirstFailure: 0, Downtime: 20 * ms,
		Down: []Span{{0, 20 * ms}}, LastError: "late failure"}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if st.Held() != 0 {
		t.Errorf("held %d after everything settled", st.Held())
	}
}

// TestStreamProperty replays random runs (fixed seed, so a failure reproduces) through the
// stream and the batch functions and compares every field. The runs mix outages, flapping, long
// latencies that reorder answers, zero-latency answers (in-flight-limit failures) and t0 and end
// anywhere, including before the first and after the last sample.
func TestStreamProperty(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	const runs = 2000
	for run := range runs {
		n := rng.IntN(80)
		interval := time.Duration(1+rng.IntN(20)) * ms
		samples := make([]Sample, n)
		down := false
		for i := range samples {
			if rng.IntN(8) == 0 {
				down = !down
			}
			start := time.Duration(i)*interval + time.Duration(rng.Int64N(int64(interval)))
			lat := time.Duration(rng.Int64N(int64(interval)))
			switch rng.IntN(6) {
			case 0:
				lat = time.Duration(rng.Int64N(int64(8 * interval))) // overtaken by later samples
			case 1:
				lat = 0
			}
			ok := !down
			if rng.IntN(10) == 0 {
				ok = !ok // a blip against the trend
			}
			samples[i] = Sample{Start: start, End: start + lat, OK: ok}
			if !ok {
				samples[i].Err = fmt.Sprintf("err %d", i)
			}
		}
		span := time.Duration(n+2) * interval
		t0 := time.Duration(rng.Int64N(int64(span))) - interval
		end := t0 + time.Duration(rng.Int64N(int64(span)))
		every := rng.IntN(4)
		lag := time.Duration(rng.Int64N(int64(4 * interval)))
		st := replay(t, samples, t0, end, lag, every)
		want := ComputeRecovery(samples, t0, end)
		if diff := gocmp.Diff(want, st.Recovery(end)); diff != "" {
			t.Fatalf("run %d (n %d, t0 %v, end %v, lag %v, promise every %d): (-batch +stream):\n%s", run, n, t0, end, lag, every, diff)
		}
	}
}
