// Package scenarios holds the drill scenario model (format version 1, see docs/DESIGN.md §2),
// loads it from YAML with positioned errors, and validates it against the registered types.
package scenarios

import (
	"fmt"
	"time"

	"github.com/drillhq/drill/internal/redact"
)

// Scenario is one loaded, validated drill. Durations are already parsed; `with:` blocks are
// decoded into the typed config struct the registered type declares.
type Scenario struct {
	File        string // path as given; used in error positions and reports
	SHA256      string // hex digest of the file's bytes, for the evidence trail
	Version     int
	Name        string
	Description string
	System      string
	Owner       string
	Tags        []string
	Cadence     string
	Objectives  Objectives
	Environment Environment
	Probes      []ProbeSpec
	SteadyState []string
	Prepare     []StepSpec
	Faults      []StepSpec
	Recovery    []StepSpec
	Rollback    []StepSpec
	Limits      Limits
	// Secrets are the values ${VAR} expansion took from the environment that could be
	// credentials (see isSecretValue). Every output of a run passes through Secrets.Apply; nil
	// (a Scenario built in code) still scrubs URL credentials and query strings. It is never
	// marshalled: the set is the secrets themselves.
	Secrets *redact.Secrets `json:"-" yaml:"-"`
	// Source is the file's bytes as written, the text SHA256 digests: ${VAR} references stay
	// unexpanded. The history keeps it so an evidence bundle can show what a run executed. Nil
	// when the text holds a value expansion took as a secret (see Secrets): nothing that keeps
	// the text redacts it, and redacting would break its digest. Never marshalled.
	Source []byte `json:"-" yaml:"-"`
}

// Objectives are the targets the drill is judged against.
type Objectives struct {
	RTO time.Duration
	// RPO is nil when the scenario sets no RPO target.
	RPO *time.Duration
}

// Environment holds the decoded `environment:` blocks keyed by block name ("etcd", "aws"). Each
// backend declares its block's config to the Catalog (KindEnvironment) and reads it back with
// runner.EnvironmentOf, so this package knows no backend and a new backend needs no change here.
type Environment map[string]any

// Probe roles (docs/DESIGN.md §3).
const (
	RoleAvailability = "availability"
	RoleData         = "data"
	RoleGuard        = "guard"
)

// Defaults applied by the loader when a key is absent.
const (
	DefaultProbeInterval   = 1 * time.Second
	DefaultProbeTimeout    = 1 * time.Second
	DefaultTimeout         = 10 * time.Minute
	DefaultObserve         = 5 * time.Second
	DefaultRollbackTimeout = 5 * time.Minute
	// MinProbeInterval is the shortest probe interval accepted: a probe samples its target
	// open-loop, once per interval, so a shorter one would load the target rather than watch it.
	MinProbeInterval = time.Millisecond
)

// ProbeSpec is one entry of `probes:`.
type ProbeSpec struct {
	Name     string
	Type     string
	Role     string // RoleAvailability when absent
	Interval time.Duration
	Timeout  time.Duration
	With     any // pointer to the type's config struct
	Pos      Position
}

// StepSpec is one entry of `faults:`, `prepare:`, `recovery:` or `rollback:`.
type StepSpec struct {
	Name  string
	Type  string
	After time.Duration
	// ContinueOnError (recovery steps only) lets the runbook go on when this step fails;
	// otherwise a failed recovery step ends the drill at once, since the recovery it was part
	// of can no longer come.
	ContinueOnError bool
	With            any // pointer to the type's config struct
	Pos             Position
}

// Limits bound the drill in time.
type Limits struct {
	Timeout  time.Duration // whole drill, from the start of probing to the end of observation
	Observe  time.Duration // how long recovery must hold
	Rollback time.Duration // budget for rollback, which runs even after Ctrl-C
}

// Position points into a scenario file; lines and columns are 1-based.
type Position struct {
	File   string
	Line   int
	Column int
}

func (p Position) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}
