package scenarios

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEDefaultsTable keeps the README's defaults table equal to the loader's constants.
func TestREADMEDefaultsTable(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"limits.timeout":    fmtDuration(DefaultTimeout),
		"limits.observe":    fmtDuration(DefaultObserve),
		"limits.rollback":   fmtDuration(DefaultRollbackTimeout),
		"probes[].interval": fmtDuration(DefaultProbeInterval),
		"probes[].timeout":  fmtDuration(DefaultProbeTimeout),
		"probes[].role":     RoleAvailability,
	}
	for key, def := range want {
		row := "| `" + key + "` | " + def + " |"
		if !strings.Contains(string(data), row) {
			t.Errorf("README defaults table lacks %q", row)
		}
	}
}
