package pglab

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// A $DRILL_PG_BINDIR that holds no server binaries is reported as such, with what to do.
func TestFindBinDirBadEnvSaysWhatToDo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nothing")
	t.Setenv(EnvBinDir, dir)
	_, err := FindBinDir(t.Context(), "")
	if !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("err = %v, want ErrNoBinaries", err)
	}
	for _, w := range []string{EnvBinDir, dir, "unset it", "make deps"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q does not mention %q", err, w)
		}
	}
}
