package runner

import "github.com/drillhq/drill/scenarios"

// Summary returns the one-line summary a type or environment block was registered with, or ""
// when nothing of that kind and name is registered.
func (r *Registry) Summary(kind scenarios.Kind, name string) string {
	switch kind {
	case scenarios.KindFault:
		return r.faults[name].Summary
	case scenarios.KindStep:
		return r.steps[name].Summary
	case scenarios.KindProbe:
		return r.probes[name].Summary
	case scenarios.KindEnvironment:
		return r.environments[name].Summary
	}
	return ""
}
