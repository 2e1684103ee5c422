// Package testenv lets tests that need something outside Go (a browser, an emulator, a
// database, a Python package) say so in one way: under CI=true a missing tool fails the test,
// because CI installs everything and a skip there would hide a broken install step; elsewhere
// the test skips and, when DRILL_SKIP_LOG names a file, appends the tool and how to install it
// there. `make test` sets it and prints one line naming everything that was skipped, since
// `go test` shows nothing of a passing package but "ok".
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// SkipLogEnv names the file Need appends skipped tools to, one "tool\tinstall" line each.
const SkipLogEnv = "DRILL_SKIP_LOG"

// InCI reports whether the tests run in CI (CI=true), where every tool must be present.
func InCI() bool { return os.Getenv("CI") == "true" }

// Need stops the test because tool is missing: Fatal under CI=true, Skip otherwise. install
// says how to get it ("make moto"); detail is the error that showed it missing.
func Need(t testing.TB, tool, install, detail string) {
	t.Helper()
	msg := fmt.Sprintf("%s not available (install: %s)", tool, install)
	if detail != "" {
		msg += ": " + detail
	}
	if InCI() {
		t.Fatalf("%s; CI=true requires it", msg)
	}
	if path := os.Getenv(SkipLogEnv); path != "" {
		if err := appendLine(path, tool+"\t"+install); err != nil {
			t.Logf("record skip in %s: %v", path, err)
		}
	}
	t.Skip(msg)
}

// appendLine appends one short line; O_APPEND keeps lines whole when test binaries of several
// packages write at once.
func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
