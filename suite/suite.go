// Package suite loads suite files (a programme of drills: which scenarios, how often, how
// critical) and works out which drills are due.
//
// A suite file (version 1):
//
//	version: 1
//	name: production-dr               # optional, shown in reports
//	description: Quarterly DR programme for the orders platform.
//	defaults:                         # optional
//	  cadence: quarterly              # used when neither the entry nor the scenario sets one
//	  criticality: high
//	scenarios:
//	  - path: drills/etcd-minority-loss.yaml   # relative to this file
//	    criticality: critical                  # critical|high|medium|low
//	    cadence: monthly                       # overrides the scenario's own cadence
//	  - path: "drills/web-*.yaml"              # a glob (filepath.Match syntax, no **)
//	  - drills/restore.yaml                    # shorthand for { path: ... }
//
// Cadence precedence: the entry's cadence, else the scenario's `cadence:`, else defaults.cadence.
// Entries keep suite order; a file matched twice (a path and a glob) is run once, with the
// settings of its first entry.
package suite

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/drillhq/drill/result"
)

// Suite is a loaded suite file.
type Suite struct {
	File        string
	Name        string
	Description string
	Entries     []Entry
}

// Entry is one scenario of the suite with its programme settings resolved.
type Entry struct {
	// Path is the scenario file, relative to the working directory when the suite path was.
	Path string `json:"path"`
	// Line is where the entry is written in the suite file (0 for entries built from history).
	Line int `json:"-"`

	// Read from the scenario file.
	Name   string         `json:"scenario"`
	System string         `json:"system"`
	Owner  string         `json:"owner,omitempty"`
	RTO    time.Duration  `json:"-"`
	RPO    *time.Duration `json:"-"`
	SHA256 string         `json:"scenarioSha256,omitempty"`

	// Cadence is the effective cadence ("" when none applies); CadenceFrom says where it came
	// from: "suite" (entry override), "scenario", "defaults" or "history".
	Cadence     string `json:"cadence,omitempty"`
	CadenceFrom string `json:"cadenceFrom,omitempty"`
	// Criticality is critical|high|medium|low, or "" when the suite does not say.
	Criticality string `json:"criticality,omitempty"`
}

// Load reads a suite file and the header of every scenario it names. All problems are
// reported at once, each as file:line:column: message.
func Load(path string) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read suite: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	l := &loader{file: path, dir: filepath.Dir(path), seen: map[string]bool{}, names: map[string]string{}}
	s := l.suite(&doc)
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return s, nil
}

// Paths returns the scenario files of the suite in run order.
func (s *Suite) Paths() []string {
	out := make([]string, len(s.Entries))
	for i, e := range s.Entries {
		out[i] = e.Path
	}
	return out
}

type loader struct {
	file  string
	dir   string
	errs  []error
	seen  map[string]bool   // cleaned scenario paths already added
	names map[string]string // scenario name -> path, to catch two files with one name
}

func (l *loader) errorf(n *yaml.Node, format string, args ...any) {
	pos := l.file
	if n != nil {
		pos = fmt.Sprintf("%s:%d:%d", l.file, n.Line, n.Column)
	}
	l.errs = append(l.errs, fmt.Errorf("%s: %s", pos, fmt.Sprintf(format, args...)))
}

type defaults struct{ cadence, criticality string }

func (l *loader) suite(doc *yaml.Node) *Suite {
	s := &Suite{File: l.file}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		l.errorf(nil, "empty suite file (want version: 1 and a scenarios: list)")
		return s
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		l.errorf(root, "a suite is a mapping with version: and scenarios:")
		return s
	}
	var (
		def           defaults
		entries       *yaml.Node
		version, list bool
	)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "version":
			version = true
			if v.Value != "1" {
				l.errorf(v, "unsupported suite version %q (want 1)", v.Value)
			}
		case "name":
			s.Name = l.scalar(v, "name")
		case "description":
			s.Description = l.scalar(v, "description")
		case "defaults":
			def = l.defaults(v)
		case "scenarios":
			entries, list = v, true
		default:
			l.unknownKey(k, []string{"version", "name", "description", "defaults", "scenarios"})
		}
	}
	if !version {
		l.errorf(root, "missing version: 1")
	}
	if !list {
		l.errorf(root, "missing scenarios: (a list of scenario paths or globs)")
		return s
	}
	if entries.Kind != yaml.SequenceNode || len(entries.Content) == 0 {
		l.errorf(entries, "scenarios: must be a non-empty list")
		return s
	}
	for _, n := range entries.Content {
		s.Entries = append(s.Entries, l.entry(n, def)...)
	}
	return s
}

func (l *loader) defaults(n *yaml.Node) defaults {
	var d defaults
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "defaults: must be a mapping with cadence: and/or criticality:")
		return d
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "cadence":
			d.cadence = l.cadence(v)
		case "criticality":
			d.criticality = l.criticality(v)
		default:
			l.unknownKey(k, []string{"cadence", "criticality"})
		}
	}
	return d
}

func (l *loader) entry(n *yaml.Node, def defaults) []Entry {
	var pattern, cadence, crit string
	var patNode *yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		pattern, patNode = n.Value, n
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch k.Value {
			case "path":
				pattern, patNode = l.scalar(v, "path"), v
			case "cadence":
				cadence = l.cadence(v)
			case "criticality":
				crit = l.criticality(v)
			default:
				l.unknownKey(k, []string{"path", "cadence", "criticality"})
			}
		}
	default:
		l.errorf(n, "a scenarios: entry is a path or a mapping with path:, cadence:, criticality:")
		return nil
	}
	if pattern == "" {
		l.errorf(n, "entry has no path:")
		return nil
	}
	if crit == "" {
		crit = def.criticality
	}
	full := pattern
	if !filepath.IsAbs(full) {
		full = filepath.Join(l.dir, pattern)
	}
	matches, err := filepath.Glob(full)
	if err != nil {
		l.errorf(patNode, "bad glob %q: %v", pattern, err)
		return nil
	}
	if len(matches) == 0 {
		if strings.ContainsAny(pattern, "*?[") {
			l.errorf(patNode, "glob %q matches no file (looked in %s)", pattern, l.dir)
		} else {
			l.errorf(patNode, "scenario file %s does not exist", full)
		}
		return nil
	}
	sort.Strings(matches)
	var out []Entry
	for _, m := range matches {
		m = filepath.Clean(m)
		if l.seen[m] {
			continue
		}
		l.seen[m] = true
		e, ok := l.scenario(patNode, m)
		if !ok {
			continue
		}
		e.Line = n.Line
		e.Criticality = crit
		switch {
		case cadence != "":
			e.Cadence, e.CadenceFrom = cadence, "suite"
		case e.Cadence != "":
			e.CadenceFrom = "scenario"
		case def.cadence != "":
			e.Cadence, e.CadenceFrom = def.cadence, "defaults"
		}
		if prev, dup := l.names[e.Name]; dup {
			l.errorf(patNode, "%s and %s both define scenario %q: history and due dates are kept per scenario name", prev, m, e.Name)
			continue
		}
		l.names[e.Name] = m
		out = append(out, e)
	}
	return out
}

// header is the part of a scenario the programme needs. The full loader (scenarios package)
// validates the rest when the drill runs; here unknown keys are ignored on purpose.
type header struct {
	Name       string `yaml:"name"`
	System     string `yaml:"system"`
	Owner      string `yaml:"owner"`
	Cadence    string `yaml:"cadence"`
	Objectives struct {
		RTO string `yaml:"rto"`
		RPO string `yaml:"rpo"`
	} `yaml:"objectives"`
}

func (l *loader) scenario(at *yaml.Node, path string) (Entry, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		l.errorf(at, "read scenario: %v", err)
		return Entry{}, false
	}
	var h header
	if err := yaml.Unmarshal(data, &h); err != nil {
		l.errorf(at, "scenario %s: %v", path, strings.TrimPrefix(err.Error(), "yaml: "))
		return Entry{}, false
	}
	sum := sha256.Sum256(data)
	e := Entry{Path: path, Name: h.Name, System: h.System, Owner: h.Owner, Cadence: h.Cadence, SHA256: hex.EncodeToString(sum[:])}
	ok := true
	if h.Name == "" {
		l.errorf(at, "scenario %s has no name:", path)
		ok = false
	}
	if h.Cadence != "" && !ValidCadence(h.Cadence) {
		l.errorf(at, "scenario %s: unknown cadence %q (want %s)", path, h.Cadence, strings.Join(Cadences(), "|"))
		ok = false
	}
	if h.Objectives.RTO != "" {
		if e.RTO, err = parseDuration(h.Objectives.RTO); err != nil {
			l.errorf(at, "scenario %s: objectives.rto: %v", path, err)
			ok = false
		}
	}
	if h.Objectives.RPO != "" {
		d, err := parseDuration(h.Objectives.RPO)
		if err != nil {
			l.errorf(at, "scenario %s: objectives.rpo: %v", path, err)
			ok = false
		}
		e.RPO = &d
	}
	return e, ok
}

func (l *loader) scalar(n *yaml.Node, key string) string {
	if n.Kind != yaml.ScalarNode {
		l.errorf(n, "%s: must be a string", key)
		return ""
	}
	return n.Value
}

func (l *loader) cadence(n *yaml.Node) string {
	v := l.scalar(n, "cadence")
	if v != "" && !ValidCadence(v) {
		l.errorf(n, "unknown cadence %q (want %s)", v, strings.Join(Cadences(), "|"))
		return ""
	}
	return v
}

func (l *loader) criticality(n *yaml.Node) string {
	v := l.scalar(n, "criticality")
	if v != "" && CriticalityRank(v) == 0 {
		l.errorf(n, "unknown criticality %q (want %s)", v, strings.Join(Criticalities(), "|"))
		return ""
	}
	return v
}

func (l *loader) unknownKey(k *yaml.Node, known []string) {
	msg := fmt.Sprintf("unknown key %q", k.Value)
	if c := closest(k.Value, known); c != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", c)
	} else {
		msg += fmt.Sprintf(" (known keys: %s)", strings.Join(known, ", "))
	}
	l.errorf(k, "%s", msg)
}

// closest returns the known key within edit distance 2 of s, if any.
func closest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// EntriesFromHistory builds one entry per scenario found in runs, from its newest run: the
// programme as history knows it, for `drill due` and `drill report` without a suite file.
// Entries are sorted by system, then scenario.
func EntriesFromHistory(runs []*result.Result) []Entry {
	newest := map[string]*result.Result{}
	// Drills that stopped before their fault were stored by older versions with a 0 s RTO
	// target; the target is the scenario's, so take it from the newest run that recorded one.
	target := map[string]*result.Result{}
	for _, r := range runs {
		if r.DryRun {
			continue
		}
		if cur, ok := newest[r.Scenario]; !ok || r.StartedAt.After(cur.StartedAt) {
			newest[r.Scenario] = r
		}
		if cur, ok := target[r.Scenario]; r.Objectives.RTO.TargetMs > 0 && (!ok || r.StartedAt.After(cur.StartedAt)) {
			target[r.Scenario] = r
		}
	}
	out := make([]Entry, 0, len(newest))
	for _, r := range newest {
		e := Entry{
			Path:    r.ScenarioFile,
			Name:    r.Scenario,
			System:  r.System,
			Owner:   r.Owner,
			RTO:     time.Duration(r.Objectives.RTO.TargetMs) * time.Millisecond,
			SHA256:  r.ScenarioSHA256,
			Cadence: r.Cadence,
		}
		if t, ok := target[r.Scenario]; ok && r.Objectives.RTO.TargetMs == 0 {
			e.RTO = time.Duration(t.Objectives.RTO.TargetMs) * time.Millisecond
		}
		if r.Cadence != "" {
			e.CadenceFrom = "history"
		}
		if r.Objectives.RPO.TargetMs != nil {
			d := time.Duration(*r.Objectives.RPO.TargetMs) * time.Millisecond
			e.RPO = &d
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].System != out[j].System {
			return out[i].System < out[j].System
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// parseDuration mirrors scenarios.ParseDuration. The suite reads only scenario headers and
// stays independent of the full scenario loader.
func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use Go syntax like 500ms, 1.5s, 2m)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("duration %q must not be negative", s)
	}
	return v, nil
}
