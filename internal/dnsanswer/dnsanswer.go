// Package dnsanswer judges a DNS answer against the values a drill expects, for the probes
// that read an answer (the dns probe, the Route 53 record probe).
package dnsanswer

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// normalize lower-cases values and drops a trailing dot so DNS answers compare as names.
func normalize(vs []string) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), "."))
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// Match reports whether a DNS answer is non-empty and names only expected values;
// with no expectation any answer will do. Answering only the expected targets is what "the
// name points at the DR site" means: a stale primary in the answer is a failure.
func Match(answer, expect []string) error {
	got := normalize(answer)
	if len(got) == 0 {
		return fmt.Errorf("empty answer")
	}
	if len(expect) == 0 {
		return nil
	}
	want := normalize(expect)
	var unexpected []string
	for _, g := range got {
		if !slices.Contains(want, g) {
			unexpected = append(unexpected, g)
		}
	}
	if len(unexpected) > 0 {
		return fmt.Errorf("answers %s, want %s", strings.Join(got, ","), strings.Join(want, ","))
	}
	return nil
}
