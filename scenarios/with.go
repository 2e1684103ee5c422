package scenarios

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// A `with:` block is decoded field by field rather than with one node.Decode call: yaml.v3
// reports type errors by line only, stops at the first error a custom unmarshaler returns,
// and ignores unknown keys. Walking the config struct and the node together gives every
// problem an exact position and lets unknown keys get the closest-key treatment. Leaves (and
// anything with its own unmarshaler) are still decoded by yaml.v3, so semantics match it.

var (
	nodeType                = reflect.TypeFor[yaml.Node]()
	unmarshalerType         = reflect.TypeFor[yaml.Unmarshaler]()
	obsoleteUnmarshalerType = reflect.TypeFor[interface {
		UnmarshalYAML(func(any) error) error
	}]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	defaulterType       = reflect.TypeFor[Defaulter]()
	durationType        = reflect.TypeFor[Duration]()
	timeDurationType    = reflect.TypeFor[time.Duration]()
)

// decodeWith decodes a `with:` block into the config pointer cfg and reports whether it
// decoded cleanly.
func (p *parser) decodeWith(cfg any, n *yaml.Node, path string) bool {
	before := len(p.errs)
	v := reflect.ValueOf(cfg)
	p.decode(v.Elem(), n, path, map[*yaml.Node]bool{})
	return len(p.errs) == before
}

// decode stores node n into the settable value v. active holds the anchored nodes being
// decoded, so an alias that points at its own ancestor is reported instead of recursing.
func (p *parser) decode(v reflect.Value, n *yaml.Node, path string, active map[*yaml.Node]bool) {
	if p.overWork || !v.CanSet() {
		return
	}
	if p.work++; p.work > maxWork {
		p.overWork = true
		p.errorf(n, path, "too many nodes to decode (aliases expand to more than %d); simplify the file", maxWork)
		return
	}
	at := n // problems with an aliased value are reported where the alias is written
	if n != nil && n.Kind == yaml.AliasNode {
		target := deref(n)
		if target == nil {
			return
		}
		if active[target] {
			p.errorf(n, path, "alias *%s refers to a value that contains it", n.Value)
			return
		}
		active[target] = true
		defer delete(active, target)
		n = target
	}
	if isNull(n) {
		if v.Kind() == reflect.Pointer && reflect.PointerTo(v.Type().Elem()).Implements(defaulterType) {
			v.Set(newDefaulted(v.Type().Elem()))
			return
		}
		// As in yaml.v3: null clears pointers, maps, slices and interfaces and leaves other
		// values (with their defaults) alone.
		switch v.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
			v.Set(reflect.Zero(v.Type()))
		}
		return
	}
	if isLeaf(v.Type()) {
		p.decodeLeaf(v, n, at, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(newDefaulted(v.Type().Elem()))
		}
		p.decode(v.Elem(), n, path, active)
	case reflect.Struct:
		p.decodeStruct(v, n, at, path, active)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			p.errorf(at, path, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p.decode(s.Index(i), item, index(path, i), active)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			p.errorf(at, path, "want a mapping, got %s", describe(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for _, pr := range p.pairs(n, path) {
			p.decodeMapEntry(v, pr, path, active)
		}
	default:
		p.decodeLeaf(v, n, at, path)
	}
}

// newDefaulted allocates a *t, with its own defaults when it has any.
func newDefaulted(t reflect.Type) reflect.Value {
	v := reflect.New(t)
	if d, ok := v.Interface().(Defaulter); ok {
		d.SetDefaults()
	}
	return v
}

// isLeaf reports whether yaml.v3 should decode a value of type t in one piece: scalars,
// interfaces, arrays, yaml.Node and anything with its own unmarshaler.
func isLeaf(t reflect.Type) bool {
	if t == nodeType {
		return true
	}
	pt := reflect.PointerTo(t)
	for _, u := range []reflect.Type{unmarshalerType, obsoleteUnmarshalerType, textUnmarshalerType} {
		if t.Implements(u) || pt.Implements(u) {
			return true
		}
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Struct, reflect.Map:
		return false
	case reflect.Slice:
		return t.Elem().Kind() == reflect.Uint8 // []byte is !!binary or a string
	default:
		return true
	}
}

func (p *parser) decodeMapEntry(m reflect.Value, pr pair, path string, active map[*yaml.Node]bool) {
	k := deref(pr.key)
	keyPath := path
	if k != nil && k.Kind == yaml.ScalarNode {
		keyPath = join(path, k.Value)
	}
	kv := reflect.New(m.Type().Key()).Elem()
	before := len(p.errs)
	p.decode(kv, pr.key, path, active)
	if len(p.errs) > before {
		return
	}
	if !kv.Comparable() {
		p.errorf(k, path, "invalid map key %s", describe(k))
		return
	}
	ev := reflect.New(m.Type().Elem()).Elem()
	p.decode(ev, pr.raw, keyPath, active)
	m.SetMapIndex(kv, ev)
}

func (p *parser) decodeStruct(v reflect.Value, n, at *yaml.Node, path string, active map[*yaml.Node]bool) {
	info := p.structInfo(v.Type())
	if info.err != nil {
		p.errorf(at, path, "internal error: config type %s: %v", v.Type(), info.err)
		return
	}
	if info.delegate {
		p.decodeLeaf(v, n, at, path)
		return
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(at, path, "want a mapping, got %s", describe(n))
		return
	}
	for _, pr := range p.pairs(n, path) {
		k := deref(pr.key)
		if k == nil || k.Kind != yaml.ScalarNode {
			p.errorf(pr.key, path, "keys must be strings, got %s", describe(k))
			continue
		}
		idx, ok := info.fields[k.Value]
		if !ok {
			if info.inlineMap != nil {
				p.decodeMapEntry(fieldByIndex(v, info.inlineMap, true), pr, path, active)
				continue
			}
			p.errorf(k, path, "unknown key %s%s", quote(k.Value), didYouMean(k.Value, info.keys))
			continue
		}
		p.decode(fieldByIndex(v, idx, true), pr.raw, join(path, k.Value), active)
	}
}

// fieldByIndex is reflect.Value.FieldByIndex that allocates nil embedded pointers on the way
// when alloc is set (inline `*Struct` fields).
func fieldByIndex(v reflect.Value, idx []int, alloc bool) reflect.Value {
	for i, x := range idx {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !alloc {
					return reflect.Value{}
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	if len(idx) > 0 && v.Kind() == reflect.Map && v.IsNil() && alloc {
		v.Set(reflect.MakeMap(v.Type()))
	}
	return v
}

// decodeLeaf lets yaml.v3 decode n into v and turns its error into a positioned message
// (at at, the alias when n was reached through one).
func (p *parser) decodeLeaf(v reflect.Value, n, at *yaml.Node, path string) {
	if !v.CanAddr() {
		return
	}
	err := n.Decode(v.Addr().Interface())
	if err == nil {
		return
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		p.errorf(at, path, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}
	// A shape mismatch (a list where a string belongs) or a bad scalar gets the short
	// "want X, got Y"; errors deeper inside a matching container keep yaml.v3's detail.
	if want, shape := wantName(v.Type()), wantShape(v.Type()); want != "" && (shape == yaml.ScalarNode || shape != n.Kind) {
		p.errorf(at, path, "want %s, got %s", want, describe(n))
		return
	}
	for _, msg := range te.Errors {
		at, text := at, msg
		if m := typeErrRE.FindStringSubmatch(msg); m != nil {
			text = m[2]
			if line, convErr := strconv.Atoi(m[1]); convErr == nil && line != n.Line {
				at = &yaml.Node{Line: line, Column: 1}
			}
		}
		p.errorf(at, path, "%s", text)
	}
}

var typeErrRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// wantShape is the node kind a Go type decodes from.
func wantShape(t reflect.Type) yaml.Kind {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType, t == timeDurationType:
		return yaml.ScalarNode
	}
	switch t.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return yaml.ScalarNode
		}
		return yaml.SequenceNode
	case reflect.Array:
		return yaml.SequenceNode
	case reflect.Map, reflect.Struct:
		return yaml.MappingNode
	case reflect.Interface:
		return 0
	}
	return yaml.ScalarNode
}

// wantName describes what a Go type expects in YAML, or "" when there is no short description.
func wantName(t reflect.Type) string {
	switch {
	case t == durationType, t == timeDurationType:
		return "a duration like 1.5s"
	case t.Kind() == reflect.Pointer:
		return wantName(t.Elem())
	}
	if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
		return "" // yaml.v3 cannot decode into []byte at all; its own message says so
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return ""
}

// structInfo is the key layout yaml.v3 derives from a struct's `yaml` tags.
type structInfo struct {
	fields    map[string][]int // key -> field index path (through inline structs)
	keys      []string         // known keys, in field order, for suggestions
	inlineMap []int            // `,inline` map collecting unknown keys, if any
	delegate  bool             // inline unmarshalers, which only yaml.v3 can drive: let it decode the whole struct
	err       error            // tags yaml.v3 would panic on
}

// errDelegate marks a struct layout that yaml.v3 handles but the walker does not model.
var errDelegate = errors.New("delegate to yaml.v3")

func (p *parser) structInfo(t reflect.Type) *structInfo {
	if info, ok := p.structs[t]; ok {
		return info
	}
	info := &structInfo{fields: map[string][]int{}}
	switch err := collectFields(t, nil, info, map[reflect.Type]bool{}); {
	case errors.Is(err, errDelegate):
		info = &structInfo{delegate: true}
	case err != nil:
		info = &structInfo{err: err}
	}
	p.structs[t] = info
	return info
}

// collectFields mirrors yaml.v3's getStructInfo: the tag names the key (default: the field
// name in lower case), "-" skips, ",inline" flattens a struct or collects extra keys in a map.
func collectFields(t reflect.Type, prefix []int, info *structInfo, seen map[reflect.Type]bool) error {
	if seen[t] {
		return fmt.Errorf("%s inlines itself", t)
	}
	if t.Kind() != reflect.Struct {
		return fmt.Errorf("%s is not a struct", t)
	}
	seen[t] = true
	defer delete(seen, t)
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "" && !strings.Contains(string(f.Tag), ":") {
			tag = string(f.Tag)
		}
		if tag == "-" {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		inline := false
		for flag := range strings.SplitSeq(flags, ",") {
			switch flag {
			case "", "omitempty", "flow":
			case "inline":
				inline = true
			default:
				return fmt.Errorf("field %s: unsupported flag %q in yaml tag", f.Name, flag)
			}
		}
		idx := append(append([]int(nil), prefix...), i)
		if inline {
			ft := f.Type
			if ft.Kind() == reflect.Map {
				if info.inlineMap != nil {
					return fmt.Errorf("field %s: more than one ,inline map", f.Name)
				}
				info.inlineMap = idx
				continue
			}
			if ft.Kind() == reflect.Pointer && !f.IsExported() {
				// reflect cannot allocate an unexported embedded pointer.
				return fmt.Errorf("field %s: cannot inline an unexported pointer", f.Name)
			}
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() != reflect.Struct {
				return fmt.Errorf("field %s: ,inline needs a struct or a map", f.Name)
			}
			if isLeaf(ft) {
				return errDelegate
			}
			if err := collectFields(ft, idx, info, seen); err != nil {
				return err
			}
			continue
		}
		if !f.IsExported() {
			continue // an embedded unexported type that is not inlined cannot be set
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if _, dup := info.fields[name]; dup {
			return fmt.Errorf("field %s: key %q is used twice", f.Name, name)
		}
		info.fields[name] = idx
		info.keys = append(info.keys, name)
	}
	return nil
}

// ConfigField is one key of a config struct, as the loader decodes it.
type ConfigField struct {
	Key   string
	Index []int // field index path, through inlined structs
	Field reflect.StructField
}

// ConfigFields lists the keys of config struct type t (or a pointer to one) in field order, by
// the rules the loader decodes with, so what `drill list` documents is what the loader accepts.
func ConfigFields(t reflect.Type) ([]ConfigField, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	info := &structInfo{fields: map[string][]int{}}
	if err := collectFields(t, nil, info, map[reflect.Type]bool{}); err != nil {
		return nil, err
	}
	out := make([]ConfigField, 0, len(info.keys))
	for _, k := range info.keys {
		idx := info.fields[k]
		out = append(out, ConfigField{Key: k, Index: idx, Field: t.FieldByIndex(idx)})
	}
	return out, nil
}
