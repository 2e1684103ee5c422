// Package measure turns probe samples and data-probe writes into the numbers a drill is judged
// by (docs/DESIGN.md §3). It is pure: times are offsets on one monotonic timeline, so the same
// code serves the live runner, synctest tests and benchmarks.
package measure

import (
	"sort"
	"time"
)

// Sample is one probe check, attributed to the instant it was scheduled to start.
type Sample struct {
	Start time.Duration // offset of the sample's start on the run's monotonic timeline
	End   time.Duration // when its answer (or its timeout) arrived
	OK    bool
	Err   string
}

// Recovery is one probe's recovery, with times relative to t0.
type Recovery struct {
	Samples  int // samples considered: started at or after t0 and before the end of observation
	Failures int
	// Recovered is false when the last sample considered failed (or there were no samples).
	Recovered bool
	// At is the start of the earliest sample after t0 such that it and every later sample
	// succeeded. Zero with NoDisruption when no sample after t0 failed.
	At           time.Duration
	NoDisruption bool
	// FirstFailure is the start of the first failing sample after t0 (valid when Failures > 0).
	FirstFailure time.Duration
	// Downtime = At - FirstFailure, valid when Recovered and not NoDisruption.
	Downtime time.Duration
	// Down lists the failing stretches: from a failing sample's start to the start of the next
	// successful sample (or the end of observation when none came).
	Down []Span
	// LastError is the error of the last failing sample, for the report.
	LastError string
}

// Span is [From, To) relative to t0.
type Span struct{ From, To time.Duration }

// ComputeRecovery applies docs/DESIGN.md §3 to samples of one probe. t0 and end are offsets on the
// same timeline as the samples; samples starting before t0 or at/after end are ignored.
func ComputeRecovery(samples []Sample, t0, end time.Duration) Recovery {
	var window []Sample
	for _, s := range samples {
		if s.Start >= t0 && s.Start < end {
			window = append(window, s)
		}
	}
	sort.SliceStable(window, func(i, j int) bool { return window[i].Start < window[j].Start })

	r := Recovery{Samples: len(window)}
	if len(window) == 0 {
		return r
	}
	lastFail := -1
	var openDown *Span
	for i, s := range window {
		rel := s.Start - t0
		if s.OK {
			if openDown != nil {
				openDown.To = rel
				r.Down = append(r.Down, *openDown)
				openDown = nil
			}
			continue
		}
		if r.Failures == 0 {
			r.FirstFailure = rel
		}
		r.Failures++
		r.LastError = s.Err
		lastFail = i
		if openDown == nil {
			openDown = &Span{From: rel}
		}
	}
	if openDown != nil {
		openDown.To = end - t0
		r.Down = append(r.Down, *openDown)
	}
	switch {
	case r.Failures == 0:
		r.Recovered, r.NoDisruption = true, true
	case lastFail == len(window)-1:
		// Still failing at the end of observation: not recovered.
	default:
		r.Recovered = true
		r.At = window[lastFail+1].Start - t0
		r.Downtime = r.At - r.FirstFailure
	}
	return r
}

// HealthyFor reports how long the probe has been continuously healthy at the end of the given
// samples (which must be complete and in start order): now minus the start of the first sample of
// the trailing run of successes. ok is false when the latest sample failed or there is none.
func HealthyFor(samples []Sample, now time.Duration) (time.Duration, bool) {
	if len(samples) == 0 || !samples[len(samples)-1].OK {
		return 0, false
	}
	i := len(samples) - 1
	for i > 0 && samples[i-1].OK {
		i--
	}
	return now - samples[i].Start, true
}
