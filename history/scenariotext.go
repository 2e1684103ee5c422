package history

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/drillhq/drill/result"
)

// The scenario-texts bucket keeps each distinct scenario file a stored run executed, keyed by
// its SHA-256 (the run's scenarioSha256), so an evidence bundle can hold exactly the text of
// every run it carries. A text is written once however many runs share it: runs are many and
// scenario versions few. Runs imported from JSON (`drill history import`) bring no text.
//
// The hash chain does not link the texts: each is named by its own digest, and that digest is
// in the run record, which the chain covers.
var bucketScenarioText = []byte("scenario-texts")

// errTextMismatch is returned when a scenario text does not hash to the run's scenarioSha256.
var errTextMismatch = errors.New("scenario text does not hash to the run's scenarioSha256")

func checkScenarioText(r *result.Result, text []byte) error {
	if text == nil {
		return nil
	}
	sum := sha256.Sum256(text)
	if got := hex.EncodeToString(sum[:]); got != r.ScenarioSHA256 {
		return fmt.Errorf("%w (%s, text hashes to %s)", errTextMismatch, r.ScenarioSHA256, got)
	}
	return nil
}

// putScenarioText stores text under sha unless it is already there; checkScenarioText has
// made sure sha is its digest.
func putScenarioText(tx *bolt.Tx, sha string, text []byte) error {
	if text == nil {
		return nil
	}
	b := tx.Bucket(bucketScenarioText)
	if b.Get([]byte(sha)) != nil {
		return nil
	}
	if err := b.Put([]byte(sha), text); err != nil {
		return fmt.Errorf("store scenario text %s: %w", sha, err)
	}
	return nil
}

// ScenarioText returns the scenario text stored under sha; ok is false when the store holds
// none (an imported run, a run stored before texts were kept, a text holding a secret).
func (s *Store) ScenarioText(ctx context.Context, sha string) (text []byte, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("read scenario text %s from history: %w", sha, err)
	}
	if s.db == nil || sha == "" {
		return nil, false, nil
	}
	defer recoverCorrupt("read scenario text "+sha+" from history", s.path, &err)
	err = s.db.View(func(tx *bolt.Tx) error {
		// A store written by an older drill and opened read-only has no bucket yet.
		b := tx.Bucket(bucketScenarioText)
		if b == nil {
			return nil
		}
		if v := b.Get([]byte(sha)); v != nil {
			text, ok = bytes.Clone(v), true
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("read scenario text %s from history %s: %w", sha, s.path, err)
	}
	return text, ok, nil
}
