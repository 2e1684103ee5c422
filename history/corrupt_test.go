package history

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/drillhq/drill/result"
)

// corruptStore writes a store with some runs, then overwrites the page at offset with junk,
// as a bad disk or a stray write would.
func corruptStore(t *testing.T, offset int64) string {
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
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, os.Getpagesize())
	for i := range junk {
		junk[i] = 0xA5
	}
	if _, err := f.WriteAt(junk, offset); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCorruptStoreIsAnErrorNotAPanic: bbolt panics on this damage ("page expected to be 2");
// every entry point must return an error wrapping ErrCorrupt instead, or a drill's result is
// lost after the drill ran.
func TestCorruptStoreIsAnErrorNotAPanic(t *testing.T) {
	t.Parallel()
	path := corruptStore(t, 2*int64(os.Getpagesize()))
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

// TestCheckFindsDamage: damage an Append would not notice is still found by Check,
// which reads every page.
func TestCheckFindsDamage(t *testing.T) {
	t.Parallel()
	page := int64(os.Getpagesize())
	for _, off := range []int64{3 * page, 4 * page, 5 * page} {
		path := corruptStore(t, off)
		if err := Check(path); !errors.Is(err, ErrCorrupt) {
			t.Errorf("page %d overwritten: Check = %v, want ErrCorrupt", off/page, err)
		}
	}
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
