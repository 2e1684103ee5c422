package suite

import (
	"fmt"
	"strings"
	"time"
)

// Cadences (docs/DESIGN.md §2): how often a drill must pass.
const (
	Weekly     = "weekly"
	Monthly    = "monthly"
	Quarterly  = "quarterly"
	Semiannual = "semiannual"
	Annual     = "annual"
)

// Cadences lists the valid cadence names, most frequent first.
func Cadences() []string { return []string{Weekly, Monthly, Quarterly, Semiannual, Annual} }

// ValidCadence reports whether s names a cadence.
func ValidCadence(s string) bool {
	for _, c := range Cadences() {
		if s == c {
			return true
		}
	}
	return false
}

// NextDue is when a drill that last passed at last must pass again. Weekly is 7×24h; the others
// are calendar months (1, 3, 6, 12) in UTC, clamped to the end of a shorter month so a drill on
// 31 January is due on 28/29 February rather than spilling into March.
func NextDue(last time.Time, cadence string) (time.Time, error) {
	switch cadence {
	case Weekly:
		return last.UTC().Add(7 * 24 * time.Hour), nil
	case Monthly:
		return addMonths(last, 1), nil
	case Quarterly:
		return addMonths(last, 3), nil
	case Semiannual:
		return addMonths(last, 6), nil
	case Annual:
		return addMonths(last, 12), nil
	}
	return time.Time{}, fmt.Errorf("unknown cadence %q (want %s)", cadence, strings.Join(Cadences(), "|"))
}

func addMonths(t time.Time, n int) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	if last := daysIn(first.Year(), first.Month()); d > last {
		d = last
	}
	return first.AddDate(0, 0, d-1)
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Criticality classes for suite entries, highest first. They follow the four-level scale of
// business-impact analyses (critical / high / medium / low) rather than numbered tiers, because
// tier numbering differs between organisations while these words read the same in an audit.
const (
	Critical = "critical"
	High     = "high"
	Medium   = "medium"
	Low      = "low"
)

// Criticalities lists the valid criticality names, highest first.
func Criticalities() []string { return []string{Critical, High, Medium, Low} }

// CriticalityRank orders criticalities: 4 for critical down to 1 for low, 0 when unset or unknown.
func CriticalityRank(c string) int {
	switch c {
	case Critical:
		return 4
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	}
	return 0
}
