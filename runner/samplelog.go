package runner

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/drillhq/drill/internal/english"
	"github.com/drillhq/drill/internal/redact"
	"github.com/drillhq/drill/measure"
)

// SampleRecord is one line of the --samples file: one raw probe sample, kept as evidence now
// that the runner folds samples instead of keeping them. Times are milliseconds (to the
// microsecond) from the run's start (result startedAt), the one time base that also covers the
// samples before t0; the result's events give t0 on the same base.
type SampleRecord struct {
	Run       string  `json:"run"`
	Probe     string  `json:"probe"`
	StartMs   float64 `json:"startMs"`
	OK        bool    `json:"ok"`
	Error     string  `json:"error,omitempty"`
	LatencyMs float64 `json:"latencyMs"`
}

// sampleLogBuffer bounds the samples waiting for the writer: 50 probes at 10 ms fill it in
// 0.8 s. A writer further behind than that drops samples (and says how many) rather than
// holding samples in memory or slowing the probes, whose timing is the measurement.
const sampleLogBuffer = 4096

// sampleLog streams samples to a writer from one goroutine. Errors never fail the drill: the
// first one is reported through warn, and writing stops.
type sampleLog struct {
	runID   string
	secrets *redact.Secrets
	ch      chan sampleEntry
	done    chan struct{}
	warn    func(string)

	mu      sync.Mutex
	dropped int
	closed  bool
}

type sampleEntry struct {
	probe string
	sm    measure.Sample
}

func newSampleLog(w io.Writer, runID string, secrets *redact.Secrets, warn func(string)) *sampleLog {
	l := &sampleLog{runID: runID, secrets: secrets, ch: make(chan sampleEntry, sampleLogBuffer), done: make(chan struct{}), warn: warn}
	go l.write(w)
	return l
}

// add queues a sample; it never blocks.
func (l *sampleLog) add(probe string, sm measure.Sample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	select {
	case l.ch <- sampleEntry{probe, sm}:
	default:
		l.dropped++
	}
}

// close stops taking samples, waits until the queued ones are written and flushed, and
// reports samples dropped on the way.
func (l *sampleLog) close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.ch)
	}
	l.mu.Unlock()
	<-l.done
	if l.dropped > 0 {
		l.warn("--samples: " + english.Count(l.dropped, "sample", "samples") + " not written: the file could not keep up")
	}
}

func (l *sampleLog) write(w io.Writer) {
	defer close(l.done)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	var failed error
	for e := range l.ch {
		if failed != nil {
			continue // drain, so add never blocks
		}
		rec := SampleRecord{
			Run: l.runID, Probe: e.probe, OK: e.sm.OK,
			StartMs:   msFloat(e.sm.Start),
			LatencyMs: msFloat(e.sm.End - e.sm.Start),
		}
		if e.sm.Err != "" {
			rec.Error = l.secrets.Apply(e.sm.Err)
		}
		if err := enc.Encode(rec); err != nil {
			failed = err
		}
	}
	if failed == nil {
		failed = bw.Flush()
	}
	if failed != nil {
		l.warn(fmt.Sprintf("--samples: writing samples failed, the rest are not written: %v", failed))
	}
}

func msFloat(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
