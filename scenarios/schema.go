package scenarios

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Enumer is implemented by `with:` configs (or nested config structs) whose string keys take
// one of a fixed set of values, so the JSON Schema can list them and editors can offer them.
// Keys are the YAML keys of the struct that implements it.
type Enumer interface {
	Enums() map[string][]string
}

// SchemaOptions adjusts JSONSchema.
type SchemaOptions struct {
	// ID is the schema's $id; empty leaves it out.
	ID string
	// Summary returns a registered type's one-line summary for its description; optional.
	Summary func(kind Kind, name string) string
}

// SchemaDialect is the JSON Schema draft JSONSchema generates.
const SchemaDialect = "https://json-schema.org/draft/2020-12/schema"

// placeholderPattern matches a value that is a single ${VAR} or ${VAR:-default} reference.
// Editors and the CI check validate the file as written, before expansion, so a number or
// boolean key may hold a placeholder instead (the loader checks the expanded value).
const placeholderPattern = `^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$`

// durationPattern is what ParseDuration accepts: "0", or Go duration units with no sign.
// A value containing a placeholder is accepted as well ("${TIMEOUT:-30s}", "${N}s").
const durationPattern = `^(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$|\$\{`

// JSONSchema describes the scenario format, as the loader reads it with cat's registered types,
// as a JSON Schema (draft 2020-12): the fixed keys, and for each probe, fault and step type
// and each environment block the keys of its config struct, walked by the loader's own rules.
// Each entry's `with:` is checked against its `type` with if/then. Unknown keys are rejected
// wherever the loader rejects them.
//
// The schema cannot check what needs the whole file or the environment (unique names,
// steadyState naming probes, a config's own Validate); `drill validate` does.
func JSONSchema(cat Catalog, opt SchemaOptions) (map[string]any, error) {
	g := &schemaGen{cat: cat, opt: opt, defs: map[string]any{}, active: map[reflect.Type]bool{}}
	return g.root()
}

type schemaGen struct {
	cat    Catalog
	opt    SchemaOptions
	defs   map[string]any
	active map[reflect.Type]bool // struct types being walked, to cut recursive configs
}

func (g *schemaGen) summary(kind Kind, name string) string {
	if g.opt.Summary == nil {
		return ""
	}
	return g.opt.Summary(kind, name)
}

func (g *schemaGen) root() (map[string]any, error) {
	g.defs["duration"] = map[string]any{
		"description": "a Go duration such as 500ms, 1.5s, 2m or 1h30m; not negative",
		"anyOf": []any{
			map[string]any{"type": "string", "pattern": durationPattern},
			map[string]any{"const": 0},
		},
	}
	g.defs["placeholder"] = map[string]any{
		"description": "a ${VAR} or ${VAR:-default} reference, checked once expanded",
		"type":        "string",
		"pattern":     placeholderPattern,
	}
	str := func(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
	strList := func(desc string) map[string]any {
		return map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": desc}
	}
	entries := func(kind Kind, desc string) map[string]any {
		return map[string]any{"type": "array", "items": ref(string(kind)), "description": desc}
	}

	top := map[string]any{
		"version": map[string]any{"const": SupportedVersion, "description": "scenario format version"},
		"name": orPlaceholder(map[string]any{"type": "string", "pattern": nameRE.String(), "maxLength": MaxNameLen,
			"description": "drill name: lowercase letters, digits and '-'; names history and reports"}),
		"description": str("what the drill proves, in a sentence"),
		"system": map[string]any{"type": "string", "pattern": `\S`,
			"description": "system under test; history and compliance are grouped by it"},
		"owner":       str("team or person accountable for the drill"),
		"tags":        strList("free-form labels"),
		"cadence":     map[string]any{"enum": toAny(cadences), "description": "how often the drill is due (drill due)"},
		"objectives":  g.objectives(),
		"environment": g.environment(),
		"probes":      entries(KindProbe, "probes that watch the service during the drill"),
		"steadyState": strList("probe names that must pass before the fault and after recovery"),
		"prepare":     entries(KindStep, "steps run before steady state is checked"),
		"faults":      withMin(entries(KindFault, "faults injected at t0; rolled back at the end"), 1),
		"recovery":    map[string]any{"type": "array", "items": ref(recoveryDef), "description": "runbook steps run after the faults; a failed one ends the drill unless it has continueOnError"},
		"rollback":    entries(KindStep, "steps run at the end, even after a failure or Ctrl-C"),
		"limits":      g.limits(),
	}
	props, err := pick(top, topKeys, "scenario")
	if err != nil {
		return nil, err
	}

	for _, kind := range []Kind{KindProbe, KindFault, KindStep} {
		def, err := g.entry(kind, false)
		if err != nil {
			return nil, err
		}
		g.defs[string(kind)] = def
	}
	def, err := g.entry(KindStep, true)
	if err != nil {
		return nil, err
	}
	g.defs[recoveryDef] = def

	s := map[string]any{
		"$schema":              SchemaDialect,
		"title":                fmt.Sprintf("drill scenario (format version %d)", SupportedVersion),
		"description":          "Generated by `drill schema` from the types this build registers; `drill validate` checks the rest.",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []any{"version", "name", "system", "objectives", "faults", "probes"},
		"properties":           props,
		// The loader needs at least one availability probe (role absent or "availability").
		"allOf": []any{map[string]any{
			"properties": map[string]any{"probes": map[string]any{"contains": map[string]any{
				"anyOf": []any{
					map[string]any{"not": map[string]any{"required": []any{"role"}}},
					map[string]any{"properties": map[string]any{"role": map[string]any{"const": RoleAvailability}}},
				},
			}}},
		}},
		"$defs": g.defs,
	}
	if g.opt.ID != "" {
		s["$id"] = g.opt.ID
	}
	return s, nil
}

// pick builds a properties object for exactly the keys the loader reads, so a key added to the
// format without a schema (or a schema for a key the loader no longer reads) is an error.
func pick(schemas map[string]any, keys []string, what string) (map[string]any, error) {
	out := map[string]any{}
	for _, k := range keys {
		s, ok := schemas[k]
		if !ok {
			return nil, fmt.Errorf("schema: %s key %q has no schema", what, k)
		}
		out[k] = s
	}
	if len(out) != len(schemas) {
		for k := range schemas {
			if !contains(keys, k) {
				return nil, fmt.Errorf("schema: %s key %q is not read by the loader", what, k)
			}
		}
	}
	return out, nil
}

func (g *schemaGen) objectives() map[string]any {
	return map[string]any{
		"type": "object", "additionalProperties": false, "required": []any{"rto"},
		"description": "targets the drill is judged against",
		"properties": map[string]any{
			"rto": described(ref("duration"), "recovery time objective: longest tolerable outage"),
			"rpo": described(ref("duration"), "recovery point objective: most acknowledged writes that may be lost, in time"),
		},
	}
}

func (g *schemaGen) limits() map[string]any {
	props := map[string]any{
		"timeout":  defaulted(described(ref("duration"), "whole drill, from the start of probing to the end of observation"), DefaultTimeout.String()),
		"observe":  defaulted(described(ref("duration"), "how long recovery must hold before it counts"), fmtDuration(DefaultObserve)),
		"rollback": defaulted(described(ref("duration"), "budget for rollback, which runs even after Ctrl-C"), fmtDuration(DefaultRollbackTimeout)),
	}
	p, _ := pick(props, limitKeys, "limits") // the keys are fixed above; the test catches drift
	return map[string]any{"type": "object", "additionalProperties": false, "properties": p,
		"description": "time bounds of the drill"}
}

func (g *schemaGen) environment() map[string]any {
	props := map[string]any{}
	for _, name := range g.cat.TypeNames(KindEnvironment) {
		cfg, _ := g.cat.NewConfig(KindEnvironment, name)
		s := g.config(cfg)
		if cfg != nil {
			s = orNull(s) // `etcd:` alone means the block's defaults
		}
		if d := g.summary(KindEnvironment, name); d != "" {
			s["description"] = d
		}
		props[name] = s
	}
	return map[string]any{"type": "object", "additionalProperties": false, "properties": props,
		"description": "backends the drill runs against (a local lab, an emulator, an account)"}
}

// recoveryDef names the schema of a recovery step: a step that may also say continueOnError.
const recoveryDef = "recoveryStep"

// entry is the schema of one list item of a kind: the fixed keys, `type` limited to the
// registered names, and an if/then per type that checks `with:` against the type's config.
// recovery is set for entries of recovery:, the only ones that take continueOnError.
func (g *schemaGen) entry(kind Kind, recovery bool) (map[string]any, error) {
	names := g.cat.TypeNames(kind)
	fixed := map[string]any{
		"name": map[string]any{"type": "string", "pattern": `\S`, "description": "unique within the scenario; reports and steadyState use it"},
		"type": map[string]any{"enum": toAny(names), "description": string(kind) + " type (drill list)"},
		"with": map[string]any{"type": []any{"object", "null"}, "description": "the type's settings (drill list TYPE)"},
	}
	keys := stepKeys
	if kind == KindProbe {
		keys = probeKeys
		fixed["role"] = defaulted(map[string]any{"enum": toAny(roles),
			"description": "availability probes measure RTO, data probes RPO, guard probes must never fail"}, RoleAvailability)
		fixed["interval"] = defaulted(described(ref("duration"), "time between checks"), DefaultProbeInterval.String())
		fixed["timeout"] = defaulted(described(ref("duration"), "limit for one check"), DefaultProbeTimeout.String())
	} else {
		fixed["after"] = described(ref("duration"), "recovery steps: run no earlier than this long after t0; others: wait this long before running")
		if recovery {
			fixed["continueOnError"] = orPlaceholder(map[string]any{"type": "boolean", "default": false,
				"description": "go on with the runbook if this step fails; otherwise a failed step ends the drill at once"})
		} else {
			keys = slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == "continueOnError" })
		}
	}
	props, err := pick(fixed, keys, string(kind))
	if err != nil {
		return nil, err
	}
	var cases []any
	for _, name := range names {
		cfg, _ := g.cat.NewConfig(kind, name)
		then := map[string]any{}
		var with map[string]any
		if cfg == nil {
			with = map[string]any{"type": []any{"object", "null"}, "maxProperties": 0,
				"description": "this type takes no settings"}
		} else {
			with = g.config(cfg)
			if req, _ := with["required"].([]any); len(req) > 0 {
				then["required"] = []any{"with"}
			} else {
				with = orNull(with) // `with:` alone means the defaults
			}
		}
		if d := g.summary(kind, name); d != "" {
			with["description"] = d
		}
		def := string(kind) + "." + name
		g.defs[def] = with // shared by step and recoveryStep: the same type, the same with:
		then["properties"] = map[string]any{"with": ref(def)}
		cases = append(cases, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"type": map[string]any{"const": name}}, "required": []any{"type"}},
			"then": then,
		})
	}
	out := map[string]any{
		"type": "object", "additionalProperties": false, "required": []any{"name", "type"},
		"properties": props,
	}
	if len(cases) > 0 {
		out["allOf"] = cases
	}
	return out, nil
}

// config describes a fresh config pointer (from the Catalog): its defaults are the values set
// in it.
func (g *schemaGen) config(cfg any) map[string]any {
	if cfg == nil {
		return map[string]any{"type": "null"}
	}
	v := reflect.ValueOf(cfg)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	return g.value(v.Type(), v)
}

// value describes what the loader decodes into a value of type t; def is the default value
// (possibly invalid, for types reached without one).
func (g *schemaGen) value(t reflect.Type, def reflect.Value) map[string]any {
	switch {
	case t == durationType || t == timeDurationType:
		return ref("duration")
	case t.Kind() != reflect.Pointer && isLeaf(t) && hasUnmarshaler(t):
		// A type with its own decoder (a selection such as COUNT(2)) defines its own syntax;
		// drill list and the loader's message describe it.
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		defaulter := reflect.PointerTo(t.Elem()).Implements(defaulterType)
		var elem reflect.Value
		switch {
		case def.IsValid() && !def.IsNil():
			elem = def.Elem()
		case defaulter:
			elem = newDefaulted(t.Elem()).Elem() // what the loader allocates when the key is written
		}
		s := g.value(t.Elem(), elem)
		if defaulter {
			s = orNull(s) // `lab:` alone means "on, with defaults"
		}
		return s
	case reflect.Struct:
		return g.structSchema(t, def)
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string"}
		}
		s := map[string]any{"type": "array", "items": g.value(t.Elem(), reflect.Value{})}
		if t.Kind() == reflect.Array {
			s["maxItems"] = t.Len()
		}
		return s
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.value(t.Elem(), reflect.Value{})}
	case reflect.Bool:
		return orPlaceholder(map[string]any{"type": "boolean"})
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return orPlaceholder(map[string]any{"type": "integer"})
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return orPlaceholder(map[string]any{"type": "integer", "minimum": 0})
	case reflect.Float32, reflect.Float64:
		return orPlaceholder(map[string]any{"type": "number"})
	case reflect.String:
		return map[string]any{"type": "string"}
	default:
		return map[string]any{} // interfaces take anything yaml.v3 can decode
	}
}

func hasUnmarshaler(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	for _, u := range []reflect.Type{unmarshalerType, obsoleteUnmarshalerType, textUnmarshalerType} {
		if t.Implements(u) || pt.Implements(u) {
			return true
		}
	}
	return false
}

func (g *schemaGen) structSchema(t reflect.Type, def reflect.Value) map[string]any {
	if g.active[t] {
		return map[string]any{"type": "object"} // a recursive config: checked by the loader only
	}
	g.active[t] = true
	defer delete(g.active, t)

	info := &structInfo{fields: map[string][]int{}}
	if err := collectFields(t, nil, info, map[reflect.Type]bool{}); err != nil {
		// Layouts only yaml.v3 drives (inline unmarshalers) or that the loader rejects.
		return map[string]any{"type": "object"}
	}
	var enums map[string][]string
	if def.IsValid() && def.CanAddr() {
		if e, ok := def.Addr().Interface().(Enumer); ok {
			enums = e.Enums()
		}
	} else if e, ok := reflect.New(t).Interface().(Enumer); ok {
		enums = e.Enums()
	}
	props := map[string]any{}
	var required []any
	for _, key := range info.keys {
		idx := info.fields[key]
		f := t.FieldByIndex(idx)
		var fv reflect.Value
		if def.IsValid() {
			fv = fieldByIndex(def, idx, false)
		}
		s := g.value(f.Type, fv)
		if allowed, ok := enums[key]; ok {
			s = orPlaceholder(map[string]any{"enum": toAny(allowed)})
		}
		doc := f.Tag.Get("doc")
		if doc != "" {
			s = described(s, doc)
		}
		if strings.HasSuffix(doc, "(required)") {
			required = append(required, key)
		}
		if d, ok := jsonDefault(fv); ok {
			s = defaulted(s, d)
		}
		props[key] = s
	}
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if info.inlineMap != nil {
		out["additionalProperties"] = g.value(t.FieldByIndex(info.inlineMap).Type.Elem(), reflect.Value{})
	}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

// jsonDefault is a default worth showing: a non-zero scalar, duration or list of scalars.
func jsonDefault(v reflect.Value) (any, bool) {
	if !v.IsValid() || v.IsZero() {
		return nil, false
	}
	switch {
	case v.Type() == durationType:
		return fmtDuration(v.Interface().(Duration).D()), true
	case v.Type() == timeDurationType:
		return fmtDuration(time.Duration(v.Int())), true
	}
	switch v.Kind() {
	case reflect.Bool:
		return v.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint(), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	case reflect.String:
		return v.String(), true
	case reflect.Slice:
		var out []any
		for i := range v.Len() {
			d, ok := jsonDefault(v.Index(i))
			if !ok {
				return nil, false
			}
			out = append(out, d)
		}
		return out, true
	}
	return nil, false
}

func ref(def string) map[string]any { return map[string]any{"$ref": "#/$defs/" + def} }

// described adds a description; a $ref keeps its siblings in draft 2020-12.
func described(s map[string]any, desc string) map[string]any {
	s = clone(s)
	s["description"] = desc
	return s
}

func defaulted(s map[string]any, def any) map[string]any {
	s = clone(s)
	s["default"] = def
	return s
}

func withMin(s map[string]any, n int) map[string]any {
	s = clone(s)
	s["minItems"] = n
	return s
}

// orPlaceholder also accepts a ${VAR} reference where a number, boolean or fixed word belongs.
func orPlaceholder(s map[string]any) map[string]any {
	return map[string]any{"anyOf": []any{s, ref("placeholder")}}
}

func orNull(s map[string]any) map[string]any {
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

func clone(s map[string]any) map[string]any {
	out := make(map[string]any, len(s)+1)
	maps.Copy(out, s)
	return out
}

func toAny(list []string) []any {
	out := make([]any, len(list))
	for i, v := range list {
		out[i] = v
	}
	return out
}
