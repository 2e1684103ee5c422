package measure

import (
	"sort"
	"time"
)

// Outcome of one write as the writer saw it.
type Outcome int

const (
	WriteOK Outcome = iota
	WriteFailed
	WriteTimedOut
)

func (o Outcome) String() string {
	switch o {
	case WriteOK:
		return "ok"
	case WriteFailed:
		return "failed"
	default:
		return "timed-out"
	}
}

// Write is one sequenced write of a data probe.
type Write struct {
	Seq     uint64
	Invoke  time.Duration // offsets on the run's timeline
	Ack     time.Duration // meaningful when Outcome == WriteOK
	Outcome Outcome
}

// DataLoss classifies writes after the read-back (docs/DESIGN.md §3).
type DataLoss struct {
	Written      int
	Acknowledged int
	Lost         int // acknowledged but absent
	Recovered    int // failed or timed out, yet present: not loss
	Unexpected   int // present but never written: the probe itself is broken
	// RPO is zero when nothing is lost; otherwise ack(newest lost write) minus ack(newest
	// surviving write acknowledged before the oldest lost write). When no write survived from
	// before the oldest lost one, the window starts at the first write's invoke time: everything
	// the probe ever wrote up to the newest lost write is the loss window.
	RPO time.Duration
	// LostSeqs lists lost sequence numbers (capped, for the report).
	LostSeqs []uint64
}

const maxLostSeqs = 50

// ClassifyWrites compares what the writer recorded with the sequence numbers read back.
func ClassifyWrites(writes []Write, present map[uint64]bool) DataLoss {
	ws := append([]Write(nil), writes...)
	sort.Slice(ws, func(i, j int) bool { return ws[i].Seq < ws[j].Seq })

	d := DataLoss{Written: len(ws)}
	written := make(map[uint64]bool, len(ws))
	var lost []Write
	for _, w := range ws {
		written[w.Seq] = true
		switch {
		case w.Outcome == WriteOK:
			d.Acknowledged++
			if !present[w.Seq] {
				lost = append(lost, w)
			}
		case present[w.Seq]:
			d.Recovered++
		}
	}
	for seq, ok := range present {
		if ok && !written[seq] {
			d.Unexpected++
		}
	}
	d.Lost = len(lost)
	if d.Lost == 0 {
		return d
	}
	for i, w := range lost {
		if i == maxLostSeqs {
			break
		}
		d.LostSeqs = append(d.LostSeqs, w.Seq)
	}
	oldestLost, newestLostAck := lost[0].Ack, lost[0].Ack
	for _, w := range lost {
		oldestLost = min(oldestLost, w.Ack)
		newestLostAck = max(newestLostAck, w.Ack)
	}
	windowStart, found := time.Duration(0), false
	for _, w := range ws {
		if w.Outcome == WriteOK && present[w.Seq] && w.Ack < oldestLost && (!found || w.Ack > windowStart) {
			windowStart, found = w.Ack, true
		}
	}
	if !found {
		windowStart = ws[0].Invoke
	}
	d.RPO = newestLostAck - windowStart
	return d
}
