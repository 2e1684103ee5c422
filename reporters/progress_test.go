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
	p.Event("etcd-follower-loss", result.Event{AtMs: -250, Kind: result.EventPhase, Message: "probes-start"})
	p.Event("etcd-follower-loss", result.Event{AtMs: 1502, Kind: result.EventFault, Message: "kill-follower injected (targets: m2)"})
	p.Event("etcd-follower-loss", result.Event{AtMs: 9100, Kind: result.EventError, Message: "revert: exit status 1\n\x1b[31mstderr: no such rule\x1b[0m"})
	p.Event("etcd-follower-loss", result.Event{AtMs: 11700, Kind: result.EventVerdict, Message: "pass"})
	want := "[etcd-follower-loss] -0.250s phase  probes-start\n" +
		"[etcd-follower-loss] +1.502s fault  kill-follower injected (targets: m2)\n" +
		"[etcd-follower-loss] +9.100s error  revert: exit status 1 | stderr: no such rule\n" +
		"[etcd-follower-loss] +11.700s verdict pass\n"
	if got := buf.String(); got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
}

func TestProgressStatusLog(t *testing.T) {
	t.Parallel()
	p, buf, clock := newTestProgress(false)
	// The runner reports about every 250ms; a log gets one line per 5s.
	for i := range 41 {
		p.Status(observeStatus(time.Duration(i) * 250 * time.Millisecond))
		clock.advance(250 * time.Millisecond)
	}
	want := "[etcd-follower-loss] observe t0+0.0s  health:UP writes:DOWN(12 fails)\n" +
		"[etcd-follower-loss] observe t0+5.0s  health:UP writes:DOWN(12 fails)\n" +
		"[etcd-follower-loss] observe t0+10.0s  health:UP writes:DOWN(12 fails)\n"
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestProgressStatusTerminal(t *testing.T) {
	t.Parallel()
	p, buf, clock := newTestProgress(true)
	p.Status(observeStatus(3200 * time.Millisecond))
	clock.advance(900 * time.Millisecond)
	p.Status(observeStatus(4100 * time.Millisecond)) // dropped: less than 1s since the last
	clock.advance(100 * time.Millisecond)
	p.Status(observeStatus(4200 * time.Millisecond))
	const status1 = "[etcd-follower-loss] observe t0+3.2s  health:UP writes:DOWN(12 fails)"
	const status2 = "[etcd-follower-loss] observe t0+4.2s  health:UP writes:DOWN(12 fails)"
	want := "\r\x1b[K" + status1 + "\r\x1b[K" + status2
	if got := buf.String(); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}

	// An event is printed above the status line, which is drawn again below it.
	buf.Reset()
	p.Event("etcd-follower-loss", result.Event{AtMs: 4300, Kind: result.EventProbe, Message: "writes up"})
	want = "\r\x1b[K[etcd-follower-loss] +4.300s probe  writes up\n" + status2
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
	p, buf, clock := newTestProgress(false)
	for i := range 20 {
		p.Status(observeStatus(time.Duration(i) * time.Second))
		p.Event("etcd-follower-loss", result.Event{AtMs: int64(i * 1000), Kind: result.EventProbe, Message: "tick"})
		clock.advance(time.Second)
	}
	p.Clear()
	if strings.ContainsAny(buf.String(), "\r\x1b") {
		t.Errorf("non-terminal output has control codes: %q", buf.String())
	}
}

func TestProgressStatusBeforeT0(t *testing.T) {
	t.Parallel()
	p, buf, clock := newTestProgress(false, WithStatusEvery(time.Second))
	p.Event("s", result.Event{AtMs: 0, Kind: result.EventPhase, Message: "connect"})
	clock.advance(1240 * time.Millisecond)
	p.Status(runner.Status{Scenario: "s", Phase: runner.PhaseSteady, Probes: []runner.ProbeStatus{{Name: "health"}}})
	clock.advance(1000 * time.Millisecond)
	p.Status(runner.Status{Scenario: "s", Phase: runner.PhasePrepare, Probes: []runner.ProbeStatus{{Name: "health", Known: true, Up: false, Fails: 1}}})
	want := "[s] +0.000s phase  connect\n" +
		"[s] steady-state elapsed 1.2s  health:?\n" +
		"[s] prepare elapsed 2.2s  health:DOWN(1 fail)\n"
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestProgressThrottlesPerScenario(t *testing.T) {
	t.Parallel()
	p, buf, _ := newTestProgress(false)
	a, b := observeStatus(time.Second), observeStatus(time.Second)
	b.Scenario = "other"
	p.Status(a)
	p.Status(b)
	p.Status(a)
	if got := strings.Count(buf.String(), "\n"); got != 2 {
		t.Errorf("got %d status lines, want one per scenario:\n%s", got, buf.String())
	}
}

// Run with -race: the runner calls the observer from several goroutines.
func TestProgressConcurrent(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := NewProgress(&buf, true, WithStatusEvery(0))
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
