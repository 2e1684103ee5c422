package runner

import (
	"testing"
	"time"
)

func TestLatenessHistQuantiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
		tol    time.Duration
	}{
		{name: "empty", q: 0.5, want: 0},
		{name: "exact below 32us", values: []time.Duration{3 * time.Microsecond, 5 * time.Microsecond, 7 * time.Microsecond}, q: 0.5, want: 5 * time.Microsecond},
		{name: "max is exact", values: []time.Duration{time.Millisecond, 1234567 * time.Nanosecond}, q: 1, want: 1234567 * time.Nanosecond},
		{name: "negative counts as zero", values: []time.Duration{-time.Millisecond}, q: 0.5, want: 0},
		{name: "p99 of a ramp within 1/32", values: ramp(1000, 10*time.Microsecond), q: 0.99, want: 9900 * time.Microsecond, tol: 9900 * time.Microsecond / 32},
		{name: "p50 of a ramp within 1/32", values: ramp(1000, 10*time.Microsecond), q: 0.5, want: 5000 * time.Microsecond, tol: 5000 * time.Microsecond / 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h, merged LatenessHist
			for _, v := range tt.values {
				h.Add(v)
			}
			merged.Merge(h)
			for name, hist := range map[string]LatenessHist{"hist": h, "merged": merged} {
				got := hist.Quantile(tt.q)
				if d := got - tt.want; d > tt.tol || -d > tt.tol {
					t.Errorf("%s: Quantile(%v) = %v, want %v ± %v", name, tt.q, got, tt.want, tt.tol)
				}
			}
		})
	}
}

func ramp(n int, step time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * step
	}
	return out
}
