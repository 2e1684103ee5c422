package measure

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const ms = time.Millisecond

// grid builds samples every 10ms from start; pattern has one rune per sample: '+' ok, '-' fail.
func grid(start time.Duration, pattern string) []Sample {
	var out []Sample
	for i, c := range pattern {
		st := start + time.Duration(i)*10*ms
		out = append(out, Sample{Start: st, End: st + ms, OK: c == '+', Err: map[bool]string{false: "down"}[c == '+']})
	}
	return out
}

func TestComputeRecovery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		samples []Sample
		t0, end time.Duration
		want    Recovery
	}{
		{
			name: "outage then recovery", samples: grid(0, "+++---++++"), t0: 25 * ms, end: 100 * ms,
			want: Recovery{Samples: 7, Failures: 3, Recovered: true, At: 35 * ms, FirstFailure: 5 * ms, Downtime: 30 * ms,
				Down: []Span{{5 * ms, 35 * ms}}, LastError: "down"},
		},
		{
			name: "failures before t0 are ignored", samples: grid(0, "--++++"), t0: 20 * ms, end: 60 * ms,
			want: Recovery{Samples: 4, Recovered: true, NoDisruption: true},
		},
		{
			name: "flapping: recovery is after the last failure", samples: grid(0, "+-+-++-+++"), t0: 0, end: 100 * ms,
			want: Recovery{Samples: 10, Failures: 3, Recovered: true, At: 70 * ms, FirstFailure: 10 * ms, Downtime: 60 * ms,
				Down: []Span{{10 * ms, 20 * ms}, {30 * ms, 40 * ms}, {60 * ms, 70 * ms}}, LastError: "down"},
		},
		{
			name: "still failing at the end is not recovered", samples: grid(0, "++---"), t0: 0, end: 50 * ms,
			want: Recovery{Samples: 5, Failures: 3, FirstFailure: 20 * ms, Down: []Span{{20 * ms, 50 * ms}}, LastError: "down"},
		},
		{
			name: "samples at or after end are ignored", samples: grid(0, "+-+-"), t0: 0, end: 30 * ms,
			want: Recovery{Samples: 3, Failures: 1, Recovered: true, At: 20 * ms, FirstFailure: 10 * ms, Downtime: 10 * ms,
				Down: []Span{{10 * ms, 20 * ms}}, LastError: "down"},
		},
		{name: "no samples", samples: nil, t0: 0, end: time.Second, want: Recovery{}},
		{
			name:    "out-of-order completion is sorted by start",
			samples: []Sample{{Start: 20 * ms, OK: true}, {Start: 0, OK: true}, {Start: 10 * ms, Err: "x"}},
			t0:      0, end: 30 * ms,
			want: Recovery{Samples: 3, Failures: 1, Recovered: true, At: 20 * ms, FirstFailure: 10 * ms, Downtime: 10 * ms,
				Down: []Span{{10 * ms, 20 * ms}}, LastError: "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ComputeRecovery(tt.samples, tt.t0, tt.end)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ComputeRecovery (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHealthyFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		now     time.Duration
		want    time.Duration
		ok      bool
	}{
		{"--+++", 50 * ms, 30 * ms, true},
		{"+++++", 50 * ms, 50 * ms, true},
		{"+++-", 40 * ms, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		got, ok := HealthyFor(grid(0, tt.pattern), tt.now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("HealthyFor(%q, %v) = %v, %v; want %v, %v", tt.pattern, tt.now, got, ok, tt.want, tt.ok)
		}
	}
}

func TestClassifyWrites(t *testing.T) {
	t.Parallel()
	// Write n is invoked at n*10ms and acknowledged 2ms later unless marked otherwise.
	w := func(seq uint64, o Outcome) Write {
		return Write{Seq: seq, Invoke: time.Duration(seq) * 10 * ms, Ack: time.Duration(seq)*10*ms + 2*ms, Outcome: o}
	}
	set := func(seqs ...uint64) map[uint64]bool {
		m := map[uint64]bool{}
		for _, s := range seqs {
			m[s] = true
		}
		return m
	}
	tests := []struct {
		name    string
		writes  []Write
		present map[uint64]bool
		want    DataLoss
	}{
		{
			name:   "nothing lost",
			writes: []Write{w(1, WriteOK), w(2, WriteOK)}, present: set(1, 2),
			want: DataLoss{Written: 2, Acknowledged: 2},
		},
		{
			name:   "tail lost after snapshot: window from newest survivor",
			writes: []Write{w(1, WriteOK), w(2, WriteOK), w(3, WriteOK), w(4, WriteOK)}, present: set(1, 2),
			want: DataLoss{Written: 4, Acknowledged: 4, Lost: 2, RPO: 20 * ms, LostSeqs: []uint64{3, 4}},
		},
		{
			name:   "failed and timed-out writes present are recovered, absent are not loss",
			writes: []Write{w(1, WriteOK), w(2, WriteFailed), w(3, WriteTimedOut), w(4, WriteTimedOut)}, present: set(1, 2, 3),
			want: DataLoss{Written: 4, Acknowledged: 1, Recovered: 2},
		},
		{
			name:   "unexpected keys counted",
			writes: []Write{w(1, WriteOK)}, present: set(1, 99),
			want: DataLoss{Written: 1, Acknowledged: 1, Unexpected: 1},
		},
		{
			name:   "everything lost: window starts at first invoke",
			writes: []Write{w(1, WriteOK), w(2, WriteOK)}, present: set(),
			want: DataLoss{Written: 2, Acknowledged: 2, Lost: 2, RPO: 22*ms - 10*ms, LostSeqs: []uint64{1, 2}},
		},
		{
			name:   "a survivor after the oldest lost write does not shrink the window",
			writes: []Write{w(1, WriteOK), w(2, WriteOK), w(3, WriteOK), w(4, WriteOK)}, present: set(1, 3),
			want: DataLoss{Written: 4, Acknowledged: 4, Lost: 2, RPO: 30 * ms, LostSeqs: []uint64{2, 4}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, ClassifyWrites(tt.writes, tt.present)); diff != "" {
				t.Errorf("ClassifyWrites (-want +got):\n%s", diff)
			}
		})
	}
}
