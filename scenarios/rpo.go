package scenarios

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// RPOCatalog is optionally implemented by a Catalog that knows which registered types measure
// RPO, as the types declared when they were registered (runner.Registry does). With it the
// loader refuses, before anything is injected, a scenario whose RPO objective nothing could
// measure and a `role: data` on a probe type that cannot be a data probe. A Catalog without it
// (a test stub) skips both checks.
type RPOCatalog interface {
	// DataProbe reports whether a probe type can have role data (it writes sequenced data and
	// reads it back).
	DataProbe(probeType string) bool
	// RestorePoint reports whether a step type reports the recovery point it restored to.
	RestorePoint(stepType string) bool
}

// rpoSources checks that an RPO objective has something to measure it: a data probe, or a
// recovery step that reports a restore point. It runs after probes and steps were read, so it
// stays quiet about entries whose type was already reported unknown.
func (p *parser) rpoSources(s *Scenario, top map[string]pair) {
	rc, ok := p.cat.(RPOCatalog)
	if !ok || s.Objectives.RPO == nil {
		return
	}
	for _, ps := range s.Probes {
		if ps.Role == RoleData && rc.DataProbe(ps.Type) {
			return
		}
	}
	for _, st := range s.Recovery {
		if rc.RestorePoint(st.Type) {
			return
		}
	}
	// An entry with an unknown or missing type may have been the source: that error is enough.
	for _, ps := range s.Probes {
		if _, known := p.cat.NewConfig(KindProbe, ps.Type); !known {
			return
		}
	}
	for _, st := range s.Recovery {
		if _, known := p.cat.NewConfig(KindStep, st.Type); !known {
			return
		}
	}
	at := rpoNode(top)
	if at == nil {
		return
	}
	p.errorf(at, "objectives.rpo", "nothing measures it: add a probe with role: data (%s) or a recovery step that restores from a backup (%s), or remove the objective",
		orNone(dataProbeTypes(p.cat, rc)), orNone(restorePointTypes(p.cat, rc)))
}

// checkDataRole reports `role: data` on a probe type that cannot be a data probe.
func (p *parser) checkDataRole(at *yaml.Node, path, typ string) {
	rc, ok := p.cat.(RPOCatalog)
	if !ok || rc.DataProbe(typ) {
		return
	}
	p.errorf(at, path, "probe type %s cannot be a data probe (types that can: %s)", quote(typ), orNone(dataProbeTypes(p.cat, rc)))
}

func dataProbeTypes(cat Catalog, rc RPOCatalog) []string {
	var out []string
	for _, n := range cat.TypeNames(KindProbe) {
		if rc.DataProbe(n) {
			out = append(out, n)
		}
	}
	return out
}

func restorePointTypes(cat Catalog, rc RPOCatalog) []string {
	var out []string
	for _, n := range cat.TypeNames(KindStep) {
		if rc.RestorePoint(n) {
			out = append(out, n)
		}
	}
	return out
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none registered"
	}
	return strings.Join(names, ", ")
}

// rpoNode finds the objectives.rpo value, already read by objectives, to point an error at.
func rpoNode(top map[string]pair) *yaml.Node {
	pr, ok := get(top, "objectives")
	if !ok {
		return nil
	}
	n := deref(pr.val)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "rpo" {
			return n.Content[i+1]
		}
	}
	return pr.at()
}
