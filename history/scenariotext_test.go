package history

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/drillhq/drill/result"
)

func shaOf(text []byte) string {
	sum := sha256.Sum256(text)
	return hex.EncodeToString(sum[:])
}

// storedTexts counts the keys of the scenario-texts bucket.
func storedTexts(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	err = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketScenarioText).ForEach(func(k, v []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestScenarioTextStoredOncePerDigest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	v1 := []byte("version: 1\nname: sc\n# first\n")
	v2 := []byte("version: 1\nname: sc\n# second\n")
	withText := func(id string, at time.Time, text []byte) *result.Result {
		r := run(id, "sc", "sys", at, result.VerdictPass)
		r.ScenarioSHA256 = shaOf(text)
		return r
	}
	sink := FileSink(path)
	for i, a := range []struct {
		r    *result.Result
		text []byte
	}{
		{withText("r1", base, v1), v1},
		{withText("r2", base.Add(time.Hour), v1), v1},
		{withText("r3", base.Add(2*time.Hour), v2), v2},
		{withText("r3", base.Add(2*time.Hour), v2), v2}, // a retry: no-op
	} {
		if err := sink.AppendWithScenario(ctx, a.r, a.text); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if n := storedTexts(t, path); n != 2 {
		t.Errorf("%d texts stored for 3 runs of 2 versions, want 2", n)
	}
	s, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, want := range [][]byte{v1, v2} {
		got, ok, err := s.ScenarioText(ctx, shaOf(want))
		if err != nil || !ok || string(got) != string(want) {
			t.Errorf("ScenarioText(%s) = %q, %v, %v; want %q", shaOf(want), got, ok, err, want)
		}
	}
	if got, ok, err := s.ScenarioText(ctx, shaOf([]byte("never stored"))); ok || got != nil || err != nil {
		t.Errorf("ScenarioText of an unknown digest = %q, %v, %v; want nothing", got, ok, err)
	}
}

func TestScenarioTextMismatchStoresNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := run("r1", "sc", "sys", base, result.VerdictPass)
	r.ScenarioSHA256 = shaOf([]byte("what ran"))
	if err := s.AppendWithScenario(ctx, r, []byte("something else")); !errors.Is(err, errTextMismatch) {
		t.Fatalf("AppendWithScenario with a text of another digest: %v, want errTextMismatch", err)
	}
	if _, ok, _ := s.Get(ctx, "r1"); ok {
		t.Error("run stored although its text was refused")
	}
	// Append keeps the run alone, as an imported run is kept.
	if err := s.Append(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.ScenarioText(ctx, r.ScenarioSHA256); ok || err != nil {
		t.Errorf("a run appended without text has a text (%v, %v)", ok, err)
	}
}

// TestScenarioTextOlderStore: a store written before texts were kept has no bucket; read
// only, it answers "no text", and opened for writing it gains the bucket.
func TestScenarioTextOlderStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketScenarioText) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := ro.ScenarioText(ctx, shaOf([]byte("x"))); ok || err != nil {
		t.Errorf("older store read only: %v, %v; want no text and no error", ok, err)
	}
	ro.Close()
	text := []byte("x")
	r := run("r1", "sc", "sys", base, result.VerdictPass)
	r.ScenarioSHA256 = shaOf(text)
	if err := FileSink(path).AppendWithScenario(ctx, r, text); err != nil {
		t.Fatal(err)
	}
	if n := storedTexts(t, path); n != 1 {
		t.Errorf("%d texts after appending to an older store, want 1", n)
	}
}
