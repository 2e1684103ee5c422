// Package testenv lets tests that need something outside Go (a browser, an emulator, a
// database, a Python package) say so in one way: under CI=true a missing tool fails the test,
// because CI installs everything and a skip there would hide a broken install step; elsewhere
// the test skips, and the package's TestMain prints one line naming what was skipped and how
// to install it, so a plain `make test` does not pass silently with half the suite unrun.
package testenv

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// skipped collects, per test binary, what was missing. It is package state on purpose: the
// summary is about the whole test binary, which only TestMain sees, and tests cannot be
// handed a value by TestMain.
var skipped = struct {
	sync.Mutex
	byTool map[string]string // tool -> how to install it
}{byTool: map[string]string{}}

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
	skipped.Lock()
	skipped.byTool[tool] = install
	skipped.Unlock()
	t.Skip(msg)
}

// Main runs the tests, removes dirs afterwards (build output the tests share), prints the
// summary of skipped tools to w, and returns the exit code for os.Exit.
func Main(m *testing.M, w io.Writer, cleanup ...func()) int {
	code := m.Run()
	for _, c := range cleanup {
		c()
	}
	if line := Summary(); line != "" {
		fmt.Fprintln(w, line)
	}
	return code
}

// Summary is one line naming what was skipped and how to install it, or "".
func Summary() string {
	skipped.Lock()
	defer skipped.Unlock()
	if len(skipped.byTool) == 0 {
		return ""
	}
	var parts []string
	for tool, install := range skipped.byTool {
		parts = append(parts, fmt.Sprintf("%s (%s)", tool, install))
	}
	slices.Sort(parts)
	return "SKIPPED tests needing: " + strings.Join(parts, "; ")
}
