package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNeedRecordsTheSkip(t *testing.T) {
	t.Setenv("CI", "")
	log := filepath.Join(t.TempDir(), "skips")
	t.Setenv(SkipLogEnv, log)
	t.Run("needs", func(t *testing.T) { Need(t, "chromium", "apt-get install chromium", "not on PATH") })
	data, err := os.ReadFile(log)
	if err != nil || string(data) != "chromium\tapt-get install chromium\n" {
		t.Errorf("skip log %q (%v)", data, err)
	}
}
