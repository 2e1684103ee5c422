// Package history keeps every drill result (drill.result/v1) in a local embedded store so
// compliance can be proven later: which drills ran, when, with what outcome.
//
// The store is a single bbolt file. bbolt commits each transaction atomically with fsync and
// copy-on-write pages, so a process killed in the middle of Append leaves the previous state
// intact: at most the run being written is lost, never an earlier one.
//
// Layout (all keys are bytes):
//
//	runs            runId -> full result JSON
//	by-time         timeKey(startedAt) + runId -> nil
//	by-system/<s>   timeKey(startedAt) + runId -> nil
//	by-scenario/<n> timeKey(startedAt) + runId -> nil
//	meta            "layout" -> "1"
//	summary         scenario -> newest run, newest proven pass (summary.go)
//	rows            timeKey(startedAt) + runId -> the run's Row (rows.go)
//	scenario-texts  scenarioSha256 -> the scenario file's bytes (scenariotext.go)
//
// Sign-offs, findings and the hash chain over every record are described in evidence.go.
//
// timeKey is the start time in Unix nanoseconds as a big-endian uint64 with the sign bit
// flipped, so byte order is time order and a cursor walks runs chronologically.
package history

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/drillhq/drill/result"
)

// Sink receives finished results: the run verb appends each result to it as soon as the run
// ends. Store and FileSink implement it.
type Sink interface {
	Append(ctx context.Context, r *result.Result) error
	// AppendWithScenario is Append that also keeps the scenario's text, which must hash to
	// r.ScenarioSHA256; nil text stores the run alone.
	AppendWithScenario(ctx context.Context, r *result.Result, text []byte) error
}

// Lister reads results back, newest first. Store implements it; so can a remote source.
type Lister interface {
	List(ctx context.Context, f Filter) ([]*result.Result, error)
}

// Filter selects runs. Zero fields match everything. Since is inclusive and Until exclusive,
// both compared with the run's StartedAt.
type Filter struct {
	System   string
	Scenario string
	Since    time.Time
	Until    time.Time
	// Limit caps the number of results (newest kept); 0 means no limit.
	Limit int
}

// Match reports whether r passes the filter. Remote Listers use it to apply the same rules.
func (f Filter) Match(r *result.Result) bool {
	if f.System != "" && r.System != f.System {
		return false
	}
	if f.Scenario != "" && r.Scenario != f.Scenario {
		return false
	}
	if !f.Since.IsZero() && r.StartedAt.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !r.StartedAt.Before(f.Until) {
		return false
	}
	return true
}

// ErrConflict is returned by Append when the run id is already stored with different content.
// Stored evidence is never rewritten.
var ErrConflict = errors.New("run id already stored with different content")

// ErrDryRun is returned by Append for a dry run: it injected nothing, so it is no evidence and
// must never reach the history that due dates and compliance reports are computed from.
var ErrDryRun = errors.New("a dry run is not evidence and is not stored")

var (
	bucketRuns     = []byte("runs")
	bucketTime     = []byte("by-time")
	bucketSystem   = []byte("by-system")
	bucketScenario = []byte("by-scenario")
	bucketMeta     = []byte("meta")
	layoutKey      = []byte("layout")
	layoutVersion  = []byte("1")
)

// lockTimeout bounds the wait for another drill process holding the file. Writers hold it only
// for the duration of one Append, so a long wait means something is stuck.
const lockTimeout = 10 * time.Second

// Store is the local history. It is safe for concurrent use by goroutines of one process;
// several processes share the file through bbolt's file lock.
type Store struct {
	db   *bolt.DB // nil for a read-only view of a store that does not exist yet
	path string
}

// Open opens the store at path for reading and writing, creating the file and its directory
// when missing. Callers should Close it promptly: the file is locked while open.
func Open(path string) (_ *Store, err error) {
	if path == "" {
		return nil, errors.New("open history: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open history %s: %w", path, err)
	}
	defer recoverCorrupt("open history", path, &err)
	db, err := openBolt(path, bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, openError(path, err)
	}
	defer closeOnPanic(db)
	if err := db.Update(initBuckets); err != nil {
		db.Close()
		return nil, fmt.Errorf("open history %s: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
}

// ErrCorrupt marks a store file bbolt cannot read safely.
var ErrCorrupt = errors.New("store file is corrupt")

// recoverCorrupt turns a bbolt panic into an error wrapping ErrCorrupt. bbolt panics rather
// than returning an error on some damaged pages ("page expected to be 2, but self identifies
// as ..."), and a panic while a drill's result is being saved would lose the result.
func recoverCorrupt(op, path string, err *error) {
	if v := recover(); v != nil {
		*err = fmt.Errorf("%s %s: %w (%v)", op, path, ErrCorrupt, v)
	}
}

// openBolt is bolt.Open, except that a panic while opening (bbolt reads the freelist then)
// unlocks and closes the file, so the lock it took does not outlive the failed open: a later Open in this
// process would otherwise wait lockTimeout for a lock nobody will release.
func openBolt(path string, opts bolt.Options) (*bolt.DB, error) {
	var files []*os.File
	opts.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		if err == nil {
			files = append(files, f)
		}
		return f, err
	}
	defer func() {
		if v := recover(); v != nil {
			for _, f := range files {
				// bbolt's mmap still references the file, which keeps an flock alive
				// after Close: unlock explicitly.
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}
			panic(v)
		}
	}()
	return bolt.Open(path, 0o600, &opts)
}

// closeOnPanic releases the file when a panic leaves Open half done; recoverCorrupt, deferred
// earlier, then turns the panic into an error.
func closeOnPanic(db *bolt.DB) {
	if v := recover(); v != nil {
		db.Close()
		panic(v)
	}
}

// Check opens the store as an Append would (creating it when missing) and verifies every
// page, so a drill can refuse to inject anything when its result could not be kept. A damaged
// store is an error wrapping ErrCorrupt, never a panic.
func Check(path string) (err error) {
	s, err := Open(path)
	if err != nil {
		return err
	}
	defer s.Close()
	defer recoverCorrupt("check history", path, &err)
	return s.db.View(func(tx *bolt.Tx) error {
		var first error
		// Drain the channel: Check's goroutine blocks until every error is taken.
		for cerr := range tx.Check() {
			if first == nil {
				first = fmt.Errorf("check history %s: %w (%v)", path, ErrCorrupt, cerr)
			}
		}
		return first
	})
}

// OpenReadOnly opens the store for reading with a shared lock, so several readers can run
// while no run is being appended. A store that does not exist yet reads as empty.
func OpenReadOnly(path string) (_ *Store, err error) {
	if path == "" {
		return nil, errors.New("open history: empty path")
	}
	// A missing file, or one created by a writer killed before its first commit, holds no runs.
	if fi, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Size() == 0) {
		return &Store{path: path}, nil
	}
	defer recoverCorrupt("open history", path, &err)
	db, err := openBolt(path, bolt.Options{Timeout: lockTimeout, ReadOnly: true})
	if err != nil {
		return nil, openError(path, err)
	}
	defer closeOnPanic(db)
	if err := db.View(checkLayout); err != nil {
		db.Close()
		return nil, fmt.Errorf("open history %s: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
}

func openError(path string, err error) error {
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("open history %s: locked by another drill process for more than %s", path, lockTimeout)
	}
	if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrChecksum) || errors.Is(err, bolterrors.ErrVersionMismatch) {
		return fmt.Errorf("open history %s: not a drill history file (%w)", path, err)
	}
	return fmt.Errorf("open history %s: %w", path, err)
}

func initBuckets(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketRuns, bucketTime, bucketSystem, bucketScenario, bucketMeta, bucketScenarioText} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	switch v := meta.Get(layoutKey); {
	case v == nil:
		if err := meta.Put(layoutKey, layoutVersion); err != nil {
			return err
		}
	case !bytes.Equal(v, layoutVersion):
		return fmt.Errorf("store layout %q is not supported by this drill (want %q)", v, layoutVersion)
	}
	if err := startChain(tx, time.Now()); err != nil {
		return err
	}
	if err := ensurePending(tx); err != nil {
		return err
	}
	if err := summaryIndex.ensure(tx); err != nil {
		return err
	}
	return rowIndex.ensure(tx)
}

func checkLayout(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		// Created by Open but the first transaction never committed (killed at once): empty.
		return nil
	}
	if v := meta.Get(layoutKey); v != nil && !bytes.Equal(v, layoutVersion) {
		return fmt.Errorf("store layout %q is not supported by this drill (want %q)", v, layoutVersion)
	}
	return nil
}

// Path is the file the store lives in.
func (s *Store) Path() string { return s.path }

// Close releases the file.
func (s *Store) Close() error {
	if s.db == nil {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close history %s: %w", s.path, err)
	}
	return nil
}

// Append stores r. Appending the same run again is a no-op, so a retry after an unclear error
// is safe; a different document under an existing run id is refused with ErrConflict.
func (s *Store) Append(ctx context.Context, r *result.Result) error {
	return s.AppendWithScenario(ctx, r, nil)
}

// AppendWithScenario stores r as Append does and, in the same transaction, the scenario text
// it ran under its SHA-256, once per distinct text. A text that does not hash to
// r.ScenarioSHA256 is refused before anything is written: the store must never show a run
// with a text it did not execute.
func (s *Store) AppendWithScenario(ctx context.Context, r *result.Result, text []byte) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("append run to history: %w", err)
	}
	if r == nil || r.RunID == "" {
		return errors.New("append run to history: result has no runId")
	}
	if r.DryRun {
		return fmt.Errorf("append run %s to history: %w", r.RunID, ErrDryRun)
	}
	if s.db == nil {
		return fmt.Errorf("append run %s to history: store %s is open read-only", r.RunID, s.path)
	}
	if err := checkScenarioText(r, text); err != nil {
		return fmt.Errorf("append run %s to history: %w", r.RunID, err)
	}
	doc, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("append run %s to history: encode: %w", r.RunID, err)
	}
	defer recoverCorrupt("append run "+r.RunID+" to history", s.path, &err)
	err = s.db.Update(func(tx *bolt.Tx) error {
		if _, err := appendTx(tx, r, doc, time.Now()); err != nil {
			return err
		}
		return putScenarioText(tx, r.ScenarioSHA256, text)
	})
	if err != nil {
		return fmt.Errorf("append run %s to history %s: %w", r.RunID, s.path, err)
	}
	return nil
}

// appendTx stores r (encoded as doc) in tx: the record, its indexes, its chain link, its
// findings, the per-scenario summary and its row, so they are all committed together or not at all.
// added is false when the identical document is already stored.
func appendTx(tx *bolt.Tx, r *result.Result, doc []byte, now time.Time) (added bool, err error) {
	id := []byte(r.RunID)
	runs := tx.Bucket(bucketRuns)
	if old := runs.Get(id); old != nil {
		if bytes.Equal(old, doc) {
			return false, nil
		}
		return false, ErrConflict
	}
	if err := runs.Put(id, doc); err != nil {
		return false, err
	}
	key := indexKey(r.StartedAt, r.RunID)
	if err := tx.Bucket(bucketTime).Put(key, nil); err != nil {
		return false, err
	}
	if err := putIndex(tx.Bucket(bucketSystem), r.System, key); err != nil {
		return false, err
	}
	if err := putIndex(tx.Bucket(bucketScenario), r.Scenario, key); err != nil {
		return false, err
	}
	if err := link(tx, KindRun, r.RunID, doc, false, now); err != nil {
		return false, err
	}
	if err := recordFindings(tx, r); err != nil {
		return false, err
	}
	if err := summaryIndex.put(tx, key, r); err != nil {
		return false, err
	}
	if err := rowIndex.put(tx, key, r); err != nil {
		return false, err
	}
	return true, nil
}

func putIndex(parent *bolt.Bucket, name string, key []byte) error {
	// bbolt rejects empty bucket names; results always carry a scenario, but keep old or
	// hand-made documents storable.
	if name == "" {
		name = "\x00"
	}
	b, err := parent.CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return err
	}
	return b.Put(key, nil)
}

// Get returns one run by id; ok is false when it is not stored.
func (s *Store) Get(ctx context.Context, runID string) (r *result.Result, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("read run %s from history: %w", runID, err)
	}
	if s.db == nil {
		return nil, false, nil
	}
	defer recoverCorrupt("read run "+runID+" from history", s.path, &err)
	err = s.db.View(func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketRuns)
		if runs == nil {
			return nil
		}
		doc := runs.Get([]byte(runID))
		if doc == nil {
			return nil
		}
		r, err = decode(runID, doc)
		ok = err == nil
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("read run %s from history %s: %w", runID, s.path, err)
	}
	return r, ok, nil
}

// List returns the runs matching f, newest first (by StartedAt, then run id).
func (s *Store) List(ctx context.Context, f Filter) ([]*result.Result, error) {
	var out []*result.Result
	err := s.Each(ctx, f, func(r *result.Result) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// errStop ends an Each walk early without an error.
var errStop = errors.New("stop")

// Each calls fn with each run matching f, newest first, decoding one at a time, so a caller
// that does not keep them (an evidence export of 100k runs) needs memory for one run only.
// An error from fn ends the walk and is returned.
func (s *Store) Each(ctx context.Context, f Filter, fn func(*result.Result) error) (err error) {
	if s.db == nil {
		return nil
	}
	defer recoverCorrupt("list history", s.path, &err)
	var fnErr error
	err = s.db.View(func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketRuns)
		if runs == nil {
			return nil
		}
		idx := narrowestIndex(tx, f) // the filter still checks every field
		if idx == nil {
			return nil
		}
		c := idx.Cursor()
		var k []byte
		if f.Until.IsZero() {
			k, _ = c.Last()
		} else {
			// Seek lands on the first key >= Until; everything before it starts earlier.
			k, _ = c.Seek(timePrefix(f.Until))
			if k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
		}
		since := timePrefix(f.Since)
		n := 0
		for ; k != nil; k, _ = c.Prev() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !f.Since.IsZero() && bytes.Compare(k[:8], since) < 0 {
				break
			}
			r, err := indexedRun(runs, k)
			if err != nil {
				return err
			}
			if !f.Match(r) {
				continue
			}
			if fnErr = fn(r); fnErr != nil {
				return errStop
			}
			n++
			if f.Limit > 0 && n >= f.Limit {
				break
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("list history %s: %w", s.path, err)
	}
	return nil
}

// indexedRun decodes the run a time-index key (timeKey + run id) names.
func indexedRun(runs *bolt.Bucket, key []byte) (*result.Result, error) {
	id := string(key[8:])
	doc := runs.Get([]byte(id))
	if doc == nil {
		return nil, fmt.Errorf("index names run %s but no record exists", id)
	}
	return decode(id, doc)
}

// narrowestIndex is the time-ordered index that serves f with the fewest keys: the scenario's,
// else the system's, else every run's. nil: no run matches.
func narrowestIndex(tx *bolt.Tx, f Filter) *bolt.Bucket {
	switch {
	case f.Scenario != "":
		return subBucket(tx.Bucket(bucketScenario), f.Scenario)
	case f.System != "":
		return subBucket(tx.Bucket(bucketSystem), f.System)
	}
	return tx.Bucket(bucketTime)
}

func subBucket(parent *bolt.Bucket, name string) *bolt.Bucket {
	if parent == nil {
		return nil
	}
	if name == "" {
		name = "\x00"
	}
	return parent.Bucket([]byte(name))
}

func decode(id string, doc []byte) (*result.Result, error) {
	var r result.Result
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, fmt.Errorf("decode run %s: %w", id, err)
	}
	return &r, nil
}

func timePrefix(t time.Time) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano())^(1<<63))
	return b[:]
}

func indexKey(t time.Time, runID string) []byte {
	return append(timePrefix(t), runID...)
}

// FileSink is a Sink that opens the store at path for each Append and closes it straight
// after, so the file is locked only while one result is written: `drill history`, `due` and
// `report` in another terminal are not blocked by a drill that runs for minutes.
func FileSink(path string) Sink { return fileSink(path) }

type fileSink string

func (p fileSink) Append(ctx context.Context, r *result.Result) error {
	return p.AppendWithScenario(ctx, r, nil)
}

func (p fileSink) AppendWithScenario(ctx context.Context, r *result.Result, text []byte) error {
	s, err := Open(string(p))
	if err != nil {
		return err
	}
	if err := s.AppendWithScenario(ctx, r, text); err != nil {
		s.Close()
		return err
	}
	return s.Close()
}
