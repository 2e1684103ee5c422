package compliance

import (
	"fmt"
	"math"
	"time"
)

// Date formats an instant as a UTC calendar day.
func Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(time.DateOnly)
}

// DateTime formats an instant to the minute, in UTC, saying so.
func DateTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// Days formats a lateness or lead time coarsely: whole days from one day on, else hours.
func Days(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= 24*time.Hour:
		return "1 day"
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	case d >= time.Hour:
		return "1 hour"
	}
	return fmt.Sprintf("%d min", int(d/time.Minute))
}

// Millis formats a duration given in milliseconds for people: 850 ms, 2.31 s, 12.3 s,
// 4 min 12 s, 2 h 05 min: about three significant figures, finer than the tens of milliseconds
// probes typically sample at, without pretending to more.
func Millis(ms int64) string {
	neg := ""
	if ms < 0 {
		neg, ms = "−", -ms
	}
	d := time.Duration(ms) * time.Millisecond
	switch {
	case ms == 0:
		return "0 s"
	case ms < 1000:
		return fmt.Sprintf("%s%d ms", neg, ms)
	case d < time.Minute:
		s := float64(ms) / 1000
		switch {
		case s == math.Trunc(s):
			return fmt.Sprintf("%s%d s", neg, int64(s))
		case math.Round(s*100) < 1000:
			return fmt.Sprintf("%s%.2f s", neg, s)
		}
		return fmt.Sprintf("%s%.1f s", neg, s)
	case d < time.Hour:
		m, s := ms/60000, (ms%60000)/1000
		if s == 0 {
			return fmt.Sprintf("%s%d min", neg, m)
		}
		return fmt.Sprintf("%s%d min %d s", neg, m, s)
	}
	h, m := ms/3600000, (ms%3600000)/60000
	if m == 0 {
		return fmt.Sprintf("%s%d h", neg, h)
	}
	return fmt.Sprintf("%s%d h %02d min", neg, h, m)
}

// MillisPtr formats an optional measurement; nil is shown as missing.
func MillisPtr(ms *int64, missing string) string {
	if ms == nil {
		return missing
	}
	return Millis(*ms)
}
