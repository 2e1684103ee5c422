// Package awsprobe holds the AWS probes: EC2 instance and volume states, auto-scaling
// InService capacity, Route 53 health checks and records, RDS instance status, DRS
// replication, and plain DNS. One file per type; cmd/drill registers them.
//
// Check may be called concurrently (the runner samples open-loop) and gets the sample's
// deadline in ctx. Against an emulator some probes read the next-most-real source, as their
// docs say (moto does not evaluate health checks nor answer TestDNSAnswer).
package awsprobe

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/drillhq/drill/faults/awsfault"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// configOf unpacks a probe's decoded `with:` struct and validates it again (a spec built in
// code never went through the loader).
func configOf[T any](spec scenarios.ProbeSpec) (*T, error) {
	cfg, ok := spec.With.(*T)
	if !ok || cfg == nil {
		var zero T
		return nil, fmt.Errorf("probe %s: want *%T, got %T", spec.Name, zero, spec.With)
	}
	if v, ok := any(cfg).(scenarios.Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, fmt.Errorf("probe %s: %w", spec.Name, err)
		}
	}
	return cfg, nil
}

func clientsOf(env *runner.Env) (*awsfault.Clients, error) { return awsfault.ClientsFrom(env) }

// validateSelector checks targets used to count resources: selection modes make no sense there.
func validateSelector(t awsfault.Targets, field string) error {
	if err := t.Validate(field); err != nil {
		return err
	}
	if !t.Select.IsAll() {
		return scenarios.FieldErrorf(field+".select", "not used by a probe: every match is counted")
	}
	return nil
}

// normalize lower-cases values and drops a trailing dot so DNS answers compare as names.
func normalize(vs []string) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), "."))
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// answerMatches reports whether a DNS answer is non-empty and names only expected values;
// with no expectation any answer will do. Answering only the expected targets is what "the
// name points at the DR site" means: a stale primary in the answer is a failure.
func answerMatches(answer, expect []string) error {
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
