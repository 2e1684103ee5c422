package history

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/drillhq/drill/result"
)

// corruptStore writes a store with some runs, then overwrites n pages from offset on with junk
// (n 0: to the end; offset 0: none), as a bad disk or a stray write would.
func corruptStore(t *testing.T, offset int64, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if err := s.Append(context.Background(), run(fmt.Sprintf("r%02d", i), "sc", "sys", base, result.VerdictPass)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if offset > 0 {
		damage(t, path, offset, n)
	}
	return path
}

func damage(t *testing.T, path string, offset int64, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	size := int64(n * os.Getpagesize())
	if n == 0 {
		size = fi.Size() - offset
	}
	junk := make([]byte, size)
	for i := range junk {
		junk[i] = 0xA5
	}
	if _, err := f.WriteAt(junk, offset); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptStoreIsAnErrorNotAPanic: with every page but the two meta pages overwritten,
// bbolt panics ("page expected to be 2, but self identifies as ..."); every entry point must
// return an error wrapping ErrCorrupt instead, or a drill's result is lost after the drill ran.
func TestCorruptStoreIsAnErrorNotAPanic(t *testing.T) {
	t.Parallel()
	path := corruptStore(t, 2*int64(os.Getpagesize()), 0)
	ctx := context.Background()
	if err := Check(path); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Check: %v, want ErrCorrupt", err)
	}
	if err := FileSink(path).Append(ctx, run("new", "sc", "sys", base, result.VerdictPass)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("FileSink.Append: %v, want ErrCorrupt", err)
	}
	if s, err := OpenReadOnly(path); err == nil {
		_, err = s.List(ctx, Filter{})
		s.Close()
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("List: %v, want ErrCorrupt", err)
		}
	} else if !errors.Is(err, ErrCorrupt) {
		t.Errorf("OpenReadOnly: %v, want ErrCorrupt", err)
	}
}

// TestCheckFindsDamage: damage to the runs bucket's root page is found by Check, which reads
// every reachable page (an Append may only read the pages on its own path).
func TestCheckFindsDamage(t *testing.T) {
	t.Parallel()
	for _, bucket := range [][]byte{bucketRuns} {
		path := corruptStore(t, 0, 0) // find the bucket's root page first, then damage it
		page := rootPage(t, path, bucket)
		damage(t, path, page*int64(os.Getpagesize()), 1)
		if err := Check(path); !errors.Is(err, ErrCorrupt) {
			t.Errorf("root page %d of %s overwritten: Check = %v, want ErrCorrupt", page, bucket, err)
		}
	}
}

func rootPage(t *testing.T, path string, bucket []byte) int64 {
	t.Helper()
	s, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var root int64
	if err := s.db.View(func(tx *bolt.Tx) error {
		root = int64(tx.Bucket(bucket).Root())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if root < 2 {
		t.Fatalf("bucket %s is inline (root %d): write more runs", bucket, root)
	}
	return root
}

func TestCheckAcceptsHealthyAndMissingStores(t *testing.T) {
	t.Parallel()
	if err := Check(filepath.Join(t.TempDir(), "new", "history.db")); err != nil {
		t.Errorf("Check of a missing store: %v", err)
	}
	s := openTemp(t)
	if err := s.Append(context.Background(), run("a", "sc", "sys", base, result.VerdictPass)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := Check(s.Path()); err != nil {
		t.Errorf("Check of a healthy store: %v", err)
	}
}
