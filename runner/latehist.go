package runner

import (
	"math/bits"
	"time"
)

// LatenessHist counts how late grid points were launched, in log-linear buckets of whole
// microseconds (exact below 32 µs, then 16 buckets per power of two: within 1/32 of the value).
// It replaces a slice of every lateness, which grew by 8 bytes a sample for the whole run; the
// scale benchmark only ever asks for quantiles.
type LatenessHist struct {
	counts []uint32 // grown to the highest bucket used: a few hundred bytes for ms-scale lateness
	n      int
	max    time.Duration
}

func latenessBucket(d time.Duration) int {
	u := uint64(max(d, 0) / time.Microsecond)
	if u < 32 {
		return int(u)
	}
	e := bits.Len64(u) - 5
	return 16*e + int(u>>e)
}

// bucketMid is the middle of bucket i.
func bucketMid(i int) time.Duration {
	if i < 32 {
		return time.Duration(i) * time.Microsecond
	}
	e := i/16 - 1
	m := uint64(i - 16*e)
	lo, hi := m<<e, (m+1)<<e-1
	return time.Duration((lo+hi)/2) * time.Microsecond
}

// Add counts one lateness.
func (h *LatenessHist) Add(d time.Duration) {
	i := latenessBucket(d)
	if i >= len(h.counts) {
		h.counts = append(h.counts, make([]uint32, i+1-len(h.counts))...)
	}
	h.counts[i]++
	h.n++
	h.max = max(h.max, d)
}

// Merge adds every count of o.
func (h *LatenessHist) Merge(o LatenessHist) {
	if len(o.counts) > len(h.counts) {
		h.counts = append(h.counts, make([]uint32, len(o.counts)-len(h.counts))...)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count is how many launches were counted.
func (h LatenessHist) Count() int { return h.n }

// Quantile is the nearest-rank q-quantile, to within its bucket; Quantile(1) is the exact maximum.
func (h LatenessHist) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q >= 1 {
		return h.max
	}
	rank := max(0, min(int(q*float64(h.n)+0.5)-1, h.n-1))
	seen := 0
	for i, c := range h.counts {
		seen += int(c)
		if seen > rank {
			return min(bucketMid(i), h.max)
		}
	}
	return h.max
}

func (h LatenessHist) clone() LatenessHist {
	h.counts = append([]uint32(nil), h.counts...)
	return h
}
