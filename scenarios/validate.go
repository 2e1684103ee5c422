package scenarios

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// uniqueNames reports every name used twice anywhere in the scenario. Probes, faults and
// steps share one namespace because reports, events and references (steadyState, a recovery
// step naming the fault it undoes) use bare names. The later definition in the file is the
// one reported.
func (p *parser) uniqueNames(names []named) {
	sorted := slices.Clone(names)
	slices.SortStableFunc(sorted, func(a, b named) int {
		return cmp.Or(cmp.Compare(a.entry.Line, b.entry.Line), cmp.Compare(a.entry.Column, b.entry.Column))
	})
	first := map[string]named{}
	for _, n := range sorted {
		f, dup := first[n.name]
		if !dup {
			first[n.name] = n
			continue
		}
		// An entry that repeats another through an alias or a merge shares its name node;
		// point at the repeating entry instead.
		at := n.node
		if deref(n.node) == deref(f.node) {
			at = n.entry
		}
		p.errorf(at, n.path+".name", "duplicate name %s: already used by %s at line %d", quote(n.name), f.path, f.node.Line)
	}
}

// steadyState checks that each entry names a probe.
func (p *parser) steadyState(pr pair, probes []ProbeSpec, names []named) []string {
	items := p.strList(pr, "steadyState")
	var probeNames []string
	isProbe := map[string]bool{}
	for _, ps := range probes {
		if ps.Name != "" {
			probeNames = append(probeNames, ps.Name)
			isProbe[ps.Name] = true
		}
	}
	isName := map[string]bool{}
	for _, n := range names {
		isName[n.name] = true
	}
	seen := map[string]bool{}
	for _, it := range items {
		v, at, path := it.value, it.node, it.path
		switch {
		case isProbe[v]:
			if seen[v] {
				p.errorf(at, path, "probe %s is listed twice", quote(v))
			}
			seen[v] = true
		case isName[v]:
			p.errorf(at, path, "%s is not a probe; steadyState lists probes that must pass before and after the drill", quote(v))
		case len(probeNames) == 0:
			p.errorf(at, path, "%s is not a probe (the scenario defines no probes)", quote(v))
		default:
			p.errorf(at, path, "%s is not a probe%s (probes: %s)", quote(v), didYouMean(v, probeNames), listSome(probeNames))
		}
	}
	return values(items)
}

func (p *parser) limits(s *Scenario, top map[string]pair) {
	s.Limits = Limits{Timeout: DefaultTimeout, Observe: DefaultObserve, Rollback: DefaultRollbackTimeout}
	pr, ok := get(top, "limits")
	if !ok {
		return
	}
	m := p.fields(pr.at(), "limits", limitKeys)
	if m == nil {
		return
	}
	timeoutOK, observeOK := true, true
	var timeoutNode, observeNode *yaml.Node
	if v, ok := get(m, "timeout"); ok {
		timeoutNode, p.timeoutAt = v.val, v.val
		if d, ok := p.duration(v, "limits.timeout"); ok {
			s.Limits.Timeout = d
		} else {
			timeoutOK = false
		}
	}
	if v, ok := get(m, "observe"); ok {
		observeNode = v.val
		if d, ok := p.duration(v, "limits.observe"); ok {
			s.Limits.Observe = d
		} else {
			observeOK = false
		}
	}
	if v, ok := get(m, "rollback"); ok {
		if d, ok := p.duration(v, "limits.rollback"); ok {
			if d <= 0 {
				p.errorf(v.at(), "limits.rollback", "must be greater than 0: rollback needs time to run")
			}
			s.Limits.Rollback = d
		}
	}
	if timeoutOK && observeOK && s.Limits.Timeout <= s.Limits.Observe {
		at := timeoutNode
		if at == nil {
			at = observeNode
		}
		p.errorf(at, "limits", "limits.timeout (%s) must be longer than limits.observe (%s)",
			fmtDuration(s.Limits.Timeout), fmtDuration(s.Limits.Observe))
	}
}

// timeoutCoversRTO: limits.timeout bounds the whole drill, so one no longer than the RTO cuts
// off a recovery that meets the objective and fails the drill for it. Easy to miss with the
// default (10m) and an RTO of 15m; the error then points at the RTO.
func (p *parser) timeoutCoversRTO(s *Scenario) {
	if s.Objectives.RTO <= 0 || s.Limits.Timeout > s.Objectives.RTO {
		return
	}
	at, which := p.timeoutAt, ""
	if at == nil {
		at, which = p.rtoAt, " (the default)"
	}
	p.errorf(at, "limits.timeout", "%s%s must be longer than objectives.rto (%s): a recovery within the RTO would be cut off and fail the drill",
		fmtDuration(s.Limits.Timeout), which, fmtDuration(s.Objectives.RTO))
}

// requireFaultAndProbe enforces what makes a drill measure anything: a fault to inject and an
// availability probe to time the recovery.
func (p *parser) requireFaultAndProbe(s *Scenario, top map[string]pair, root *yaml.Node) {
	faults, hasFaults := top["faults"]
	switch {
	case !hasFaults:
		p.errorf(root, "faults", "at least one fault is required (a drill without a fault measures nothing)")
	case isNull(faults.val) || (faults.val.Kind == yaml.SequenceNode && len(faults.val.Content) == 0):
		p.errorf(faults.key, "faults", "at least one fault is required (a drill without a fault measures nothing)")
	}
	if !hasFaults || isNull(faults.val) || faults.val.Kind != yaml.SequenceNode || len(faults.val.Content) == 0 {
		return
	}
	for _, ps := range s.Probes {
		// A misspelt role has been reported already; do not also claim there is no probe.
		if ps.Role == RoleAvailability || !contains(roles, ps.Role) {
			return
		}
	}
	probes, hasProbes := top["probes"]
	if !hasProbes {
		p.errorf(root, "probes", "at least one availability probe is required to measure RTO")
		return
	}
	// Entries that failed to parse may have been availability probes; only complain when
	// every entry was read.
	if n := probes.val; n != nil && n.Kind == yaml.SequenceNode && len(n.Content) != len(s.Probes) {
		return
	}
	p.errorf(probes.key, "probes", "at least one availability probe is required to measure RTO")
}

// listSome joins names for a message, eliding the middle of a very long list.
func listSome(names []string) string {
	const limit = 20
	if len(names) <= limit {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:limit], ", ") + fmt.Sprintf(", … (%d more)", len(names)-limit)
}

// faultWith is one fault's decoded `with:` block and where it is written.
type faultWith struct {
	cfg   any
	entry *yaml.Node
	with  pair
	has   bool
	path  string
}

// revertBudgets rejects a fault whose type declares a revert time limit longer than
// limits.rollback. Checked here rather than before running so the error points at the key and
// `drill validate` reports it: rollback is the one phase that must never run out of time
// because of the scenario's own settings.
func (p *parser) revertBudgets(s *Scenario) {
	for _, fw := range p.faultWiths {
		rb, ok := fw.cfg.(RevertBounded)
		if !ok {
			continue
		}
		d, field := rb.RevertTimeout()
		if d <= s.Limits.Rollback {
			continue
		}
		at, path := fw.entry, fw.path+".with"
		if fw.has {
			at = fw.with.key
			if found := p.locateField(fw.with.val, field, true); found != nil {
				at = found
			}
		}
		if field != "" {
			path = join(path, field)
		}
		p.errorf(at, path, "revert time limit %s exceeds limits.rollback (%s): rollback could not give the revert that long; raise limits.rollback or lower %s",
			fmtDuration(d), fmtDuration(s.Limits.Rollback), field)
	}
}
