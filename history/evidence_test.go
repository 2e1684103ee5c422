package history

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/drillhq/drill/result"
)

// seeded is a store with three runs (one failing, so one finding), a sign-off and a closed-out
// finding update: every kind of record the chain covers.
func seeded(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	fail := run("r2", "scn", "sys", base.Add(time.Hour), result.VerdictFail)
	fail.Reason = "RTO 14s exceeds target 10s"
	for _, r := range []*result.Result{run("r1", "scn", "sys", base, result.VerdictPass), fail, run("r3", "scn", "sys", base.Add(2*time.Hour), result.VerdictPass)} {
		if err := s.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddSignOff(ctx, SignOff{RunID: "r1", By: "alice", Role: "DR coordinator", At: base.Add(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateFinding(ctx, "F-0001", func(f *Finding) error { f.Owner = "bob"; return nil }); err != nil {
		t.Fatal(err)
	}
	return path
}

func tamper(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func verify(t *testing.T, path string) Verification {
	t.Helper()
	s, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := s.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFindingsOpenAndRetest(t *testing.T) {
	t.Parallel()
	s, err := OpenReadOnly(seeded(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fs, err := s.Findings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 {
		t.Fatalf("findings %+v, want one for the failing run", fs)
	}
	f := fs[0]
	if f.ID != "F-0001" || f.RunID != "r2" || f.Status != FindingOpen || f.Owner != "bob" || !strings.Contains(f.What, "RTO 14s") {
		t.Errorf("finding %+v", f)
	}
	if f.Retest == nil || f.Retest.RunID != "r3" || f.Retest.Result != "passed" {
		t.Errorf("retest %+v, want r3 passed (r1 passed before the failure and must not count)", f.Retest)
	}
	sos, err := s.SignOffs(context.Background())
	if err != nil || len(sos["r1"]) != 1 || sos["r1"][0].By != "alice" {
		t.Errorf("sign-offs %+v %v", sos, err)
	}
}

func TestSignOffNeedsAStoredRun(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	if err := s.AddSignOff(context.Background(), SignOff{RunID: "nope", By: "a"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("sign-off of an unknown run: %v", err)
	}
}

func TestVerifyChain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper func(tx *bolt.Tx) error
		want   string // fragment of Broken; "" = intact
	}{
		{"untouched", nil, ""},
		{"run edited", func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketRuns)
			doc := bytes.Replace(b.Get([]byte("r2")), []byte(`"fail"`), []byte(`"pass"`), 1)
			return b.Put([]byte("r2"), doc)
		}, "run r2 (link 2): stored content changed"},
		{"run deleted", func(tx *bolt.Tx) error { return tx.Bucket(bucketRuns).Delete([]byte("r2")) }, "run r2 (link 2): recorded in the chain but no longer stored"},
		{"run added without chain", func(tx *bolt.Tx) error { return tx.Bucket(bucketRuns).Put([]byte("r9"), []byte(`{}`)) }, "run r9 is not in the hash chain"},
		{"sign-off edited", func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketSignOffs)
			k, v := b.Cursor().First()
			return b.Put(k, bytes.Replace(v, []byte("alice"), []byte("mallory"), 1))
		}, "signoff r1#1"},
		{"finding edited", func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketFindings)
			return b.Put([]byte("F-0001"), bytes.Replace(b.Get([]byte("F-0001")), []byte(`"open"`), []byte(`"closed"`), 1))
		}, "finding F-0001"},
		{"link removed", func(tx *bolt.Tx) error { return tx.Bucket(bucketChain).Delete(seqKey(3)) }, "link 4: expected link 3 here"},
		{"link rewritten", func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketChain)
			return b.Put(seqKey(2), bytes.Replace(b.Get(seqKey(2)), []byte(`"r2"`), []byte(`"rX"`), 1))
		}, "link 2 (run rX): its own hash does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := seeded(t)
			if tt.tamper != nil {
				tamper(t, path, tt.tamper)
			}
			v := verify(t, path)
			if tt.want == "" {
				if !v.Intact() || v.Links == 0 || v.Head == "" {
					t.Errorf("untouched store: %+v", v)
				}
				return
			}
			if v.Intact() || !strings.Contains(v.Broken, tt.want) {
				t.Errorf("broken %q, want it to name %q", v.Broken, tt.want)
			}
		})
	}
}

// A store written before the chain existed opens, and its runs are adopted on the first write.
func TestVerifyLegacyStoreIsAdopted(t *testing.T) {
	t.Parallel()
	path := seeded(t)
	tamper(t, path, func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketChain, bucketSignOffs, bucketFindings} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Delete(chainSinceKey)
	})
	if v := verify(t, path); !v.Intact() || v.Note == "" || v.Links != 0 {
		t.Errorf("legacy store before any write: %+v, want intact with a note", v)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(context.Background(), run("r4", "scn", "sys", base.Add(5*time.Hour), result.VerdictPass)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	v := verify(t, path)
	if !v.Intact() || v.Adopted != 3 || v.Links != 4 || v.Since.IsZero() {
		t.Errorf("after the first write: %+v, want 3 adopted runs and r4 linked", v)
	}
}
