package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

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

// FaultType registers a fault. Build one with NewFaultType, which ties the `with:` struct to
// the constructor so no type unpacks its config by hand.
type FaultType struct {
	Name      string
	Summary   string
	NewConfig func() any // a fresh, defaulted `with:` struct; nil when the type takes none
	New       func(cfg any, env *Env) (Fault, error)
	// Recover undoes, from a new process, what a fault of this type journaled with Env.Journal
	// before a drill was killed (see WithRecover). nil: `drill recover` can only tell the user
	// what to revert by hand.
	Recover func(ctx context.Context, env *Env, record json.RawMessage) error
	// NoRevert declares that the type's faults leave nothing to undo (see WithoutRevert).
	NoRevert bool

	// checkRecord decodes a record strictly into the type's record struct, so a fault that
	// journals something its Recover cannot read fails at injection, not in a recovery.
	checkRecord func(record json.RawMessage) error
}

// FaultOption adds optional behaviour to a fault type (see WithRecover).
type FaultOption func(*FaultType)

// WithRecover makes a fault type recoverable after a crash. The fault's Inject calls
// env.Journal(ctx, targets, rec) with a value of type R (or *R) before each change it makes; a
// drill killed before reverting leaves that record, and `drill recover` decodes it into an R and
// calls recover in a new process, with an Env that has no scenario and no connectors: R must
// hold everything the revert needs (ids, region, the script), never a closure's state.
//
// recover must be idempotent: it can run after the drill's own revert half-succeeded, twice if
// recover itself is interrupted, or against a target already back to normal (then it does
// nothing and returns nil). It gets a context Ctrl-C does not cancel.
func WithRecover[R any](recover func(ctx context.Context, env *Env, rec *R) error) FaultOption {
	return func(t *FaultType) {
		t.checkRecord = func(raw json.RawMessage) error {
			_, err := decodeRecord[R](raw)
			return err
		}
		t.Recover = func(ctx context.Context, env *Env, raw json.RawMessage) error {
			rec, err := decodeRecord[R](raw)
			if err != nil {
				return fmt.Errorf("recover %s: %w", t.Name, err)
			}
			return recover(ctx, env, rec)
		}
	}
}

// WithoutRevert declares a fault type whose faults leave nothing to undo: a reboot, or a change
// irreversible by design. `drill recover` closes such a fault a killed drill left with "nothing
// to undo" instead of asking for a revert by hand, and a fault of the type that returns a Revert
// fails the run, so the declaration cannot go stale.
func WithoutRevert() FaultOption {
	return func(t *FaultType) { t.NoRevert = true }
}

// With returns t with options applied, for types written as a FaultType literal:
// `return runner.FaultType{...}.With(runner.WithRecover(recoverStopped))`.
func (t FaultType) With(opts ...FaultOption) FaultType {
	for _, o := range opts {
		o(&t)
	}
	return t
}

func decodeRecord[R any](raw json.RawMessage) (*R, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	rec := new(R)
	if err := dec.Decode(rec); err != nil {
		return nil, fmt.Errorf("journal record is not a %T: %w", *rec, err)
	}
	return rec, nil
}

// StepType registers a prepare/recovery/rollback step type (see NewStepType).
type StepType struct {
	Name      string
	Summary   string
	NewConfig func() any
	New       func(cfg any, env *Env) (Step, error)
	// RestorePoint declares that the step restores from a backup and reports the recovery
	// point it restored to with Env.RecoveryPoint: an RPO objective can be judged by it.
	RestorePoint bool
}

// ProbeType registers a probe (see NewProbeType). New gets the probe's full spec (interval,
// timeout, role) too.
type ProbeType struct {
	Name      string
	Summary   string
	NewConfig func() any
	New       func(spec scenarios.ProbeSpec, env *Env) (Probe, error)
	// Data declares that the probe can have role data: New returns a DataProbe. The loader
	// refuses `role: data` on any other type.
	Data bool
}

// ProbeOption declares what a probe type can do beyond taking samples (see AsDataProbe).
type ProbeOption func(*ProbeType)

// StepOption declares what a step type does beyond running (see AsRestorePoint).
type StepOption func(*StepType)

// AsDataProbe declares a probe type whose probes implement DataProbe, so `role: data` is
// allowed on it and it measures RPO.
func AsDataProbe() ProbeOption { return func(t *ProbeType) { t.Data = true } }

// AsRestorePoint declares a step type that calls Env.RecoveryPoint with the point in time it
// restored to, so a scenario with an RPO objective and no data probe is judged by it.
func AsRestorePoint() StepOption { return func(t *StepType) { t.RestorePoint = true } }

// EnvironmentType registers an `environment:` block a backend reads (see NewEnvironmentType).
type EnvironmentType struct {
	Name      string
	Summary   string
	NewConfig func() any
}

// NewFaultType registers a fault whose `with:` block decodes into C. defaults returns a fresh,
// defaulted config; nil means the type takes no `with:` (build then gets nil).
func NewFaultType[C any](name, summary string, defaults func() *C, build func(cfg *C, env *Env) (Fault, error), opts ...FaultOption) FaultType {
	t := FaultType{Name: name, Summary: summary, NewConfig: newConfig(defaults),
		New: func(cfg any, env *Env) (Fault, error) {
			c, err := configAs(name, cfg, defaults)
			if err != nil {
				return nil, err
			}
			return build(c, env)
		}}
	for _, o := range opts {
		o(&t)
	}
	return t
}

// NewStepType registers a step whose `with:` block decodes into C (see NewFaultType).
// opts declare capabilities (AsRestorePoint).
func NewStepType[C any](name, summary string, defaults func() *C, build func(cfg *C, env *Env) (Step, error), opts ...StepOption) StepType {
	t := StepType{Name: name, Summary: summary, NewConfig: newConfig(defaults),
		New: func(cfg any, env *Env) (Step, error) {
			c, err := configAs(name, cfg, defaults)
			if err != nil {
				return nil, err
			}
			return build(c, env)
		}}
	for _, o := range opts {
		o(&t)
	}
	return t
}

// NewProbeType registers a probe whose `with:` block decodes into C (see NewFaultType).
// opts declare capabilities (AsDataProbe).
func NewProbeType[C any](name, summary string, defaults func() *C, build func(cfg *C, spec scenarios.ProbeSpec, env *Env) (Probe, error), opts ...ProbeOption) ProbeType {
	t := ProbeType{Name: name, Summary: summary, NewConfig: newConfig(defaults),
		New: func(spec scenarios.ProbeSpec, env *Env) (Probe, error) {
			c, err := configAs(name, spec.With, defaults)
			if err != nil {
				return nil, err
			}
			return build(c, spec, env)
		}}
	for _, o := range opts {
		o(&t)
	}
	return t
}

// With returns the type with more capabilities declared: for registering a type whose
// constructor does not declare them itself.
func (t ProbeType) With(opts ...ProbeOption) ProbeType {
	for _, o := range opts {
		o(&t)
	}
	return t
}

// With returns the type with more capabilities declared (see ProbeType.With).
func (t StepType) With(opts ...StepOption) StepType {
	for _, o := range opts {
		o(&t)
	}
	return t
}

// NewEnvironmentType registers the `environment.<name>` block, decoded into C like a `with:`
// block (yaml and doc tags, optional Validate). Read it back with EnvironmentOf.
func NewEnvironmentType[C any](name, summary string, defaults func() *C) EnvironmentType {
	return EnvironmentType{Name: name, Summary: summary, NewConfig: newConfig(defaults)}
}

// EnvironmentOf returns the scenario's decoded `environment.<name>` block, or nil when the
// scenario has none (or it was registered with another config type).
func EnvironmentOf[C any](s *scenarios.Scenario, name string) *C {
	if s == nil {
		return nil
	}
	c, _ := s.Environment[name].(*C)
	return c
}

func newConfig[C any](defaults func() *C) func() any {
	if defaults == nil {
		return nil
	}
	return func() any { return defaults() }
}

// configAs unpacks a decoded config and validates it again: a spec built in code rather than
// loaded skipped the loader's checks (and one with no config gets the defaults).
func configAs[C any](typ string, cfg any, defaults func() *C) (*C, error) {
	if defaults == nil {
		return nil, nil
	}
	var c *C
	if cfg == nil {
		c = defaults()
	} else {
		var ok bool
		if c, ok = cfg.(*C); !ok || c == nil {
			return nil, fmt.Errorf("%s: config is %T, want %T", typ, cfg, (*C)(nil))
		}
	}
	if v, ok := any(c).(scenarios.Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", typ, err)
		}
	}
	return c, nil
}

// ResourceType is a kind of thing a connector sets up for one drill and takes down at its end,
// such as a lab (processes and a directory), declared so that a drill killed before its cleanup
// leaves a journal record `drill recover` can remove it from. The connector calls
// Env.JournalResource with a record of type R before creating anything, and
// Env.ResourceRemoved once it took it down; recover, from a new process with no scenario and no
// connectors, decodes the record and calls Recover. As for faults (WithRecover), Recover must be
// idempotent: a resource already gone is a no-op returning nil.
type ResourceType struct {
	Name    string
	Summary string
	Recover func(ctx context.Context, env *Env, record json.RawMessage) error

	checkRecord func(record json.RawMessage) error
}

// NewResourceType declares a resource type whose journal record is an R.
func NewResourceType[R any](name, summary string, recover func(ctx context.Context, env *Env, rec *R) error) ResourceType {
	t := ResourceType{Name: name, Summary: summary}
	t.checkRecord = func(raw json.RawMessage) error {
		_, err := decodeRecord[R](raw)
		return err
	}
	t.Recover = func(ctx context.Context, env *Env, raw json.RawMessage) error {
		rec, err := decodeRecord[R](raw)
		if err != nil {
			return fmt.Errorf("recover %s: %w", name, err)
		}
		return recover(ctx, env, rec)
	}
	return t
}

// Registry holds the types and connectors a build knows. cmd/drill fills it explicitly.
type Registry struct {
	resources    map[string]ResourceType
	faults       map[string]FaultType
	steps        map[string]StepType
	probes       map[string]ProbeType
	environments map[string]EnvironmentType
	connectors   []Connector
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{resources: map[string]ResourceType{}, faults: map[string]FaultType{}, steps: map[string]StepType{}, probes: map[string]ProbeType{}, environments: map[string]EnvironmentType{}}
}

// AddFault registers a fault type; registering a name twice panics (a programming error).
func (r *Registry) AddFault(t FaultType) {
	mustNew(r.faults, t.Name)
	r.faults[t.Name] = t
}

// Fault returns a registered fault type (drill recover finds a journal record's Recover here).
func (r *Registry) Fault(name string) (FaultType, bool) {
	t, ok := r.faults[name]
	return t, ok
}

// AddResource registers a resource type connectors journal (see ResourceType).
func (r *Registry) AddResource(t ResourceType) {
	mustNew(r.resources, t.Name)
	r.resources[t.Name] = t
}

// Resource returns a registered resource type (drill recover finds a journal record's Recover
// here).
func (r *Registry) Resource(name string) (ResourceType, bool) {
	t, ok := r.resources[name]
	return t, ok
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

// AddEnvironment registers an `environment:` block.
func (r *Registry) AddEnvironment(t EnvironmentType) {
	mustNew(r.environments, t.Name)
	r.environments[t.Name] = t
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
	case scenarios.KindEnvironment:
		t, ok := r.environments[name]
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

// DataProbe implements scenarios.RPOCatalog.
func (r *Registry) DataProbe(name string) bool { return r.probes[name].Data }

// RestorePoint implements scenarios.RPOCatalog.
func (r *Registry) RestorePoint(name string) bool { return r.steps[name].RestorePoint }

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
	case scenarios.KindEnvironment:
		names = keys(r.environments)
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

// ConfigFields documents a config struct pointer's keys, by the loader's own rules
// (scenarios.ConfigFields): the `doc` tag describes a key, and non-zero values in cfg are shown
// as defaults.
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
	keys, err := scenarios.ConfigFields(v.Type())
	if err != nil {
		return nil
	}
	out := make([]Field, 0, len(keys))
	for _, k := range keys {
		f := Field{Key: k.Key, Type: typeName(k.Field.Type), Doc: k.Field.Tag.Get("doc")}
		if fv, err := v.FieldByIndexErr(k.Index); err == nil && !fv.IsZero() {
			f.Default = fmt.Sprint(defaultString(fv))
		}
		out = append(out, f)
	}
	return out
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
