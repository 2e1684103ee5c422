package measure

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// WriteLog is the bookkeeping every sequenced-write data probe shares, whatever it writes to:
// seq assigned when a sample starts, invoke and ack read from the run's clock, outcome as
// ClassifyWrites wants it. It is safe for concurrent use: sampling is open-loop, so a write may
// start while earlier ones hang.
type WriteLog struct {
	now func() time.Duration // the run clock

	mu     sync.Mutex
	writes []Write // writes[i].Seq == i+1
}

// NewWriteLog returns an empty log whose times come from now (the run clock's offsets).
func NewWriteLog(now func() time.Duration) *WriteLog { return &WriteLog{now: now} }

// Begin records a new write and returns its seq. It stands as timed out until End: a write
// still in flight when the read-back runs has an unknown outcome, which is what timed out means.
func (l *WriteLog) Begin() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := uint64(len(l.writes)) + 1
	l.writes = append(l.writes, Write{Seq: seq, Invoke: l.now(), Outcome: WriteTimedOut})
	return seq
}

// End records how write seq, made under ctx, ended: acknowledged now when err is nil, else as
// the backend's classify judges err (refused, or unknown: timed out). The ack time is read
// before classify runs.
func (l *WriteLog) End(ctx context.Context, seq uint64, err error, classify func(context.Context, error) Outcome) {
	ack := l.now()
	o := WriteOK
	if err != nil {
		o = classify(ctx, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes[seq-1].Outcome = o
	if o == WriteOK {
		l.writes[seq-1].Ack = ack
	}
}

// Writes returns a copy of the writes so far, in seq order.
func (l *WriteLog) Writes() []Write {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Write(nil), l.writes...)
}

// Seqs returns the sequence numbers written so far, whatever their outcome: a timed-out write
// may have landed, so read-back and cleanup look for it too.
func (l *WriteLog) Seqs() []uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]uint64, len(l.writes))
	for i := range l.writes {
		out[i] = uint64(i) + 1
	}
	return out
}

// ReadBack calls read until it succeeds, fails for good (permanent reports such errors) or
// ctx ends, pausing between attempts: right after a recovery the store may still be settling.
// Without a deadline on ctx it gives up after timeout. Errors say what was read back.
func ReadBack(ctx context.Context, what string, timeout, pause time.Duration, read func(context.Context) (map[uint64]bool, error), permanent func(error) bool) (map[uint64]bool, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	for {
		present, err := read(ctx)
		if err == nil {
			return present, nil
		}
		if permanent(err) || ctx.Err() != nil {
			return nil, fmt.Errorf("read back %s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("read back %s: %w", what, err)
		case <-time.After(pause):
		}
	}
}
