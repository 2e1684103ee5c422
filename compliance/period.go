package compliance

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Period is the reporting window [Since, Until), in UTC.
type Period struct {
	Label string    `json:"label"`
	Since time.Time `json:"since"`
	Until time.Time `json:"until"` // exclusive
}

var (
	reYear    = regexp.MustCompile(`^(\d{4})$`)
	reQuarter = regexp.MustCompile(`^(\d{4})-[Qq]([1-4])$`)
	reHalf    = regexp.MustCompile(`^(\d{4})-[Hh]([12])$`)
	reMonth   = regexp.MustCompile(`^(\d{4})-(\d{2})$`)
)

// ParsePeriod parses a calendar period: 2026 (year), 2026-Q3 (quarter), 2026-H2 (half year) or
// 2026-11 (month). Periods are in UTC.
func ParsePeriod(s string) (Period, error) {
	bad := fmt.Errorf("invalid period %q (want a year 2026, a quarter 2026-Q3, a half 2026-H2 or a month 2026-11)", s)
	atoi := func(v string) int { n, _ := strconv.Atoi(v); return n }
	start := func(y, m int) time.Time { return time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC) }
	switch {
	case reYear.MatchString(s):
		y := atoi(s)
		return Period{Label: s, Since: start(y, 1), Until: start(y+1, 1)}, nil
	case reQuarter.MatchString(s):
		m := reQuarter.FindStringSubmatch(s)
		y, q := atoi(m[1]), atoi(m[2])
		return Period{Label: fmt.Sprintf("%d-Q%d", y, q), Since: start(y, 3*q-2), Until: start(y, 3*q-2).AddDate(0, 3, 0)}, nil
	case reHalf.MatchString(s):
		m := reHalf.FindStringSubmatch(s)
		y, h := atoi(m[1]), atoi(m[2])
		return Period{Label: fmt.Sprintf("%d-H%d", y, h), Since: start(y, 6*h-5), Until: start(y, 6*h-5).AddDate(0, 6, 0)}, nil
	case reMonth.MatchString(s):
		m := reMonth.FindStringSubmatch(s)
		y, mo := atoi(m[1]), atoi(m[2])
		if mo < 1 || mo > 12 {
			return Period{}, bad
		}
		return Period{Label: s, Since: start(y, mo), Until: start(y, mo).AddDate(0, 1, 0)}, nil
	}
	return Period{}, bad
}

// ParseDate parses a date for --since/--until: 2026-07-01 (midnight UTC) or an RFC 3339 time.
// dateOnly tells the caller whether a whole day was meant, so --until 2026-09-30 can include
// that day.
func ParseDate(s string) (t time.Time, dateOnly bool, err error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), false, nil
	}
	return time.Time{}, false, fmt.Errorf("invalid date %q (want 2026-07-01 or 2026-07-01T09:00:00Z)", s)
}

// RangePeriod builds the period for --since/--until. An empty since means from the first run
// on record; an empty until means up to now. A date-only until includes that whole day.
func RangePeriod(since, until string, now time.Time) (Period, error) {
	p := Period{Until: now.UTC()}
	if since != "" {
		t, _, err := ParseDate(since)
		if err != nil {
			return Period{}, fmt.Errorf("--since: %w", err)
		}
		p.Since = t
	}
	if until != "" {
		t, dateOnly, err := ParseDate(until)
		if err != nil {
			return Period{}, fmt.Errorf("--until: %w", err)
		}
		if dateOnly {
			t = t.AddDate(0, 0, 1)
		}
		p.Until = t
	}
	if !p.Since.Before(p.Until) {
		return Period{}, fmt.Errorf("empty period: --since %s is not before --until %s", p.Since.Format(time.RFC3339), p.Until.Format(time.RFC3339))
	}
	p.Label = p.describe()
	return p, nil
}

// describe names a period by its dates, the last day inclusive, as people read ranges.
func (p Period) describe() string {
	last := p.Until.Add(-time.Nanosecond)
	from := "the first run"
	if !p.Since.IsZero() {
		from = p.Since.Format(time.DateOnly)
	}
	return from + " to " + last.Format(time.DateOnly)
}

// Dates is the period as "2026-07-01 to 2026-09-30" (both days included).
func (p Period) Dates() string { return p.describe() }
