package runner

import "time"

// Clock is the run's monotonic timeline. Offsets are durations since its origin, taken from Go's
// monotonic clock, so wall-clock jumps cannot bend a measurement.
type Clock struct {
	origin time.Time
}

// NewClock starts a timeline now.
func NewClock() *Clock { return &Clock{origin: time.Now()} }

// Now is the current offset.
func (c *Clock) Now() time.Duration { return time.Since(c.origin) }

// Origin is the wall-clock (and monotonic) instant of offset zero.
func (c *Clock) Origin() time.Time { return c.origin }

// Wall converts an offset to wall-clock time.
func (c *Clock) Wall(offset time.Duration) time.Time { return c.origin.Add(offset) }
