package reporters

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/runner"
)

// Default minimum time between two status lines. A terminal redraws one line in place, so it can
// afford a fresh one every second; a log (CI, a file) keeps every line, so it gets fewer.
const (
	DefaultTerminalStatusEvery = time.Second
	DefaultLogStatusEvery      = 5 * time.Second
)

// clearLine returns the cursor to column 0 and erases the line (ANSI EL), for in-place redraws.
const clearLine = "\r\x1b[K"

// Progress is the live console progress (docs/DESIGN.md §5) on stderr: one line per timeline
// event and a throttled status line with the probe states. It implements runner.Observer and is
// safe for concurrent use.
type Progress struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	every    time.Duration
	now      func() time.Time

	lastStatus map[string]time.Time // per scenario, when its status line was last written
	started    map[string]time.Time // first sight of each scenario, for "elapsed" before t0
	shown      string               // status line currently drawn on the terminal, "" if none
}

// ProgressOption configures a Progress.
type ProgressOption func(*Progress)

// WithStatusEvery sets the minimum time between two status lines (default
// DefaultTerminalStatusEvery on a terminal, DefaultLogStatusEvery otherwise).
func WithStatusEvery(d time.Duration) ProgressOption {
	return func(p *Progress) { p.every = d }
}

// WithNow replaces the wall clock used for throttling and elapsed times (tests use a fake).
func WithNow(now func() time.Time) ProgressOption {
	return func(p *Progress) { p.now = now }
}

// NewProgress writes progress to w. terminal says whether w is an interactive terminal; the
// caller decides (e.g. with golang.org/x/term or a --no-tty flag) so this type stays testable.
// On a terminal the status line is redrawn in place; otherwise it is printed as a normal line.
func NewProgress(w io.Writer, terminal bool, opts ...ProgressOption) *Progress {
	p := &Progress{
		w:          w,
		terminal:   terminal,
		every:      DefaultLogStatusEvery,
		now:        time.Now,
		started:    map[string]time.Time{},
		lastStatus: map[string]time.Time{},
	}
	if terminal {
		p.every = DefaultTerminalStatusEvery
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

var _ runner.Observer = (*Progress)(nil)

// Event prints one timeline line, e.g.
// "[etcd-follower-loss] +1.502s fault  kill-follower injected (targets: m2)".
func (p *Progress) Event(scenario string, e result.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen(scenario)

	line := fmt.Sprintf("[%s] %s", scenario, eventLine(e))
	if p.terminal && p.shown != "" {
		// Print the event above the status line, then draw the status line again under it so
		// it stays the last line on screen.
		redraw := p.shown
		if e.Kind == result.EventVerdict {
			// The drill is over: leave the terminal on a fresh line for the summary.
			redraw = ""
		}
		p.write(clearLine + line + "\n" + redraw)
		p.shown = redraw
		return
	}
	p.write(line + "\n")
}

// Status prints the status line, e.g. "[name] observe t0+3.2s  health:UP writes:DOWN(12 fails)",
// at most once per status interval; calls in between are dropped.
func (p *Progress) Status(s runner.Status) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen(s.Scenario)

	now := p.now()
	if last, ok := p.lastStatus[s.Scenario]; ok && now.Sub(last) < p.every {
		return
	}
	p.lastStatus[s.Scenario] = now

	line := p.statusLine(s, now)
	if p.terminal {
		p.write(clearLine + line)
		p.shown = line
		return
	}
	p.write(line + "\n")
}

// Clear erases the status line from a terminal and leaves the cursor on an empty line. Call it
// before writing anything else to the terminal (the summary, an error). It does nothing when
// no status line is drawn.
func (p *Progress) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal && p.shown != "" {
		p.write(clearLine)
		p.shown = ""
	}
}

func (p *Progress) seen(scenario string) {
	if _, ok := p.started[scenario]; !ok {
		p.started[scenario] = p.now()
	}
}

// write ignores errors on purpose: progress is best effort and a closed stderr must not stop a
// drill that is busy breaking and restoring production.
func (p *Progress) write(s string) { _, _ = io.WriteString(p.w, s) }

func (p *Progress) statusLine(s runner.Status, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s", s.Scenario, s.Phase)
	if s.SinceT0 != nil {
		fmt.Fprintf(&b, " t0+%s", tenths(*s.SinceT0))
	} else {
		fmt.Fprintf(&b, " elapsed %s", tenths(now.Sub(p.started[s.Scenario])))
	}
	for i, ps := range s.Probes {
		if i == 0 {
			b.WriteString(" ")
		}
		b.WriteString(" ")
		b.WriteString(ps.Name)
		b.WriteString(":")
		switch {
		case !ps.Known:
			b.WriteString("?")
		case ps.Up:
			b.WriteString("UP")
		default:
			fmt.Fprintf(&b, "DOWN(%s)", plural(ps.Fails, "fail"))
		}
	}
	return b.String()
}

// tenths formats d as seconds with one decimal, "3.2s": enough for a line that changes every
// second, and of constant shape so the line does not jitter.
func tenths(d time.Duration) string {
	d = d.Round(100 * time.Millisecond)
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Sprintf("%s%d.%ds", sign, d/time.Second, (d%time.Second)/(100*time.Millisecond))
}

// eventLine is one event without the scenario prefix, shared with the JUnit timeline:
// "+1.502s fault  kill-follower injected (targets: m2)".
func eventLine(e result.Event) string {
	return fmt.Sprintf("%s %-6s %s", rel(e.AtMs), e.Kind, oneLine(e.Message))
}
