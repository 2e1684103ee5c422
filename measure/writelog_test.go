package measure

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

var errRefused = errors.New("refused")

// classifyStub calls refused errors failed and the rest unknown, as the backends do.
func classifyStub(ctx context.Context, err error) Outcome {
	if errors.Is(err, errRefused) && ctx.Err() == nil {
		return WriteFailed
	}
	return WriteTimedOut
}

// TestWriteLog: seqs follow Begin order, a write stands as timed out until it ends, and only
// acknowledged writes carry an ack time, read before the backend classifies the error.
func TestWriteLog(t *testing.T) {
	t.Parallel()
	var clock time.Duration
	now := func() time.Duration { return clock }
	l := NewWriteLog(now)
	ctx := context.Background()

	clock = 10 * ms
	s1 := l.Begin()
	clock = 20 * ms
	s2 := l.Begin()
	clock = 30 * ms
	s3 := l.Begin()
	clock = 40 * ms
	s4 := l.Begin()
	if got := l.Writes(); len(got) != 4 || got[3].Outcome != WriteTimedOut || got[3].Ack != 0 {
		t.Fatalf("writes in flight = %+v, want four timed out without ack", got)
	}
	clock = 42 * ms
	l.End(ctx, s2, nil, classifyStub)
	clock = 45 * ms
	l.End(ctx, s1, errRefused, func(ctx context.Context, err error) Outcome {
		clock = 99 * ms // a slow classifier must not move the ack
		return classifyStub(ctx, err)
	})
	l.End(ctx, s3, errors.New("connection reset"), classifyStub)
	// s4 never ends: still in flight at the read-back.
	want := []Write{
		{Seq: 1, Invoke: 10 * ms, Outcome: WriteFailed},
		{Seq: 2, Invoke: 20 * ms, Ack: 42 * ms, Outcome: WriteOK},
		{Seq: 3, Invoke: 30 * ms, Outcome: WriteTimedOut},
		{Seq: 4, Invoke: 40 * ms, Outcome: WriteTimedOut},
	}
	if diff := cmp.Diff(want, l.Writes()); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint64{s1, s2, s3, s4}, l.Seqs()); diff != "" || s4 != 4 {
		t.Errorf("seqs (-want +got):\n%s", diff)
	}
	// Writes returns a copy: the caller cannot change the log.
	l.Writes()[1].Outcome = WriteFailed
	if l.Writes()[1].Outcome != WriteOK {
		t.Error("Writes returned the log's own slice")
	}
}

// Concurrent samples get distinct, dense seqs (run with -race).
func TestWriteLogConcurrent(t *testing.T) {
	t.Parallel()
	l := NewWriteLog(func() time.Duration { return ms })
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { l.End(context.Background(), l.Begin(), nil, classifyStub) })
	}
	wg.Wait()
	got := l.Writes()
	if len(got) != 50 {
		t.Fatalf("%d writes, want 50", len(got))
	}
	for i, w := range got {
		if w.Seq != uint64(i)+1 || w.Outcome != WriteOK {
			t.Errorf("write %d = %+v, want seq %d acknowledged", i, w, i+1)
		}
	}
}

func TestReadBack(t *testing.T) {
	t.Parallel()
	errDown := errors.New("connection refused")
	errBad := errors.New("bad key")
	permanent := func(err error) bool { return errors.Is(err, errBad) }
	for _, tc := range []struct {
		name      string
		results   []error // read's error per attempt; nil succeeds; past the end: errDown
		deadline  time.Duration
		wantCalls int
		wantErr   error
		wantTook  time.Duration
	}{
		{name: "first try", results: []error{nil}, wantCalls: 1},
		{name: "retried until up", results: []error{errDown, errDown, nil}, wantCalls: 3, wantTook: 2 * 200 * ms},
		{name: "permanent at once", results: []error{errDown, errBad}, wantCalls: 2, wantErr: errBad, wantTook: 200 * ms},
		// Deadlines fall between attempts, so that no timer ties with the deadline.
		{name: "gives up at the default timeout", results: nil, wantCalls: 6, wantErr: errDown, wantTook: 1050 * ms},
		{name: "caller's deadline wins", results: nil, deadline: 650 * ms, wantCalls: 4, wantErr: errDown, wantTook: 650 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				if tc.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.deadline)
					defer cancel()
				}
				calls := 0
				read := func(context.Context) (map[uint64]bool, error) {
					calls++
					err := errDown
					if calls <= len(tc.results) {
						err = tc.results[calls-1]
					}
					if err != nil {
						return nil, err
					}
					return map[uint64]bool{7: true}, nil
				}
				start := time.Now()
				got, err := ReadBack(ctx, "table t", 1050*ms, 200*ms, read, permanent)
				took := time.Since(start)
				if tc.wantErr == nil {
					if err != nil || !got[7] {
						t.Errorf("ReadBack = %v, %v; want {7}", got, err)
					}
				} else if !errors.Is(err, tc.wantErr) || !strings.HasPrefix(err.Error(), "read back table t: ") {
					t.Errorf("ReadBack error = %v, want %v wrapped as a read-back of table t", err, tc.wantErr)
				}
				if calls != tc.wantCalls || took != tc.wantTook {
					t.Errorf("%d reads over %v, want %d over %v", calls, took, tc.wantCalls, tc.wantTook)
				}
			})
		})
	}
}
