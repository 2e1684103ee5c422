package main

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/drillhq/drill/scenarios"
)

// Every fault type this build registers either reverts from its journal record in a new
// process (WithRecover) or declares that it has nothing to undo (WithoutRevert), so no fault a
// killed drill leaves needs a revert by hand.
func TestEveryFaultTypeIsRecoverableOrHasNoRevert(t *testing.T) {
	t.Parallel()
	reg := newRegistry(&app{log: discardLogger(), getenv: func(string) string { return "" }}, registryOptions{})
	names := reg.TypeNames(scenarios.KindFault)
	if len(names) == 0 {
		t.Fatal("no fault types registered")
	}
	for _, name := range names {
		ft, _ := reg.Fault(name)
		if (ft.Recover != nil) == ft.NoRevert {
			t.Errorf("fault type %s: Recover set %v, NoRevert %v; want exactly one (WithRecover or WithoutRevert)", name, ft.Recover != nil, ft.NoRevert)
		}
	}
}

// TestTypeSummariesReadAsSentences: `drill list`, the dry-run plan and the schema show every
// type's summary as a sentence, so all start the same way: a capital letter, or the name of
// etcd, which is written in lower case.
func TestTypeSummariesReadAsSentences(t *testing.T) {
	t.Parallel()
	reg := newRegistry(&app{log: discardLogger(), getenv: func(string) string { return "" }}, registryOptions{})
	for _, d := range reg.Docs() {
		first, _ := utf8.DecodeRuneInString(d.Summary)
		if !unicode.IsUpper(first) && !strings.HasPrefix(d.Summary, "etcd ") {
			t.Errorf("%s %s: summary %q starts in lower case", d.Kind, d.Name, d.Summary)
		}
	}
}
