package runner

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/drillhq/drill/scenarios"
)

// TypeDoc documents a registered type for `drill list` and error messages.
type TypeDoc struct {
	Name    string
	Kind    scenarios.Kind
	Summary string
	// Config is a zero value of the `with:` struct (nil when the type takes no fields). Field
	// docs come from its `yaml` and `doc` struct tags; defaults from NewConfig.
	Config any
}

// FaultType registers a fault. NewConfig returns a pointer to a defaulted `with:` struct (nil
// for none); New builds the fault from the decoded config.
type FaultType struct {
	Name      string
	Summary   string
	NewConfig func() any
	New       func(cfg any, env *Env) (Fault, error)
}

// StepType registers a prepare/recovery/rollback step type.
type StepType struct {
	Name      string
	Summary   string
	NewConfig func() any
	New       func(cfg any, env *Env) (Step, error)
}

// ProbeType registers a probe. New gets the probe's full spec (interval, timeout, role) too.
type ProbeType struct {
	Name      string
	Summary   string
	NewConfig func() any
	New       func(spec scenarios.ProbeSpec, env *Env) (Probe, error)
}

// Registry holds the types and connectors a build knows. cmd/drill fills it explicitly.
type Registry struct {
	faults     map[string]FaultType
	steps      map[string]StepType
	probes     map[string]ProbeType
	connectors []Connector
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{faults: map[string]FaultType{}, steps: map[string]StepType{}, probes: map[string]ProbeType{}}
}

// AddFault registers a fault type; registering a name twice panics (a programming error).
func (r *Registry) AddFault(t FaultType) {
	mustNew(r.faults, t.Name)
	r.faults[t.Name] = t
}

// AddStep registers a step type.
func (r *Registry) AddStep(t StepType) {
	mustNew(r.steps, t.Name)
	r.steps[t.Name] = t
}

// AddProbe registers a probe type.
func (r *Registry) AddProbe(t ProbeType) {
	mustNew(r.probes, t.Name)
	r.probes[t.Name] = t
}

// AddConnector registers an environment connector.
func (r *Registry) AddConnector(c Connector) { r.connectors = append(r.connectors, c) }

// Connectors returns the registered connectors in registration order.
func (r *Registry) Connectors() []Connector { return r.connectors }

func mustNew[T any](m map[string]T, name string) {
	if _, dup := m[name]; dup || name == "" {
		panic(fmt.Sprintf("runner: type %q registered twice or unnamed", name))
	}
}

// NewConfig implements scenarios.Catalog.
func (r *Registry) NewConfig(kind scenarios.Kind, name string) (any, bool) {
	var newCfg func() any
	switch kind {
	case scenarios.KindFault:
		t, ok := r.faults[name]
		if !ok {
			return nil, false
		}
		newCfg = t.NewConfig
	case scenarios.KindStep:
		t, ok := r.steps[name]
		if !ok {
			return nil, false
		}
		newCfg = t.NewConfig
	case scenarios.KindProbe:
		t, ok := r.probes[name]
		if !ok {
			return nil, false
		}
		newCfg = t.NewConfig
	default:
		return nil, false
	}
	if newCfg == nil {
		return nil, true
	}
	return newCfg(), true
}

// TypeNames implements scenarios.Catalog.
func (r *Registry) TypeNames(kind scenarios.Kind) []string {
	var names []string
	switch kind {
	case scenarios.KindFault:
		names = keys(r.faults)
	case scenarios.KindStep:
		names = keys(r.steps)
	case scenarios.KindProbe:
		names = keys(r.probes)
	}
	sort.Strings(names)
	return names
}

func keys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Docs lists every registered type, faults then steps then probes, each sorted by name.
func (r *Registry) Docs() []TypeDoc {
	var docs []TypeDoc
	for _, n := range r.TypeNames(scenarios.KindFault) {
		t := r.faults[n]
		docs = append(docs, TypeDoc{Name: n, Kind: scenarios.KindFault, Summary: t.Summary, Config: call(t.NewConfig)})
	}
	for _, n := range r.TypeNames(scenarios.KindStep) {
		t := r.steps[n]
		docs = append(docs, TypeDoc{Name: n, Kind: scenarios.KindStep, Summary: t.Summary, Config: call(t.NewConfig)})
	}
	for _, n := range r.TypeNames(scenarios.KindProbe) {
		t := r.probes[n]
		docs = append(docs, TypeDoc{Name: n, Kind: scenarios.KindProbe, Summary: t.Summary, Config: call(t.NewConfig)})
	}
	return docs
}

func call(f func() any) any {
	if f == nil {
		return nil
	}
	return f()
}

// Field describes one `with:` key for documentation.
type Field struct {
	Key     string
	Type    string
	Default string
	Doc     string
}

// ConfigFields reflects over a `with:` struct pointer: the `yaml` tag names the key, the `doc`
// tag describes it, and non-zero values in cfg are shown as defaults.
func ConfigFields(cfg any) []Field {
	if cfg == nil {
		return nil
	}
	v := reflect.ValueOf(cfg)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	var out []Field
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		key := yamlKey(sf)
		if key == "-" {
			continue
		}
		f := Field{Key: key, Type: typeName(sf.Type), Doc: sf.Tag.Get("doc")}
		if fv := v.Field(i); !fv.IsZero() {
			f.Default = fmt.Sprint(defaultString(fv))
		}
		out = append(out, f)
	}
	return out
}

// yamlKey mirrors yaml.v3: the tag's name, else the field name lower-cased.
func yamlKey(sf reflect.StructField) string {
	tag := sf.Tag.Get("yaml")
	if tag == "" {
		return strings.ToLower(sf.Name)
	}
	for i := range len(tag) {
		if tag[i] == ',' {
			tag = tag[:i]
			break
		}
	}
	if tag == "" {
		return strings.ToLower(sf.Name)
	}
	return tag
}

var durationType = reflect.TypeFor[scenarios.Duration]()

func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.Pointer:
		return typeName(t.Elem())
	case t.Kind() == reflect.Slice:
		return "list of " + typeName(t.Elem())
	case t.Kind() == reflect.Map:
		return "map of " + typeName(t.Elem())
	case t.Kind() == reflect.Struct:
		return "object"
	default:
		return t.Kind().String()
	}
}

func defaultString(v reflect.Value) any {
	if v.Type() == durationType {
		return v.Interface().(scenarios.Duration).D().String()
	}
	return v.Interface()
}
