package reporters

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	err := WriteFileAtomic(path, func(w io.Writer) error {
		_, err := io.WriteString(w, "complete report\n")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "complete report\n" {
		t.Fatalf("content %q, %v", got, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Owner-only: a report is never made readable by others behind the user's back (before,
	// it was chmod-ed to 0644 even under umask 077).
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("mode %v, want owner-only (0600 or stricter)", fi.Mode().Perm())
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"report.json"}) {
		t.Errorf("directory holds %v, want only report.json", names)
	}
}

func TestWriteFileAtomicFailureKeepsOldFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "junit.xml")
	if err := os.WriteFile(path, []byte("old report"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFileAtomic(path, func(w io.Writer) error {
		// More than bufio's buffer, so part of it really reaches the temporary file.
		if _, err := w.Write(make([]byte, 64<<10)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want it to wrap %v", err, boom)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "old report" {
		t.Errorf("old file changed to %d bytes", len(got))
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"junit.xml"}) {
		t.Errorf("directory holds %v, want only junit.xml", names)
	}
}

func TestWriteFileAtomicPanicLeavesNoTempFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic was swallowed")
			}
		}()
		_ = WriteFileAtomic(filepath.Join(dir, "r.json"), func(w io.Writer) error {
			_, _ = io.WriteString(w, "half")
			panic("writer bug")
		})
	}()
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("directory holds %v, want nothing", names)
	}
}

func TestWriteFileAtomicMissingDir(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "no-such-dir", "r.json")
	called := false
	err := WriteFileAtomic(path, func(io.Writer) error { called = true; return nil })
	if err == nil || called {
		t.Errorf("got err=%v called=%v, want an error before writing", err, called)
	}
}

func TestWriteFileAtomicRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := WriteFileAtomic("r.json", func(w io.Writer) error {
		_, err := io.WriteString(w, "{}")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"r.json"}) {
		t.Errorf("directory holds %v", names)
	}
}

// A report replacing a world-readable file must not inherit its mode.
func TestWriteFileAtomicReplacesWithOwnerOnly(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&^0o600 != 0 {
		t.Errorf("mode %v after replacing a 0644 file, want 0600 or stricter", fi.Mode().Perm())
	}
}
