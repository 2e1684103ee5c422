package scenarios

import (
	"errors"
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Kind is the section a type may be used in.
type Kind string

const (
	KindProbe Kind = "probe" // entries of probes:
	KindFault Kind = "fault" // entries of faults:
	KindStep  Kind = "step"  // entries of prepare:, recovery: and rollback:
	// KindEnvironment names the blocks of `environment:`; each backend declares its block's
	// config like a type's `with:` struct.
	KindEnvironment Kind = "environment"
)

// Catalog is what the loader needs to know about registered types. runner.Registry implements it;
// tests may use a small map-backed one.
type Catalog interface {
	// NewConfig returns a pointer to a fresh, defaulted `with:` struct for the type, or ok=false
	// when the type is not registered for that kind. A nil config means the type takes no fields.
	NewConfig(kind Kind, typeName string) (cfg any, ok bool)
	// TypeNames lists the registered types of a kind, sorted, for "unknown type" errors.
	TypeNames(kind Kind) []string
}

// Validator is implemented by `with:` structs that check their own values after decoding.
// Return FieldError values (joined with errors.Join) to point the error at a key.
type Validator interface {
	Validate() error
}

// RevertBounded is implemented by a fault's `with:` struct when its revert has a time limit of
// its own (the command fault's timeout). The loader rejects a limit longer than
// limits.rollback, which could never be granted, and the runner gives such a revert at least
// that long. field names the key holding the limit, for the error's position.
type RevertBounded interface {
	RevertTimeout() (d time.Duration, field string)
}

// FieldError is a validation error about one key of a `with:` block, e.g. {Field: "url"}.
// The error points at the key, or at the key's value when AtValue is set (a bad value rather
// than a bad combination of keys).
type FieldError struct {
	Field   string
	Msg     string
	AtValue bool
}

func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

// FieldErrorf builds a FieldError.
func FieldErrorf(field, format string, args ...any) error {
	return FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ValueErrorf builds a FieldError that points at the field's value.
func ValueErrorf(field, format string, args ...any) error {
	return FieldError{Field: field, Msg: fmt.Sprintf(format, args...), AtValue: true}
}

// Defaulter is implemented by config structs nested in a block (a `lab:` inside
// `environment.etcd`) that have defaults of their own. The decoder calls SetDefaults on every
// one it allocates, and a key written with no value (`lab:`) still allocates one: for such a
// struct, naming the key means "on, with defaults" rather than "off".
type Defaulter interface {
	SetDefaults()
}

// AsFieldErrors splits a joined validation error into its FieldErrors; anything else is
// returned with an empty Field.
func AsFieldErrors(err error) []FieldError {
	if err == nil {
		return nil
	}
	var out []FieldError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, AsFieldErrors(e)...)
		}
		return out
	}
	var fe FieldError
	if errors.As(err, &fe) {
		return []FieldError{fe}
	}
	return []FieldError{{Msg: err.Error()}}
}

// Duration is a Go duration string in YAML ("1.5s", "2m"). Use it for durations inside `with:`
// structs so they decode with a clear error. Negative values are rejected.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	// The kind is checked first: a list or mapping has an empty Value, which would otherwise
	// be reported as the confusing `invalid duration ""`.
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a duration like 1.5s, got a %s", kindName(n))
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// ParseDuration parses a non-negative Go duration. A bare "0" is accepted.
func ParseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use Go syntax like 500ms, 1.5s, 2m)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("duration %q must not be negative", s)
	}
	return v, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	case yaml.DocumentNode:
		return "document"
	default:
		return "scalar"
	}
}
