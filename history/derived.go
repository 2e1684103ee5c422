package history

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/drillhq/drill/result"
)

// A derivedIndex is a bucket computed from the runs (the per-scenario summary, the row index):
// written in the same transaction as each run and counted in meta, so a store that a drill
// without it appended to is recognised by the count differing from the number of runs, and
// Open rebuilds it.
type derivedIndex struct {
	name     string // in errors: "summary", "row index"
	bucket   []byte
	countKey []byte // in meta: how many runs the bucket covers (big-endian uint64)
	// onePerRun: the bucket holds one key per run, so its key count must match too.
	onePerRun bool
	// add puts run r, stored under the time-index key key, into the bucket.
	add func(tx *bolt.Tx, key []byte, r *result.Result) error
}

var (
	summaryIndex = derivedIndex{name: "summary", bucket: bucketSummary, countKey: summaryRunsKey,
		add: func(tx *bolt.Tx, _ []byte, r *result.Result) error { return summarise(tx, r) }}
	rowIndex = derivedIndex{name: "row index", bucket: bucketRows, countKey: rowsRunsKey, onePerRun: true,
		add: func(tx *bolt.Tx, key []byte, r *result.Result) error { return putRow(tx, r, key) }}
)

// put adds r to the index and counts it.
func (d derivedIndex) put(tx *bolt.Tx, key []byte, r *result.Result) error {
	if err := d.add(tx, key, r); err != nil {
		return err
	}
	meta := tx.Bucket(bucketMeta)
	n, _ := d.count(meta)
	return meta.Put(d.countKey, binary.BigEndian.AppendUint64(nil, n+1))
}

func (d derivedIndex) count(meta *bolt.Bucket) (uint64, bool) {
	v := meta.Get(d.countKey)
	if len(v) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

// current reports whether the index covers exactly the stored runs.
func (d derivedIndex) current(tx *bolt.Tx) bool {
	meta, idx, b := tx.Bucket(bucketMeta), tx.Bucket(bucketTime), tx.Bucket(d.bucket)
	if meta == nil || idx == nil || b == nil {
		return false
	}
	n, ok := d.count(meta)
	// Stats walks the index's pages, not the run documents: milliseconds for 50k runs.
	return ok && n == uint64(idx.Stats().KeyN) && (!d.onePerRun || n == uint64(b.Stats().KeyN))
}

// ensure rebuilds the index from every run when it is missing or out of date.
func (d derivedIndex) ensure(tx *bolt.Tx) error {
	if d.current(tx) {
		return nil
	}
	if tx.Bucket(d.bucket) != nil {
		if err := tx.DeleteBucket(d.bucket); err != nil {
			return fmt.Errorf("rebuild %s: %w", d.name, err)
		}
	}
	if _, err := tx.CreateBucket(d.bucket); err != nil {
		return fmt.Errorf("rebuild %s: %w", d.name, err)
	}
	if err := tx.Bucket(bucketMeta).Put(d.countKey, binary.BigEndian.AppendUint64(nil, 0)); err != nil {
		return fmt.Errorf("rebuild %s: %w", d.name, err)
	}
	runs := tx.Bucket(bucketRuns)
	// Walk the time index, not the runs bucket, so the count matches what current checks.
	return tx.Bucket(bucketTime).ForEach(func(k, _ []byte) error {
		r, err := indexedRun(runs, k)
		if err != nil {
			return fmt.Errorf("rebuild %s: %w", d.name, err)
		}
		return d.put(tx, bytes.Clone(k), r)
	})
}
