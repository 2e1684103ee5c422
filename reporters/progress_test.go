package reporters

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/runner"
)

// fakeClock is advanced by hand, so throttling is tested without sleeping.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestProgress(terminal bool, opts ...ProgressOption) (*Progress, *bytes.Buffer, *fakeClock) {
	var buf bytes.Buffer
	clock := &fakeClock{t: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)}
	p := NewProgress(&buf, terminal, append([]ProgressOption{WithNow(clock.now)}, opts...)...)
	return p, &buf, clock
}

func since(d time.Duration) *time.Duration { return &d }

func observeStatus(t0 time.Duration) runner.Status {
	return runner.Status{
		Scenario: "etcd-follower-loss",
		Phase:    runner.PhaseObserve,
		SinceT0:  since(t0),
		Probes: []runner.ProbeStatus{
			{Name: "health", Role: "availability", Known: true, Up: true, Samples: 160, Fails: 0},
			{Name: "writes", Role: "data", Known: true, Up: false, Samples: 320, Fails: 12},
		},
	}
}

func TestProgressEventLines(t *testing.T) {
	t.Parallel()
	p, buf, _ := newTestProgress(false)
	p.Event("etcd-follower-loss", result.Event{AtMs: 296, Kind: result.EventPhase, Message: "probes-start"})
	p.T0("etcd-follower-loss")
	// A probe sample that started before t0 and answered after it: negative, as in the result.
	p.Event("etcd-follower-loss", result.Event{AtMs: -250, Kind: result.EventProbe, Message: "health up"})
	p.Event("etcd-follower-loss", result.Event{AtMs: 1502, Kind: result.EventFault, Message: "kill-follower injected (targets: m2)"})
	p.Event("etcd-follower-loss", result.Event{AtMs: 9100, Kind: result.EventError, Message: "revert: exit status 1\n\x1b[31mstderr: no such rule\x1b[0m"})
	p.Event("etcd-follower-loss", result.Event{AtMs: 11700, Kind: result.EventVerdict, Message: "pass"})
	// Before t0 the runner's time is from the start of the run, not from t0: it must not be
	// printed as if it were (+0.296s, then +0.000s again at the fault).
	want := "[etcd-follower-loss] t0-?    phase  probes-start\n" +
		"[etcd-follower-loss] -0.250s probe  health up\n" +
		"[etcd-follower-loss] +1.502s fault  kill-follower injected (targets: m2)\n" +
		"[etcd-follower-loss] +9.100s error  revert: exit status 1 | stderr: no such rule\n" +
		"[etcd-follower-loss] +11.700s verdict pass\n"
	if got := buf.String(); got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
}

func TestProgressT0IsPerScenario(t *testing.T) {
	t.Parallel()
	p, buf, _ := newTestProgress(false)
	p.T0("a")
	p.Event("a", result.Event{AtMs: 100, Kind: result.EventPhase, Message: "observe"})
	p.Event("b", result.Event{AtMs: 100, Kind: result.EventPhase, Message: "steady-state"})
	want := "[a] +0.100s phase  observe\n[b] t0-?    phase  steady-state\n"
	if got := buf.String(); got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
}

// TestProgressStatusLine feeds the runner's 10 Hz status stream through a 1.2s outage and
// checks what a terminal and a log show.
func TestProgressStatusLine(t *testing.T) {
	t.Parallel()
	const up = "[etcd-follower-loss] observe t0+%s  health:UP writes:DOWN(12 fails)"
	const down = "[etcd-follower-loss] observe t0+%s  health:DOWN(3 fails) writes:DOWN(12 fails)"
	for _, tc := range []struct {
		name     string
		terminal bool
		color    bool
		every    time.Duration
		want     []string // status lines drawn, in order
	}{
		// A log gets no status line at all: the probe events already record every change.
		{name: "log", terminal: false, color: true, every: DefaultStatusEvery},
		// At 10 Hz every report is drawn, and the outage is seen from its first report.
		{name: "terminal", terminal: true, every: DefaultStatusEvery, want: func() []string {
			var w []string
			for i := range 30 {
				f := up
				if i >= 10 && i < 22 {
					f = down
				}
				w = append(w, fmt.Sprintf(f, tenths(time.Duration(i)*100*time.Millisecond)))
			}
			return w
		}()},
		// Throttled to 1s, unchanged lines are dropped but both changes are still drawn.
		{name: "terminal throttled", terminal: true, every: time.Second, want: []string{
			fmt.Sprintf(up, "0.0s"), fmt.Sprintf(down, "1.0s"), fmt.Sprintf(down, "2.0s"),
			fmt.Sprintf(up, "2.2s"),
		}},
		{name: "colour terminal", terminal: true, color: true, every: time.Hour, want: []string{
			"[etcd-follower-loss] observe t0+0.0s  health:\x1b[32mUP\x1b[0m writes:\x1b[31mDOWN(12 fails)\x1b[0m",
			"[etcd-follower-loss] observe t0+1.0s  health:\x1b[31mDOWN(3 fails)\x1b[0m writes:\x1b[31mDOWN(12 fails)\x1b[0m",
			"[etcd-follower-loss] observe t0+2.2s  health:\x1b[32mUP\x1b[0m writes:\x1b[31mDOWN(12 fails)\x1b[0m",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, buf, clock := newTestProgress(tc.terminal, WithStatusEvery(tc.every), WithColor(tc.color))
			for i := range 30 {
				st := observeStatus(time.Duration(i) * 100 * time.Millisecond)
				if i >= 10 && i < 22 { // health is down from t0+1.0s to t0+2.2s
					st.Probes[0].Up, st.Probes[0].Fails = false, 3
				}
				p.Status(st)
				clock.advance(100 * time.Millisecond)
			}
			var want string
			for _, l := range tc.want {
				want += "\r\x1b[K" + l
			}
			if got := buf.String(); got != want {
				t.Errorf("got:\n%q\nwant:\n%q", got, want)
			}
		})
	}
}

func TestProgressStatusTerminalEvents(t *testing.T) {
	t.Parallel()
	p, buf, _ := newTestProgress(true)
	p.T0("etcd-follower-loss")
	p.Status(observeStatus(4200 * time.Millisecond))
	const status = "[etcd-follower-loss] observe t0+4.2s  health:UP writes:DOWN(12 fails)"

	// An event is printed above the status line, which is drawn again below it.
	buf.Reset()
	p.Event("etcd-follower-loss", result.Event{AtMs: 4300, Kind: result.EventProbe, Message: "writes up"})
	want := "\r\x1b[K[etcd-follower-loss] +4.300s probe  writes up\n" + status
	if got := buf.String(); got != want {
		t.Fatalf("after event: got %q\nwant %q", got, want)
	}

	// The verdict ends the drill: the status line goes away so the summary starts clean.
	buf.Reset()
	p.Event("etcd-follower-loss", result.Event{AtMs: 9000, Kind: result.EventVerdict, Message: "pass"})
	want = "\r\x1b[K[etcd-follower-loss] +9.000s verdict pass\n"
	if got := buf.String(); got != want {
		t.Fatalf("after verdict: got %q\nwant %q", got, want)
	}
	buf.Reset()
	p.Clear()
	if buf.Len() != 0 {
		t.Errorf("Clear with no status line wrote %q", buf.String())
	}
}

func TestProgressClear(t *testing.T) {
	t.Parallel()
	p, buf, _ := newTestProgress(true)
	p.T0("x")
	p.Status(observeStatus(time.Second))
	buf.Reset()
	p.Clear()
	if got := buf.String(); got != "\r\x1b[K" {
		t.Errorf("Clear wrote %q", got)
	}
	buf.Reset()
	p.Event("x", result.Event{Kind: result.EventPhase, Message: "rollback"})
	if got := buf.String(); got != "[x] +0.000s phase  rollback\n" {
		t.Errorf("event after Clear: %q", got)
	}
}

func TestProgressNeverOnALogTerminalCodes(t *testing.T) {
	t.Parallel()
	p, buf, clock := newTestProgress(false, WithColor(true))
	for i := range 20 {
		if i == 5 {
			p.T0("etcd-follower-loss")
		}
		p.Status(observeStatus(time.Duration(i) * time.Second))
		p.Event("etcd-follower-loss", result.Event{AtMs: int64(i * 1000), Kind: result.EventProbe, Message: "tick"})
		clock.advance(time.Second)
	}
	p.Clear()
	if strings.ContainsAny(buf.String(), "\r\x1b") {
		t.Errorf("non-terminal output has control codes: %q", buf.String())
	}
	if strings.Contains(buf.String(), "health:") {
		t.Errorf("non-terminal output has a status line: %q", buf.String())
	}
}

func TestProgressStatusBeforeT0(t *testing.T) {
	t.Parallel()
	p, buf, clock := newTestProgress(true, WithStatusEvery(time.Second))
	p.Event("s", result.Event{AtMs: 0, Kind: result.EventPhase, Message: "connect"})
	clock.advance(1240 * time.Millisecond)
	p.Status(runner.Status{Scenario: "s", Phase: runner.PhaseSteady, Probes: []runner.ProbeStatus{{Name: "health"}}})
	clock.advance(1000 * time.Millisecond)
	p.Status(runner.Status{Scenario: "s", Phase: runner.PhasePrepare, Probes: []runner.ProbeStatus{{Name: "health", Known: true, Up: false, Fails: 1}}})
	want := "[s] t0-?    phase  connect\n" +
		"\r\x1b[K[s] steady-state t0-? (run 1.2s)  health:?" +
		"\r\x1b[K[s] prepare t0-? (run 2.2s)  health:DOWN(1 fail)"
	if got := buf.String(); got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
}

func TestProgressThrottlesPerScenario(t *testing.T) {
	t.Parallel()
	p, buf, _ := newTestProgress(true)
	a, b := observeStatus(time.Second), observeStatus(time.Second)
	b.Scenario = "other"
	p.Status(a)
	p.Status(b)
	p.Status(a)
	if got := strings.Count(buf.String(), "\r"); got != 2 {
		t.Errorf("got %d status lines, want one per scenario:\n%q", got, buf.String())
	}
}

// Run with -race: the runner calls the observer from several goroutines.
func TestProgressConcurrent(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := NewProgress(&buf, true, WithStatusEvery(0))
	p.T0("s")
	const goroutines, events = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range events {
				p.Event("s", result.Event{AtMs: int64(i), Kind: result.EventProbe, Message: fmt.Sprintf("g%d e%d", g, i)})
				p.Status(observeStatus(time.Duration(i) * time.Millisecond))
			}
		})
	}
	wg.Wait()
	p.Clear()
	// Every event must come out whole, on its own line after the status line is cleared.
	re := regexp.MustCompile(`(?:\r\x1b\[K)?\[s\] \+0\.\d{3}s probe  g\d e\d+\n`)
	if got := len(re.FindAllString(buf.String(), -1)); got != goroutines*events {
		t.Errorf("found %d intact event lines, want %d", got, goroutines*events)
	}
}
