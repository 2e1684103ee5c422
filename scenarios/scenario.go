package scenarios

import (
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Keys of each mapping in the scenario format (docs/DESIGN.md §2).
var (
	topKeys       = []string{"version", "name", "description", "system", "owner", "tags", "cadence", "objectives", "environment", "probes", "steadyState", "prepare", "faults", "recovery", "rollback", "limits"}
	objectiveKeys = []string{"rto", "rpo"}
	probeKeys     = []string{"name", "type", "role", "interval", "timeout", "with"}
	stepKeys      = []string{"name", "type", "after", "continueOnError", "with"}
	limitKeys     = []string{"timeout", "observe", "rollback"}

	cadences = []string{"weekly", "monthly", "quarterly", "semiannual", "annual"}
	roles    = []string{RoleAvailability, RoleData, RoleGuard}
)

const (
	// SupportedVersion is the scenario format version this package reads.
	SupportedVersion = 1
	// MaxNameLen keeps scenario names usable as DNS labels, file names and table keys.
	MaxNameLen = 63
)

var nameRE = regexp.MustCompile(`^[a-z0-9-]+$`)

// named records where an entry's name was defined, for the whole-scenario uniqueness check.
type named struct {
	name  string
	path  string     // e.g. probes[1]
	node  *yaml.Node // where the name is written (an alias, possibly)
	val   *yaml.Node // the name's scalar, to recognise one definition reached twice
	entry *yaml.Node // the list item as written (an alias or a << merge, possibly)
}

// scenario walks the root mapping. Every section is read even after errors so that one run
// reports everything.
func (p *parser) scenario(root *yaml.Node) *Scenario {
	s := &Scenario{}
	top := p.fields(root, "", topKeys)
	if top == nil {
		return s
	}
	p.header(s, top, root)
	p.objectives(s, top, root)
	if pr, ok := get(top, "environment"); ok {
		p.environment(s, pr)
	}

	var names []named
	s.Probes = p.probes(top, &names)
	s.Prepare = p.steps(top, "prepare", KindStep, &names)
	s.Faults = p.steps(top, "faults", KindFault, &names)
	s.Recovery = p.steps(top, "recovery", KindStep, &names)
	s.Rollback = p.steps(top, "rollback", KindStep, &names)
	p.uniqueNames(names)

	if pr, ok := get(top, "steadyState"); ok {
		s.SteadyState = p.steadyState(pr, s.Probes, names)
	}
	p.limits(s, top)
	p.timeoutCoversRTO(s)
	p.revertBudgets(s)
	p.requireFaultAndProbe(s, top, root)
	p.rpoSources(s, top)
	return s
}

func (p *parser) header(s *Scenario, top map[string]pair, root *yaml.Node) {
	if pr, ok := get(top, "version"); ok {
		if v, ok := p.integer(pr, "version"); ok {
			if v != SupportedVersion {
				p.errorf(pr.at(), "version", "unsupported version %d; this drill reads version %d", v, SupportedVersion)
			}
			s.Version = v
		}
	} else {
		p.errorf(keyOr(top, "version", root), "version", "is required (write version: %d)", SupportedVersion)
	}

	if pr, ok := get(top, "name"); ok {
		if v, ok := p.str(pr, "name"); ok {
			switch {
			case len(v) > MaxNameLen:
				p.errorf(pr.at(), "name", "must be at most %d characters, got %d", MaxNameLen, len(v))
			case !nameRE.MatchString(v):
				p.errorf(pr.at(), "name", "must contain only lowercase letters, digits and '-', got %s", quote(v))
			}
			s.Name = v
		}
	} else {
		p.errorf(keyOr(top, "name", root), "name", "is required")
	}

	if pr, ok := get(top, "system"); ok {
		if v, ok := p.str(pr, "system"); ok {
			switch {
			case strings.TrimSpace(v) == "":
				p.errorf(pr.at(), "system", "must not be blank")
			case !oneLine(v):
				p.errorf(pr.at(), "system", "must be one line of text without control characters: it titles reports and groups history")
			}
			s.System = v
		}
	} else {
		p.errorf(keyOr(top, "system", root), "system", "is required: name the system under test (history and compliance are grouped by it)")
	}

	if pr, ok := get(top, "description"); ok {
		s.Description, _ = p.str(pr, "description")
	}
	if pr, ok := get(top, "owner"); ok {
		if v, ok := p.str(pr, "owner"); ok {
			if !oneLine(v) {
				p.errorf(pr.at(), "owner", "must be one line of text without control characters: it is shown in reports")
			}
			s.Owner = v
		}
	}
	if pr, ok := get(top, "tags"); ok {
		s.Tags = values(p.strList(pr, "tags"))
	}
	if pr, ok := get(top, "cadence"); ok {
		if v, ok := p.str(pr, "cadence"); ok && p.oneOf(pr.at(), "cadence", v, cadences) {
			s.Cadence = v
		}
	}
}

// keyOr returns the key node of m[key] when the key is present (with a null value), else
// fallback: where a "missing" error should point.
func keyOr(m map[string]pair, key string, fallback *yaml.Node) *yaml.Node {
	if pr, ok := m[key]; ok && pr.key != nil {
		return pr.key
	}
	return fallback
}

func (p *parser) objectives(s *Scenario, top map[string]pair, root *yaml.Node) {
	pr, ok := get(top, "objectives")
	if !ok {
		p.errorf(keyOr(top, "objectives", root), "objectives.rto", "is required: the drill needs an RTO target to judge recovery")
		return
	}
	m := p.fields(pr.at(), "objectives", objectiveKeys)
	if m == nil {
		return
	}
	if rto, ok := get(m, "rto"); ok {
		p.rtoAt = rto.val
		s.Objectives.RTO, _ = p.duration(rto, "objectives.rto")
	} else {
		p.errorf(keyOr(m, "rto", pr.key), "objectives.rto", "is required: the drill needs an RTO target to judge recovery")
	}
	if rpo, ok := get(m, "rpo"); ok {
		if d, ok := p.duration(rpo, "objectives.rpo"); ok {
			s.Objectives.RPO = &d
		}
	}
}

// environment decodes each `environment:` block into the config its backend declared, like a
// `with:` block; the block names are whatever backends are registered.
func (p *parser) environment(s *Scenario, pr pair) {
	m := p.fields(pr.at(), "environment", p.cat.TypeNames(KindEnvironment))
	if m == nil {
		return
	}
	s.Environment = Environment{}
	for _, name := range p.cat.TypeNames(KindEnvironment) {
		block, ok := m[name]
		if !ok {
			continue
		}
		cfg, _ := p.cat.NewConfig(KindEnvironment, name)
		path := "environment." + name
		// A half-decoded block is still validated: its checks are about values that did decode
		// (a lab size, an account ID), so reporting them saves the user a second round.
		if v := p.block(KindEnvironment, name, cfg, block, true, block.key, path, true); v != nil {
			s.Environment[name] = v
		}
	}
}

// CheckURL returns why s is not an absolute http(s) URL, or "" (for configs that take endpoints).
func CheckURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("want a URL like http://127.0.0.1:2379, got %s", quote(s))
	}
	return ""
}

func (p *parser) probes(top map[string]pair, names *[]named) []ProbeSpec {
	pr, ok := get(top, "probes")
	if !ok {
		return nil
	}
	var out []ProbeSpec
	for i, raw := range p.seq(pr, "probes") {
		path := index("probes", i)
		n := deref(raw)
		if !p.entryIsMapping(n, raw, path) {
			continue
		}
		m := p.fields(n, path, probeKeys)
		if m == nil {
			continue
		}
		ps := ProbeSpec{
			Pos:      p.pos(n),
			Role:     RoleAvailability,
			Interval: DefaultProbeInterval,
			Timeout:  DefaultProbeTimeout,
		}
		ps.Name = p.entryName(m, raw, path, names)
		var cfg any
		var typeOK bool
		ps.Type, cfg, typeOK = p.entryType(m, n, path, KindProbe)
		if v, ok := get(m, "role"); ok {
			if role, ok := p.str(v, path+".role"); ok {
				if p.oneOf(v.at(), path+".role", role, roles) && role == RoleData && typeOK {
					p.checkDataRole(v.at(), path+".role", ps.Type)
				}
				ps.Role = role
			}
		}
		if v, ok := get(m, "interval"); ok {
			if d, ok := p.duration(v, path+".interval"); ok {
				if d < MinProbeInterval {
					// Sampling is open-loop: an interval of nanoseconds floods the very
					// system the drill is measuring.
					p.errorf(v.at(), path+".interval", "must be at least %s, got %s", fmtDuration(MinProbeInterval), fmtDuration(d))
				}
				ps.Interval = d
			}
		}
		if v, ok := get(m, "timeout"); ok {
			if d, ok := p.duration(v, path+".timeout"); ok {
				if d <= 0 {
					p.errorf(v.at(), path+".timeout", "must be greater than 0")
				}
				ps.Timeout = d
			}
		}
		if typeOK {
			ps.With = p.with(KindProbe, ps.Type, cfg, m, n, path)
		}
		out = append(out, ps)
	}
	return out
}

// entryIsMapping reports a list item that is not a mapping (a bare "- health", a null).
func (p *parser) entryIsMapping(n, raw *yaml.Node, path string) bool {
	if n != nil && n.Kind == yaml.MappingNode {
		return true
	}
	p.errorf(raw, path, "want a mapping with name and type, got %s", describe(n))
	return false
}

func (p *parser) steps(top map[string]pair, section string, kind Kind, names *[]named) []StepSpec {
	pr, ok := get(top, section)
	if !ok {
		return nil
	}
	var out []StepSpec
	for i, raw := range p.seq(pr, section) {
		path := index(section, i)
		n := deref(raw)
		if !p.entryIsMapping(n, raw, path) {
			continue
		}
		m := p.fields(n, path, stepKeys)
		if m == nil {
			continue
		}
		st := StepSpec{Pos: p.pos(n)}
		st.Name = p.entryName(m, raw, path, names)
		var cfg any
		var typeOK bool
		st.Type, cfg, typeOK = p.entryType(m, n, path, kind)
		if v, ok := get(m, "after"); ok {
			st.After, _ = p.duration(v, path+".after")
		}
		if v, ok := get(m, "continueOnError"); ok {
			if section != "recovery" {
				// Elsewhere a failure already has one meaning: a failed fault or prepare step
				// stops the drill, and every rollback step runs whatever failed before it.
				p.errorf(v.key, path+".continueOnError", "applies to recovery steps only")
			} else {
				st.ContinueOnError, _ = p.boolean(v, path+".continueOnError")
			}
		}
		if typeOK {
			st.With = p.with(kind, st.Type, cfg, m, n, path)
			if kind == KindFault {
				w, has := m["with"]
				p.faultWiths = append(p.faultWiths, faultWith{cfg: st.With, entry: n, with: w, has: has, path: path})
			}
		}
		out = append(out, st)
	}
	return out
}

func (p *parser) entryName(m map[string]pair, entry *yaml.Node, path string, names *[]named) string {
	v, ok := get(m, "name")
	if !ok {
		p.errorf(keyOr(m, "name", entry), path+".name", "is required")
		return ""
	}
	name, ok := p.str(v, path+".name")
	if !ok {
		return ""
	}
	if strings.TrimSpace(name) == "" {
		p.errorf(v.at(), path+".name", "must not be blank")
		return name
	}
	*names = append(*names, named{name: name, path: path, node: v.at(), val: v.val, entry: entry})
	return name
}

// entryType reads `type`, checks it is registered for the section's kind and returns a fresh
// config for its `with:` block.
func (p *parser) entryType(m map[string]pair, entry *yaml.Node, path string, kind Kind) (typ string, cfg any, ok bool) {
	v, ok := get(m, "type")
	if !ok {
		p.errorf(keyOr(m, "type", entry), path+".type", "is required; %s", knownTypes(p.cat, kind))
		return "", nil, false
	}
	typ, ok = p.str(v, path+".type")
	if !ok {
		return "", nil, false
	}
	if cfg, ok = p.cat.NewConfig(kind, typ); !ok {
		p.errorf(v.at(), path+".type", "unknown %s type %s%s (%s)", kind, quote(typ), didYouMean(typ, p.cat.TypeNames(kind)), knownTypes(p.cat, kind))
		return typ, nil, false
	}
	return typ, cfg, true
}

// knownTypes lists the registered types of a kind for an error message.
func knownTypes(cat Catalog, kind Kind) string {
	names := cat.TypeNames(kind)
	if len(names) == 0 {
		return "no " + string(kind) + " types are registered"
	}
	return "known " + string(kind) + " types: " + strings.Join(names, ", ")
}

// with decodes the entry's `with:` block into cfg, the type's fresh config, and validates it.
func (p *parser) with(kind Kind, typ string, cfg any, m map[string]pair, entry *yaml.Node, path string) any {
	w, has := m["with"]
	return p.block(kind, typ, cfg, w, has, entry, path+".with", false)
}

// block decodes one configuration block (a `with:`, an `environment.<name>`) into cfg, a fresh
// config from the catalog, and runs its Validate. validatePartial validates even when decoding
// reported errors.
func (p *parser) block(kind Kind, typ string, cfg any, w pair, has bool, entry *yaml.Node, path string, validatePartial bool) any {
	given := has && !isNull(w.val) && !(w.val.Kind == yaml.MappingNode && len(w.val.Content) == 0)
	if cfg == nil {
		if given {
			p.errorf(w.key, path, "%s type %s takes no with: settings", kind, quote(typ))
		}
		return nil
	}
	if rv := reflect.ValueOf(cfg); rv.Kind() != reflect.Pointer || rv.IsNil() {
		p.errorf(entry, path, "internal error: %s type %s returned a config that is not a non-nil pointer (%T)", kind, quote(typ), cfg)
		return nil
	}
	if has && !isNull(w.val) && (!p.decodeWith(cfg, w.raw, path) || p.hasTainted(w.val)) && !validatePartial {
		// Half-decoded values, or values whose ${VAR} failed: validating them would only add
		// noise to the errors already reported.
		return cfg
	}
	if v, ok := cfg.(Validator); ok {
		for _, fe := range AsFieldErrors(v.Validate()) {
			at := entry
			if has {
				at = w.key
				if found := p.locateField(w.val, fe.Field, fe.AtValue); found != nil {
					at = found
				}
			}
			fpath := path
			if fe.Field != "" {
				fpath = join(path, fe.Field)
			}
			p.errorf(at, fpath, "%s", fe.Msg)
		}
	}
	return cfg
}

// locateField finds the key node (the value node, with atValue) for a FieldError's field ("url",
// "retry.backoff", "targets[1].port") inside a `with:` node, or the deepest part of it that
// exists; nil when not even the first part does.
func (p *parser) locateField(n *yaml.Node, field string, atValue bool) *yaml.Node {
	if field == "" {
		return nil
	}
	var found *yaml.Node
	cur := deref(n)
	for part := range strings.SplitSeq(field, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key != "" {
			next, keyNode := p.lookupKey(cur, key)
			if keyNode == nil {
				return found
			}
			found, cur = keyNode, next
			if atValue && rest == "" && next != nil {
				found = next
			}
		}
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			if !ok {
				return found
			}
			i, err := strconv.Atoi(num)
			if err != nil || cur == nil || cur.Kind != yaml.SequenceNode || i < 0 || i >= len(cur.Content) {
				return found
			}
			cur = deref(cur.Content[i])
			if cur == nil {
				return found
			}
			found = cur
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return found
}

// lookupKey returns the value and key node of key in mapping n (merges included).
func (p *parser) lookupKey(n *yaml.Node, key string) (val, keyNode *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for _, pr := range p.mergePairs(n, "", map[*yaml.Node]bool{}, false) {
		if k := deref(pr.key); k != nil && k.Kind == yaml.ScalarNode && k.Value == key {
			return pr.val, k
		}
	}
	return nil, nil
}

// oneLine reports whether v is a single line without control characters. system and owner end
// up in report headings and table cells, where a newline would start new Markdown blocks.
func oneLine(v string) bool {
	for _, r := range v {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
