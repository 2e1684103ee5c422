package history

// Evidence kept beside the runs: sign-offs, findings, and the hash chain over every record.
//
// Layout (added to the runs' buckets, all in the same file):
//
//	signoffs   runId + 0x00 + seq (8 bytes) -> SignOff JSON (never rewritten)
//	findings   finding id -> Finding JSON (its current state)
//	chain      seq (8 bytes, big-endian)    -> Link JSON
//	meta       "chain-since" -> RFC 3339 time the chain started on this store
//
// Every write of a run, a sign-off or a finding appends a Link in the same transaction: the
// SHA-256 of the record's stored (canonical) JSON, and the hash of the previous link. Editing,
// removing or reordering a stored record breaks the chain at that record; Verify names it.
//
// Stores written before the chain existed: on the first write-open, their runs are linked in
// time order as "adopted" links. Their content is protected from then on, but nothing proves
// what happened to them before; Verify reports how many links were adopted and when.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/drillhq/drill/result"
)

var (
	bucketSignOffs = []byte("signoffs")
	bucketFindings = []byte("findings")
	// findings-pending: scenario NUL findingId -> nil for findings open and not yet retested.
	// Not chained: it is derived from the findings and rebuilt when missing.
	bucketPending = []byte("findings-pending")
	pendingSeqKey = []byte("findings-pending-seq") // in meta: the findings sequence it covers
	bucketChain   = []byte("chain")
	chainSinceKey = []byte("chain-since")
)

// Record kinds in the chain.
const (
	KindRun     = "run"
	KindSignOff = "signoff"
	KindFinding = "finding"
)

// SignOff is one person's approval of a run's result.
type SignOff struct {
	RunID string    `json:"runId"`
	By    string    `json:"by"`
	Role  string    `json:"role,omitempty"`
	Note  string    `json:"note,omitempty"`
	At    time.Time `json:"at"`
}

// FindingStatus is open or closed.
type FindingStatus string

// Finding states.
const (
	FindingOpen   FindingStatus = "open"
	FindingClosed FindingStatus = "closed"
)

// Finding is what a run that did not pass leaves to fix: opened automatically, assigned and
// closed by people, and marked retested when a later run of the same scenario passes.
type Finding struct {
	ID       string         `json:"id"`
	System   string         `json:"system"`
	Scenario string         `json:"scenario"`
	RunID    string         `json:"runId"` // the run that opened it
	Verdict  result.Verdict `json:"verdict"`
	What     string         `json:"what"` // what failed: the run's reason
	OpenedAt time.Time      `json:"openedAt"`
	Status   FindingStatus  `json:"status"`
	Owner    string         `json:"owner,omitempty"`
	Due      time.Time      `json:"due,omitzero"`
	// Retest is the first later run of the same scenario that passed (and disturbed the
	// system); the finding stays open until someone closes it with a note.
	Retest    *Retest   `json:"retest,omitempty"`
	ClosedAt  time.Time `json:"closedAt,omitzero"`
	CloseNote string    `json:"closeNote,omitempty"`
}

// Retest cites the passing run that retested a finding.
type Retest struct {
	RunID  string         `json:"runId"`
	At     time.Time      `json:"at"`
	Result result.Verdict `json:"result"`
}

// Overdue reports whether an open finding is past its due date at now.
func (f Finding) Overdue(now time.Time) bool {
	return f.Status == FindingOpen && !f.Due.IsZero() && now.After(f.Due)
}

// Link is one entry of the hash chain.
type Link struct {
	Seq  uint64 `json:"seq"`
	Kind string `json:"kind"`
	ID   string `json:"id"` // run id, sign-off key or finding id
	// SHA256 is the hash of the record's stored JSON at the time of this link.
	SHA256 string `json:"sha256"`
	// Prev is the Hash of the previous link ("" for the first).
	Prev string `json:"prev"`
	// Adopted marks a record that existed before the chain started on this store.
	Adopted bool      `json:"adopted,omitempty"`
	At      time.Time `json:"at"`
	// Hash is the SHA-256 of this link's JSON with Hash empty.
	Hash string `json:"hash"`
}

func (l Link) computeHash() string {
	l.Hash = ""
	b, _ := json.Marshal(l) // a struct of strings, ints and a time cannot fail to encode
	return sha(b)
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func seqKey(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

// link appends a chain entry for a record just written in tx.
func link(tx *bolt.Tx, kind, id string, doc []byte, adopted bool, at time.Time) error {
	chain := tx.Bucket(bucketChain)
	prev := ""
	if _, v := chain.Cursor().Last(); v != nil {
		var last Link
		if err := json.Unmarshal(v, &last); err != nil {
			return fmt.Errorf("read chain head: %w", err)
		}
		prev = last.Hash
	}
	seq, err := chain.NextSequence()
	if err != nil {
		return err
	}
	l := Link{Seq: seq, Kind: kind, ID: id, SHA256: sha(doc), Prev: prev, Adopted: adopted, At: at.UTC()}
	l.Hash = l.computeHash()
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return chain.Put(seqKey(seq), b)
}

// startChain creates the evidence buckets and, on a store that had runs before the chain
// existed, adopts those runs into it (oldest first) so later edits to them are detected.
func startChain(tx *bolt.Tx, now time.Time) error {
	for _, name := range [][]byte{bucketSignOffs, bucketFindings, bucketChain} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	if meta.Get(chainSinceKey) != nil {
		return nil
	}
	if err := meta.Put(chainSinceKey, []byte(now.UTC().Format(time.RFC3339))); err != nil {
		return err
	}
	runs, idx := tx.Bucket(bucketRuns), tx.Bucket(bucketTime)
	return idx.ForEach(func(k, _ []byte) error {
		id := string(k[8:])
		doc := runs.Get([]byte(id))
		if doc == nil {
			return fmt.Errorf("index names run %s but no record exists", id)
		}
		return link(tx, KindRun, id, doc, true, now)
	})
}

// recordFindings opens a finding for a run that did not pass, or marks open findings of the
// same scenario retested when it passed. It runs inside Append's transaction.
func recordFindings(tx *bolt.Tx, r *result.Result) error {
	b := tx.Bucket(bucketFindings)
	at := r.FinishedAt
	if at.IsZero() {
		at = r.StartedAt
	}
	if r.Verdict != result.VerdictPass {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		what := string(r.Verdict)
		if r.Reason != "" {
			what += ": " + r.Reason
		}
		f := Finding{ID: fmt.Sprintf("F-%04d", seq), System: r.System, Scenario: r.Scenario, RunID: r.RunID,
			Verdict: r.Verdict, What: what, OpenedAt: at.UTC(), Status: FindingOpen}
		if err := tx.Bucket(bucketPending).Put(append(pendingPrefix(f.Scenario), f.ID...), nil); err != nil {
			return err
		}
		if err := tx.Bucket(bucketMeta).Put(pendingSeqKey, binary.BigEndian.AppendUint64(nil, seq)); err != nil {
			return err
		}
		return putFinding(tx, f)
	}
	if r.IsUnproven() {
		return nil // a pass that disturbed nothing retests nothing
	}
	// Only findings still awaiting a retest are read, through the pending index: scanning
	// every finding made each passing run cost O(findings), and importing years of CI runs
	// quadratic (50k runs: most of an hour).
	pend := tx.Bucket(bucketPending)
	prefix := pendingPrefix(r.Scenario)
	var done [][]byte
	c := pend.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		v := b.Get(k[len(prefix):])
		if v == nil {
			done = append(done, k)
			continue
		}
		var f Finding
		if err := json.Unmarshal(v, &f); err != nil {
			return err
		}
		if f.Status != FindingOpen || f.Retest != nil {
			done = append(done, k) // closed or retested since: no longer pending
			continue
		}
		if !f.OpenedAt.Before(r.StartedAt.Add(time.Nanosecond)) {
			continue // opened after this run (an import out of order): still pending
		}
		f.Retest = &Retest{RunID: r.RunID, At: r.StartedAt.UTC(), Result: "passed"}
		if err := putFinding(tx, f); err != nil {
			return err
		}
		done = append(done, k)
	}
	for _, k := range done {
		if err := pend.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// pendingPrefix keys the pending index: scenario, NUL, finding id.
func pendingPrefix(scenario string) []byte { return append([]byte(scenario), 0) }

// ensurePending builds the pending index for a store written before it existed, or whose
// findings an older drill added without it (the findings' sequence moved on without it).
func ensurePending(tx *bolt.Tx) error {
	meta, findings := tx.Bucket(bucketMeta), tx.Bucket(bucketFindings)
	seq := binary.BigEndian.AppendUint64(nil, findings.Sequence())
	if tx.Bucket(bucketPending) != nil && bytes.Equal(meta.Get(pendingSeqKey), seq) {
		return nil
	}
	if tx.Bucket(bucketPending) != nil {
		if err := tx.DeleteBucket(bucketPending); err != nil {
			return fmt.Errorf("rebuild bucket %s: %w", bucketPending, err)
		}
	}
	if err := meta.Put(pendingSeqKey, seq); err != nil {
		return err
	}
	pend, err := tx.CreateBucket(bucketPending)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketPending, err)
	}
	return findings.ForEach(func(k, v []byte) error {
		var f Finding
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("index finding %s: %w", k, err)
		}
		if f.Status != FindingOpen || f.Retest != nil {
			return nil
		}
		return pend.Put(append(pendingPrefix(f.Scenario), k...), nil)
	})
}

func putFinding(tx *bolt.Tx, f Finding) error {
	doc, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketFindings).Put([]byte(f.ID), doc); err != nil {
		return err
	}
	return link(tx, KindFinding, f.ID, doc, false, time.Now())
}

// ErrNotFound is returned for a run or finding id the store does not hold.
var ErrNotFound = errors.New("not found")

// AddSignOff records an approval of a stored run.
func (s *Store) AddSignOff(ctx context.Context, so SignOff) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sign off run %s: %w", so.RunID, err)
	}
	if s.db == nil {
		return fmt.Errorf("sign off run %s: store %s is open read-only", so.RunID, s.path)
	}
	if strings.TrimSpace(so.By) == "" {
		return fmt.Errorf("sign off run %s: who signs off is required", so.RunID)
	}
	if so.At.IsZero() {
		so.At = time.Now()
	}
	so.At = so.At.UTC()
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketRuns).Get([]byte(so.RunID)) == nil {
			return fmt.Errorf("run %q: %w", so.RunID, ErrNotFound)
		}
		b := tx.Bucket(bucketSignOffs)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		key := append(append([]byte(so.RunID), 0), seqKey(seq)...)
		doc, err := json.Marshal(so)
		if err != nil {
			return err
		}
		if err := b.Put(key, doc); err != nil {
			return err
		}
		return link(tx, KindSignOff, fmt.Sprintf("%s#%d", so.RunID, seq), doc, false, so.At)
	})
	if err != nil {
		return fmt.Errorf("sign off run %s in history %s: %w", so.RunID, s.path, err)
	}
	return nil
}

// SignOffs returns every sign-off by run id, oldest first.
func (s *Store) SignOffs(ctx context.Context) (map[string][]SignOff, error) {
	out := map[string][]SignOff{}
	if s.db == nil {
		return out, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSignOffs)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			var so SignOff
			if err := json.Unmarshal(v, &so); err != nil {
				return fmt.Errorf("decode sign-off: %w", err)
			}
			out[so.RunID] = append(out[so.RunID], so)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read sign-offs from history %s: %w", s.path, err)
	}
	return out, nil
}

// Findings returns every finding, oldest first.
func (s *Store) Findings(ctx context.Context) ([]Finding, error) {
	var out []Finding
	if s.db == nil {
		return out, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFindings)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			var f Finding
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("decode finding: %w", err)
			}
			out = append(out, f)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read findings from history %s: %w", s.path, err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// UpdateFinding applies change to finding id and stores the result.
func (s *Store) UpdateFinding(ctx context.Context, id string, change func(*Finding) error) (Finding, error) {
	var f Finding
	if err := ctx.Err(); err != nil {
		return f, fmt.Errorf("update finding %s: %w", id, err)
	}
	if s.db == nil {
		return f, fmt.Errorf("update finding %s: store %s is open read-only", id, s.path)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketFindings).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("finding %q: %w", id, ErrNotFound)
		}
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("decode finding: %w", err)
		}
		if err := change(&f); err != nil {
			return err
		}
		return putFinding(tx, f)
	})
	if err != nil {
		return f, fmt.Errorf("update finding %s in history %s: %w", id, s.path, err)
	}
	return f, nil
}

// Verification is the outcome of Verify.
type Verification struct {
	Links   int       `json:"links"`
	Adopted int       `json:"adopted"` // records linked when the chain started, unproven before
	Since   time.Time `json:"since,omitzero"`
	Head    string    `json:"head"` // hash of the last link: publish it to pin today's state
	// Broken names the first broken link, "" when the chain is intact.
	Broken string `json:"broken,omitempty"`
	Note   string `json:"note,omitempty"`
}

// Intact reports whether nothing was found wrong.
func (v Verification) Intact() bool { return v.Broken == "" }

// Verify recomputes the hash chain: every link's hash and its pointer to the previous one, the
// hash of every record it covers as stored now, and that no stored record is missing from it.
// A finding's older versions are superseded; only its newest link is compared with its stored
// state (the older links still prove the order of its changes).
func (s *Store) Verify(ctx context.Context) (Verification, error) {
	var v Verification
	if s.db == nil {
		return v, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(bucketMeta); m != nil {
			if t, err := time.Parse(time.RFC3339, string(m.Get(chainSinceKey))); err == nil {
				v.Since = t
			}
		}
		chain := tx.Bucket(bucketChain)
		if chain == nil {
			if v.Since.IsZero() {
				v.Note = "no hash chain yet: this store was last written by a drill without one; the next write (drill run, drill signoff) starts it and adopts the runs already stored"
			} else {
				v.Broken = "the hash chain bucket is missing"
			}
			return nil
		}
		prev := ""
		newest := map[string]Link{} // kind/id -> newest link
		var want uint64 = 1
		err := chain.ForEach(func(k, raw []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			var l Link
			if err := json.Unmarshal(raw, &l); err != nil {
				return brokenf("link %x does not decode: %v", k, err)
			}
			switch {
			case !bytes.Equal(k, seqKey(l.Seq)) || l.Seq != want:
				return brokenf("link %d: expected link %d here (a link was removed or reordered)", l.Seq, want)
			case l.Prev != prev:
				return brokenf("link %d (%s %s): does not follow link %d (previous hash differs)", l.Seq, l.Kind, l.ID, l.Seq-1)
			case l.computeHash() != l.Hash:
				return brokenf("link %d (%s %s): its own hash does not match its content", l.Seq, l.Kind, l.ID)
			}
			want++
			prev = l.Hash
			v.Links++
			if l.Adopted {
				v.Adopted++
			}
			newest[l.Kind+"/"+l.ID] = l
			return nil
		})
		if err != nil {
			return err
		}
		v.Head = prev
		return checkRecords(tx, newest)
	})
	var b brokenError
	if errors.As(err, &b) {
		v.Broken = string(b)
		return v, nil
	}
	if err != nil {
		return v, fmt.Errorf("verify history %s: %w", s.path, err)
	}
	return v, nil
}

// checkRecords compares every stored record with the newest link that covers it.
func checkRecords(tx *bolt.Tx, newest map[string]Link) error {
	check := func(kind, id string, doc []byte) error {
		l, ok := newest[kind+"/"+id]
		if !ok {
			return brokenf("%s %s is not in the hash chain (added by other means)", kind, id)
		}
		if sha(doc) != l.SHA256 {
			return brokenf("%s %s (link %d): stored content changed since it was recorded", kind, id, l.Seq)
		}
		delete(newest, kind+"/"+id)
		return nil
	}
	if err := tx.Bucket(bucketRuns).ForEach(func(k, doc []byte) error { return check(KindRun, string(k), doc) }); err != nil {
		return err
	}
	if err := tx.Bucket(bucketSignOffs).ForEach(func(k, doc []byte) error {
		i := bytes.IndexByte(k, 0)
		if i < 0 || len(k) != i+9 {
			return brokenf("sign-off key %q is malformed", k)
		}
		return check(KindSignOff, fmt.Sprintf("%s#%d", k[:i], binary.BigEndian.Uint64(k[i+1:])), doc)
	}); err != nil {
		return err
	}
	if err := tx.Bucket(bucketFindings).ForEach(func(k, doc []byte) error { return check(KindFinding, string(k), doc) }); err != nil {
		return err
	}
	// Whatever the chain covers but the store no longer holds was deleted.
	var gone []Link
	for _, l := range newest {
		gone = append(gone, l)
	}
	if len(gone) > 0 {
		sort.Slice(gone, func(i, j int) bool { return gone[i].Seq < gone[j].Seq })
		return brokenf("%s %s (link %d): recorded in the chain but no longer stored (deleted)", gone[0].Kind, gone[0].ID, gone[0].Seq)
	}
	return nil
}

// brokenError carries the first break found out of the bbolt transaction.
type brokenError string

func (b brokenError) Error() string { return string(b) }

func brokenf(format string, args ...any) error { return brokenError(fmt.Sprintf(format, args...)) }
