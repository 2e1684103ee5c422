package suite

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/result"
)

// DueSoonWindow is how far ahead `drill due` looks for drills falling due.
const DueSoonWindow = 30 * 24 * time.Hour

// Status is where a drill stands against its cadence.
type Status string

const (
	// StatusOverdue: the last passing run is older than the cadence allows (or exactly due now).
	StatusOverdue Status = "overdue"
	// StatusNeverRun: no passing run on record (LastRun says whether it ran and failed).
	StatusNeverRun Status = "never-run"
	// StatusDueSoon: the next passing run is needed within DueSoonWindow.
	StatusDueSoon Status = "due-soon"
	// StatusCompliant: passed within its cadence and not due within the window.
	StatusCompliant Status = "compliant"
	// StatusUnscheduled: no cadence applies, so the drill is never due.
	StatusUnscheduled Status = "unscheduled"
)

// RunRef points at a stored run.
type RunRef struct {
	RunID     string         `json:"runId"`
	StartedAt time.Time      `json:"startedAt"`
	Verdict   result.Verdict `json:"verdict"`
}

// Item is the due state of one entry.
type Item struct {
	Entry  Entry  `json:"entry"`
	Status Status `json:"status"`
	// LastPass is the newest passing run, LastRun the newest run of any verdict; nil when none.
	LastPass *RunRef `json:"lastPass,omitempty"`
	LastRun  *RunRef `json:"lastRun,omitempty"`
	// DueAt is when the next passing run is needed; zero when never passed or unscheduled.
	DueAt time.Time `json:"dueAt,omitzero"`
	// Overdue is now - DueAt for overdue items; DueIn is DueAt - now otherwise.
	Overdue time.Duration `json:"overdueNs,omitempty"`
	DueIn   time.Duration `json:"dueInNs,omitempty"`
}

// NeedsRun reports whether the drill should run now: overdue or never passed. This is what
// `drill run --suite FILE --due-only` selects.
func (it Item) NeedsRun() bool {
	return it.Status == StatusOverdue || it.Status == StatusNeverRun
}

// Due computes the due state of each entry at now from runs (any order, any scenarios; runs of
// other scenarios, dry runs and runs starting after now are ignored). Items keep entry order.
func Due(now time.Time, entries []Entry, runs []*result.Result) []Item {
	byScenario := map[string][]*result.Result{}
	for _, r := range runs {
		if r.DryRun || r.StartedAt.After(now) {
			continue
		}
		byScenario[r.Scenario] = append(byScenario[r.Scenario], r)
	}
	items := make([]Item, len(entries))
	for i, e := range entries {
		items[i] = dueOne(now, e, byScenario[e.Name])
	}
	return items
}

func dueOne(now time.Time, e Entry, runs []*result.Result) Item {
	it := Item{Entry: e}
	var lastRun, lastPass *result.Result
	for _, r := range runs {
		if lastRun == nil || newer(r, lastRun) {
			lastRun = r
		}
		// A pass that disturbed nothing proves nothing: it does not reset the cadence.
		if r.Verdict == result.VerdictPass && !r.IsUnproven() && (lastPass == nil || newer(r, lastPass)) {
			lastPass = r
		}
	}
	it.LastRun, it.LastPass = ref(lastRun), ref(lastPass)
	if e.Cadence == "" {
		it.Status = StatusUnscheduled
		return it
	}
	if lastPass == nil {
		it.Status = StatusNeverRun
		return it
	}
	// Entries come from Load or EntriesFromHistory, which only accept known cadences.
	due, err := NextDue(lastPass.StartedAt, e.Cadence)
	if err != nil {
		it.Status = StatusUnscheduled
		return it
	}
	it.DueAt = due
	switch left := due.Sub(now); {
	case left <= 0:
		it.Status, it.Overdue = StatusOverdue, -left
	case left <= DueSoonWindow:
		it.Status, it.DueIn = StatusDueSoon, left
	default:
		it.Status, it.DueIn = StatusCompliant, left
	}
	return it
}

func newer(a, b *result.Result) bool {
	if !a.StartedAt.Equal(b.StartedAt) {
		return a.StartedAt.After(b.StartedAt)
	}
	return a.RunID > b.RunID
}

func ref(r *result.Result) *RunRef {
	if r == nil {
		return nil
	}
	return &RunRef{RunID: r.RunID, StartedAt: r.StartedAt, Verdict: r.Verdict}
}

// SortByUrgency orders items for people: overdue (longest first), never run, due soon
// (soonest first), compliant, unscheduled; ties keep their order.
func SortByUrgency(items []Item) {
	rank := map[Status]int{StatusOverdue: 0, StatusNeverRun: 1, StatusDueSoon: 2, StatusCompliant: 3, StatusUnscheduled: 4}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if rank[a.Status] != rank[b.Status] {
			return rank[a.Status] < rank[b.Status]
		}
		switch a.Status {
		case StatusOverdue:
			return a.Overdue > b.Overdue
		case StatusDueSoon, StatusCompliant:
			return a.DueIn < b.DueIn
		}
		return false
	})
}

// DueFromHistory computes Due with the runs of each entry's scenario read from src. A src that
// keeps a per-scenario summary (history.Summarizer) answers from it without decoding every run.
func DueFromHistory(ctx context.Context, now time.Time, entries []Entry, src history.Lister) ([]Item, error) {
	if sum, ok := src.(history.Summarizer); ok {
		runs, ok, err := sum.Summary(ctx, now)
		if err != nil {
			return nil, fmt.Errorf("due drills: %w", err)
		}
		if ok {
			return Due(now, entries, runs), nil
		}
	}
	var runs []*result.Result
	for _, e := range entries {
		rs, err := src.List(ctx, history.Filter{Scenario: e.Name, Until: now.Add(time.Nanosecond)})
		if err != nil {
			return nil, fmt.Errorf("due drills: read history of %s: %w", e.Name, err)
		}
		runs = append(runs, rs...)
	}
	return Due(now, entries, runs), nil
}

// SelectDue returns the entries that need a run now (overdue or never passed), in suite order:
// the selection behind `drill run --suite FILE --due-only`.
func SelectDue(ctx context.Context, now time.Time, entries []Entry, src history.Lister) ([]Entry, error) {
	items, err := DueFromHistory(ctx, now, entries, src)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, it := range items {
		if it.NeedsRun() {
			out = append(out, it.Entry)
		}
	}
	return out, nil
}
