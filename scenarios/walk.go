package scenarios

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// parser walks a yaml.Node tree itself instead of decoding into structs, because only the
// tree knows where each value came from and only a walker can keep going after the first
// problem to report all of them.
type parser struct {
	file      string
	src       []byte
	cat       Catalog
	lookupEnv func(string) (string, bool)
	errs      []Error
	// secrets are the environment values expanded so far that must not reach any output.
	secrets []string
	// rawLookupEnv is lookupEnv without the recording, for $NAME references left to the shell.
	rawLookupEnv func(string) (string, bool)
	// faultWiths remembers each fault's decoded `with:` and where it is written, for checks
	// that need limits, which are read after the faults.
	faultWiths []faultWith
	// rtoAt and timeoutAt are where objectives.rto and limits.timeout are written (nil when
	// absent), for the check that one covers the other, made once both are read.
	rtoAt, timeoutAt *yaml.Node

	// lineStarts indexes src by line, built on first use.
	lineStarts []int
	// tainted marks scalars whose ${VAR} expansion failed; that error is enough, so later
	// checks of the same value stay quiet.
	tainted map[*yaml.Node]bool
	// merged memoizes the flattened entries of mappings used as `<<` merge sources.
	merged map[*yaml.Node][]pair
	// mergeWork counts keys copied by merges: each mapping of a chain a1 <- a2 <- ... holds
	// all keys before it, so a long chain is quadratic in time and memory without a bound.
	mergeWork int
	overMerge bool
	// structs caches the key layout of `with:` config types.
	structs map[reflect.Type]*structInfo
	// work counts nodes visited while decoding `with:` blocks; aliases can make a small file
	// describe an exponentially large tree, and the budget stops that.
	work     int
	overWork bool
}

// maxWork bounds the nodes visited while decoding `with:` blocks (alias expansion included).
const maxWork = 1_000_000

// maxMergeWork bounds the keys `<<` merges may copy in one file; real scenarios copy dozens.
const maxMergeWork = 100_000

// maxAliasChain bounds how many aliases are followed in a row; yaml.v3 never builds chains
// (an alias points at a node, not at another alias) but the walker does not rely on that.
const maxAliasChain = 64

func (p *parser) pos(n *yaml.Node) Position {
	if n == nil || n.Line <= 0 {
		return Position{File: p.file, Line: 1, Column: 1}
	}
	return Position{File: p.file, Line: n.Line, Column: max(n.Column, 1)}
}

// errorf records a problem at node n.
func (p *parser) errorf(n *yaml.Node, path, format string, args ...any) {
	if n != nil && (p.tainted[n] || p.tainted[deref(n)]) {
		return
	}
	p.errs = append(p.errs, Error{Pos: p.pos(n), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// deref follows aliases to the node they name; nil when there is nothing there.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i == maxAliasChain {
			return nil
		}
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent or an explicit null (~, null, or nothing after the colon).
func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names what a node holds, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	switch {
	case isNull(n):
		return "null"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		return quote(n.Value)
	default:
		return "a " + kindName(n)
	}
}

// quote quotes a user value for a message, shortened so a huge value cannot flood the output.
func quote(s string) string {
	const limit = 40
	if utf8.RuneCountInString(s) > limit {
		r := []rune(s)
		s = string(r[:limit]) + "…"
	}
	return strconv.Quote(s)
}

// pair is one key/value of a mapping. val is dereferenced (nil for a null alias); raw is the
// value as written, so a problem with an aliased value points at the alias.
type pair struct {
	key *yaml.Node
	val *yaml.Node
	raw *yaml.Node
}

// at is where a problem with the value is reported.
func (pr pair) at() *yaml.Node {
	if pr.raw != nil {
		return pr.raw
	}
	return pr.val
}

// pairs lists a mapping's entries with `<<` merges applied the way yaml.v3 applies them:
// explicit keys win over merged ones, earlier merge sources win over later ones. Duplicate
// explicit keys are reported.
func (p *parser) pairs(n *yaml.Node, path string) []pair {
	return p.mergePairs(n, path, map[*yaml.Node]bool{}, true)
}

func (p *parser) mergePairs(n *yaml.Node, path string, visiting map[*yaml.Node]bool, report bool) (out []pair) {
	if n == nil || n.Kind != yaml.MappingNode || visiting[n] {
		return nil
	}
	// Merge sources are memoized: a chain of mappings that each merge the previous one ten
	// times would otherwise take exponential time (a "billion laughs" made of << keys).
	if !report {
		if memo, ok := p.merged[n]; ok {
			return memo
		}
		defer func() { p.merged[n] = out }()
	}
	visiting[n] = true
	defer delete(visiting, n)

	seen := map[string]*yaml.Node{}
	// Keys that are not strings cannot be compared by value; they are kept once per node,
	// or a key merged ten times per level would multiply at every level of a merge chain.
	seenNode := map[*yaml.Node]bool{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			merges = append(merges, k, v)
			continue
		}
		if dk := deref(k); dk != nil && dk.Kind == yaml.ScalarNode {
			if first, dup := seen[dk.Value]; dup {
				if report {
					p.errorf(dk, path, "duplicate key %s (first at line %d)", quote(dk.Value), first.Line)
				}
			} else {
				seen[dk.Value] = dk
			}
		}
		out = append(out, pair{key: k, val: deref(v), raw: v})
	}
	for i := 0; i+1 < len(merges); i += 2 {
		mk, mv := merges[i], deref(merges[i+1])
		var sources []*yaml.Node
		switch {
		case mv != nil && mv.Kind == yaml.MappingNode:
			sources = []*yaml.Node{mv}
		case mv != nil && mv.Kind == yaml.SequenceNode:
			for _, s := range mv.Content {
				sources = append(sources, deref(s))
			}
		default:
			sources = []*yaml.Node{nil}
		}
		for _, src := range sources {
			if src == nil || src.Kind != yaml.MappingNode {
				if report {
					p.errorf(mk, path, "<< must merge a mapping or a list of mappings, got %s", describe(src))
				}
				continue
			}
			if visiting[src] {
				if report {
					p.errorf(mk, path, "<< merges a mapping into itself")
				}
				continue
			}
			for _, mp := range p.mergePairs(src, path, visiting, false) {
				dk := deref(mp.key)
				if dk != nil && dk.Kind == yaml.ScalarNode {
					if _, dup := seen[dk.Value]; dup {
						continue
					}
					seen[dk.Value] = dk
				} else {
					if seenNode[mp.key] {
						continue
					}
					seenNode[mp.key] = true
				}
				if p.mergeWork++; p.mergeWork > maxMergeWork {
					if !p.overMerge {
						p.overMerge = true
						p.errorf(mk, path, "<< merges copy more than %d keys in total; shorten the merge chains", maxMergeWork)
					}
					return out
				}
				out = append(out, mp)
			}
		}
	}
	return out
}

func isMergeKey(n *yaml.Node) bool {
	return n != nil && n.Kind == yaml.ScalarNode && n.Value == "<<" &&
		(n.Tag == "" || n.Tag == "!" || n.Tag == "!!merge" || n.Tag == "tag:yaml.org,2002:merge")
}

// fields reads a mapping whose keys are fixed by the scenario format. Unknown keys are
// reported with the closest known key; nil means n was not a mapping (already reported).
// A null n is an empty mapping.
func (p *parser) fields(raw *yaml.Node, path string, known []string) map[string]pair {
	n := deref(raw)
	out := map[string]pair{}
	if isNull(n) {
		return out
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(raw, path, "want a mapping, got %s", describe(n))
		return nil
	}
	for _, pr := range p.pairs(n, path) {
		k := deref(pr.key)
		if k == nil || k.Kind != yaml.ScalarNode {
			p.errorf(pr.key, path, "keys must be strings, got %s", describe(k))
			continue
		}
		if !contains(known, k.Value) {
			p.errorf(k, path, "unknown key %s%s", quote(k.Value), didYouMean(k.Value, known))
			continue
		}
		out[k.Value] = pair{key: k, val: pr.val, raw: pr.raw}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// get returns a key's entry when it is present with a non-null value.
func get(m map[string]pair, key string) (pair, bool) {
	pr, ok := m[key]
	if !ok || isNull(pr.val) {
		return pair{}, false
	}
	return pr, true
}

// str reads a string scalar. Numbers and booleans are taken as written, so an account ID
// such as 012345678901 keeps its leading zero.
func (p *parser) str(pr pair, path string) (string, bool) {
	n := pr.val
	if isNull(n) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		p.errorf(pr.at(), path, "want a string, got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) integer(pr pair, path string) (int, bool) {
	n := pr.val
	if isNull(n) {
		return 0, false
	}
	if n.Kind == yaml.ScalarNode {
		if v, err := strconv.Atoi(n.Value); err == nil {
			return v, true
		}
	}
	p.errorf(pr.at(), path, "want an integer, got %s", describe(n))
	return 0, false
}

func (p *parser) boolean(pr pair, path string) (bool, bool) {
	n := pr.val
	if isNull(n) {
		return false, false
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
	}
	p.errorf(pr.at(), path, "want true or false, got %s", describe(n))
	return false, false
}

func (p *parser) duration(pr pair, path string) (time.Duration, bool) {
	n := pr.val
	if isNull(n) {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode {
		p.errorf(pr.at(), path, "want a duration like 1.5s, got %s", describe(n))
		return 0, false
	}
	d, err := ParseDuration(n.Value)
	if err != nil {
		p.errorf(pr.at(), path, "%s", err.Error())
		return 0, false
	}
	return d, true
}

// seq returns a list's items as written (callers dereference them).
func (p *parser) seq(pr pair, path string) []*yaml.Node {
	n := pr.val
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(pr.at(), path, "want a list, got %s", describe(n))
		return nil
	}
	return n.Content
}

// item is one string of a list, with where it came from.
type item struct {
	value string
	node  *yaml.Node
	path  string
}

// strList reads a list of strings.
func (p *parser) strList(pr pair, path string) []item {
	var out []item
	for i, raw := range p.seq(pr, path) {
		ipath := index(path, i)
		n := deref(raw)
		if isNull(n) {
			p.errorf(raw, ipath, "want a string, got null")
			continue
		}
		if s, ok := p.str(pair{val: n, raw: raw}, ipath); ok {
			out = append(out, item{value: s, node: raw, path: ipath})
		}
	}
	return out
}

func values(items []item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.value)
	}
	return out
}

// oneOf checks a value against a fixed set and suggests the closest.
func (p *parser) oneOf(n *yaml.Node, path, value string, allowed []string) bool {
	if contains(allowed, value) {
		return true
	}
	p.errorf(n, path, "must be one of %s; got %s%s", strings.Join(allowed, ", "), quote(value), didYouMean(value, allowed))
	return false
}

// fmtDuration prints a duration without the zero units time.Duration.String adds ("2m", not "2m0s").
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
