package measure

import (
	"sort"
	"time"
)

// Stream computes ComputeRecovery and HealthyFor of one probe while its samples arrive, keeping
// memory proportional to the probe's state changes (its down spans) instead of its samples: a
// 30-minute drill at 10 ms would otherwise hold 180,000 samples per probe.
//
// Samples complete out of order (sampling is open-loop, with several in flight), and
// ComputeRecovery walks them in start order, so a sample cannot be folded when it completes:
// one still in flight that started earlier could fail and overturn everything after it. Stream
// therefore holds completed samples in start order until the caller settles them (no sample
// that started before them is still running) and promises that the observation window will not
// end before them; only then are they folded into the running totals. What is held is bounded by
// the samples in flight and by how far the promise trails the newest answer, not by the run.
//
// The result is identical to ComputeRecovery over every sample the stream was given, provided
// the caller keeps the contract of SetT0, Settle and Promise. A Stream is not safe for
// concurrent use; the sampler guards it with its own lock.
type Stream struct {
	t0      time.Duration
	haveT0  bool
	promise time.Duration // the window ends at or after this; samples before it may be folded
	end     time.Duration // once fixed, samples starting at or after it are dropped at once
	haveEnd bool
	// preEnd is the latest answer seen before t0 was set. Only a sample that started at that very
	// instant can still be at or after t0 (a coarse or fake clock can read the same value for a
	// sample's start and end and for t0), so only such samples are kept until t0 is known.
	preEnd time.Duration

	// held are completed samples at or after t0 not folded yet, in start order (ties keep
	// arrival order, as ComputeRecovery's stable sort does).
	held []Sample

	// The fold: ComputeRecovery's loop state after the folded prefix.
	folded    int
	failures  int
	firstFail time.Duration
	lastErr   string
	down      []Span
	openDown  bool // the folded prefix ends in a failure run starting at openFrom
	openFrom  time.Duration
	// recoverAt is the start of the sample right after the last folded failure, when one
	// followed it (haveRecover).
	recoverAt   time.Duration
	haveRecover bool
	lastFolded  time.Duration // start of the newest folded sample
	okSince     time.Duration // start of the trailing run of successes in the fold, when !openDown
}

// NewStream returns an empty stream; call SetT0 before adding the samples to measure.
func NewStream() *Stream { return &Stream{} }

// SetT0 fixes t0. The caller must read t0 from the clock after every sample already added
// had completed (the runner reads it holding the sampler's lock): then only samples that started
// at the instant of the newest answer can be at or after t0, and only those were kept.
func (s *Stream) SetT0(t0 time.Duration) {
	s.t0, s.haveT0 = t0, true
	s.promise = max(s.promise, t0)
	s.dropBefore(t0)
}

// dropBefore discards held samples that started before at.
func (s *Stream) dropBefore(at time.Duration) {
	i := sort.Search(len(s.held), func(i int) bool { return s.held[i].Start >= at })
	m := copy(s.held, s.held[i:])
	clear(s.held[m:])
	s.held = s.held[:m]
}

// Add records a completed sample.
func (s *Stream) Add(sm Sample) {
	if !s.haveT0 {
		if sm.End > s.preEnd {
			s.preEnd = sm.End
			s.dropBefore(sm.End)
		}
		if sm.Start < s.preEnd {
			return
		}
	} else if sm.Start < s.t0 || (s.haveEnd && sm.Start >= s.end) {
		return
	}
	// Upper bound: after every held sample with the same start, as a stable sort would order it.
	i := sort.Search(len(s.held), func(i int) bool { return s.held[i].Start > sm.Start })
	s.held = append(s.held, Sample{})
	copy(s.held[i+1:], s.held[i:])
	s.held[i] = sm
}

// Promise records that the observation window will end no earlier than at: samples starting
// before it are inside the window and, once settled, may be folded. Promises never move back.
func (s *Stream) Promise(at time.Duration) {
	s.promise = max(s.promise, at)
}

// SetEnd fixes the end of the observation window once it is known; later samples that start at
// or after it are dropped as they arrive. It implies Promise(end).
func (s *Stream) SetEnd(end time.Duration) {
	s.end, s.haveEnd = end, true
	s.Promise(end)
	i := sort.Search(len(s.held), func(i int) bool { return s.held[i].Start >= end })
	clear(s.held[i:])
	s.held = s.held[:i]
}

// Settle folds every held sample that started before frontier and before the promise.
// frontier is the start of the oldest sample still running; with none running (running false),
// every held sample is settled. A sample that started before the oldest one running can no
// longer have an earlier neighbour arrive, so its place in start order is final.
func (s *Stream) Settle(frontier time.Duration, running bool) {
	if !s.haveT0 {
		return
	}
	n := 0
	for n < len(s.held) {
		st := s.held[n].Start
		if (running && st >= frontier) || st >= s.promise {
			break
		}
		s.fold(s.held[n])
		n++
	}
	if n == 0 {
		return
	}
	// Shift rather than reslice so the backing array does not creep forward and grow forever.
	m := copy(s.held, s.held[n:])
	clear(s.held[m:])
	s.held = s.held[:m]
}

// Held is how many samples wait to be folded (for tests and benchmarks).
func (s *Stream) Held() int { return len(s.held) }

// fold is one iteration of ComputeRecovery's loop.
func (s *Stream) fold(sm Sample) {
	rel := sm.Start - s.t0
	s.folded++
	s.lastFolded = sm.Start
	if sm.OK {
		if s.openDown {
			s.down = append(s.down, Span{From: s.openFrom, To: rel})
			s.openDown = false
			s.recoverAt, s.haveRecover = sm.Start, true
			s.okSince = sm.Start
		}
		if s.folded == 1 {
			s.okSince = sm.Start
		}
		return
	}
	if s.failures == 0 {
		s.firstFail = rel
	}
	s.failures++
	s.lastErr = sm.Err
	s.haveRecover = false
	if !s.openDown {
		s.openDown, s.openFrom = true, rel
	}
}

// Recovery is ComputeRecovery over every sample added, for the window [t0, end). end must not be
// before any promise made (the folded samples are taken to be inside the window).
func (s *Stream) Recovery(end time.Duration) Recovery {
	if !s.haveT0 {
		return Recovery{}
	}
	// Fold a copy, so the stream can still take samples (and Recovery be asked again).
	c := *s
	c.down = append([]Span(nil), s.down...)
	c.held = nil
	for _, sm := range s.held {
		if sm.Start < end {
			c.fold(sm)
		}
	}
	r := Recovery{Samples: c.folded, Failures: c.failures, LastError: c.lastErr, Down: c.down}
	if c.folded == 0 {
		return Recovery{Samples: 0}
	}
	if c.failures > 0 {
		r.FirstFailure = c.firstFail
	}
	if c.openDown {
		r.Down = append(r.Down, Span{From: c.openFrom, To: end - c.t0})
	}
	switch {
	case c.failures == 0:
		r.Recovered, r.NoDisruption = true, true
	case c.openDown:
		// Still failing at the end of observation: not recovered.
	default:
		r.Recovered = true
		r.At = c.recoverAt - c.t0
		r.Downtime = r.At - r.FirstFailure
	}
	return r
}

// Newest is the start of the newest completed sample at or after t0, if there is one.
func (s *Stream) Newest() (time.Duration, bool) {
	if len(s.held) > 0 {
		return s.held[len(s.held)-1].Start, true
	}
	return s.lastFolded, s.folded > 0
}

// HealthyFor is HealthyFor over the completed samples at or after t0, in start order; it also
// returns the start of the newest of them, on which the judgement rests.
func (s *Stream) HealthyFor(now time.Duration) (healthy, newest time.Duration, ok bool) {
	if len(s.held) > 0 {
		newest = s.held[len(s.held)-1].Start
		i := len(s.held) - 1
		if !s.held[i].OK {
			return 0, newest, false
		}
		for i > 0 && s.held[i-1].OK {
			i--
		}
		if i > 0 || s.folded == 0 || s.openDown {
			return now - s.held[i].Start, newest, true
		}
		return now - s.okSince, newest, true
	}
	if s.folded == 0 || s.openDown {
		return 0, s.lastFolded, false
	}
	return now - s.okSince, s.lastFolded, true
}
