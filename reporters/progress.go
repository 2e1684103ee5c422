package reporters

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/drillhq/drill/internal/english"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/runner"
)

// DefaultStatusEvery is the minimum time between two redraws of an unchanged status line: the
// runner reports at runner.StatusEvery (10 Hz), and the clock on the line should move as
// smoothly. A changed probe state or phase is drawn at once, however recent the last redraw.
const DefaultStatusEvery = runner.StatusEvery

// clearLine returns the cursor to column 0 and erases the line (ANSI EL), for in-place redraws.
const clearLine = "\r\x1b[K"

// SGR colours for probe states on a colour terminal.
const (
	green = "\x1b[32m"
	red   = "\x1b[31m"
	reset = "\x1b[0m"
)

// Progress is the live console progress (docs/DESIGN.md §5) on stderr: one line per timeline
// event and, on a terminal only, a status line with the probe states redrawn in place. A log
// (CI, a file) keeps every line, so there the probe up/down events say everything the status
// line would, without a stream of repeated lines. It implements runner.T0Observer and is safe
// for concurrent use.
//
// Times are relative to t0, the first fault's injection, as in the result and the JUnit
// timeline. Before t0 an event's time cannot be given on that base (t0 is not known until
// it happens), so it is shown as "t0-?" rather than as an offset from the start that would
// look like one from t0; the status line adds how long the run has taken so far.
type Progress struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	color    bool
	every    time.Duration
	now      func() time.Time

	lastStatus map[string]time.Time // per scenario, when its status line was last drawn
	lastState  map[string]string    // per scenario, the phase and probe states last drawn
	started    map[string]time.Time // first sight of each scenario, for the run time before t0
	t0         map[string]bool      // scenarios whose t0 is fixed: event times are relative to it
	shown      string               // status line currently drawn on the terminal, "" if none
}

// ProgressOption configures a Progress.
type ProgressOption func(*Progress)

// WithStatusEvery sets the minimum time between two redraws of an unchanged status line
// (default DefaultStatusEvery).
func WithStatusEvery(d time.Duration) ProgressOption {
	return func(p *Progress) { p.every = d }
}

// WithNow replaces the wall clock used for throttling and elapsed times (tests use a fake).
func WithNow(now func() time.Time) ProgressOption {
	return func(p *Progress) { p.now = now }
}

// WithColor colours probe states on the status line. It has no effect unless the output is a
// terminal; the caller also leaves it off when NO_COLOR is set (https://no-color.org).
func WithColor(on bool) ProgressOption {
	return func(p *Progress) { p.color = on }
}

// NewProgress writes progress to w. terminal says whether w is an interactive terminal; the
// caller decides (e.g. with golang.org/x/term or a --no-tty flag) so this type stays testable.
// On a terminal the status line is redrawn in place; otherwise there is none.
func NewProgress(w io.Writer, terminal bool, opts ...ProgressOption) *Progress {
	p := &Progress{
		w:          w,
		terminal:   terminal,
		every:      DefaultStatusEvery,
		now:        time.Now,
		started:    map[string]time.Time{},
		lastStatus: map[string]time.Time{},
		lastState:  map[string]string{},
		t0:         map[string]bool{},
	}
	for _, o := range opts {
		o(p)
	}
	// Escape codes in a log or a pipe are noise, whatever the caller asked for.
	p.color = p.color && terminal
	return p
}

var _ runner.T0Observer = (*Progress)(nil)

// T0 marks the moment the scenario's first fault is injected: later event times are relative
// to it.
func (p *Progress) T0(scenario string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen(scenario)
	p.t0[scenario] = true
}

// Event prints one timeline line, e.g.
// "[etcd-follower-loss] +1.502s fault  kill-follower injected (targets: m2)".
func (p *Progress) Event(scenario string, e result.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen(scenario)

	line := fmt.Sprintf("[%s] %s", scenario, eventLine(e))
	if !p.t0[scenario] {
		// The time is from the run's start, not from t0: say so instead of printing it.
		line = fmt.Sprintf("[%s] %-7s %-6s %s", scenario, "t0-?", e.Kind, oneLine(e.Message))
	}
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

// Status draws the status line on a terminal, e.g.
// "[name] observe t0+3.2s  health:UP writes:DOWN(12 fails)": at once when the phase or a probe's
// state changed since the last one drawn, else at most once per status interval. Without a
// terminal it does nothing.
func (p *Progress) Status(s runner.Status) {
	if !p.terminal {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen(s.Scenario)

	now := p.now()
	state := stateKey(s)
	last, drawn := p.lastStatus[s.Scenario]
	if drawn && state == p.lastState[s.Scenario] && now.Sub(last) < p.every {
		return
	}
	p.lastStatus[s.Scenario], p.lastState[s.Scenario] = now, state

	line := p.statusLine(s, now)
	p.write(clearLine + line)
	p.shown = line
}

// stateKey is what a status line must never hide: the phase and each probe's state.
func stateKey(s runner.Status) string {
	var b strings.Builder
	b.WriteString(s.Phase)
	for _, ps := range s.Probes {
		fmt.Fprintf(&b, "|%s:%t:%t", ps.Name, ps.Known, ps.Up)
	}
	return b.String()
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
		fmt.Fprintf(&b, " t0-? (run %s)", tenths(now.Sub(p.started[s.Scenario])))
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
			b.WriteString(p.paint(green, "UP"))
		default:
			b.WriteString(p.paint(red, fmt.Sprintf("DOWN(%s)", english.Count(ps.Fails, "fail", "fails"))))
		}
	}
	return b.String()
}

// paint wraps s in an SGR colour when colour is on.
func (p *Progress) paint(sgr, s string) string {
	if !p.color {
		return s
	}
	return sgr + s + reset
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
