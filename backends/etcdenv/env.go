// Package etcdenv is the etcd backend's shared home: the `environment.etcd` block, the
// connector that starts a lab or reaches existing endpoints, and the cluster lookup that etcd
// faults and probes share. faults/etcdfault and probes/etcdprobe import it; they never import
// each other, and etcdlab (the process manager) knows nothing of drills.
package etcdenv

import (
	"errors"
	"fmt"

	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

const (
	// DefaultLabMembers is the lab cluster size when `lab:` gives no members.
	DefaultLabMembers = 3
	maxLabMembers     = 9
)

// Env is the `environment.etcd` block: either a local lab cluster started for the drill or
// existing endpoints.
type Env struct {
	Lab       *Lab     `yaml:"lab" doc:"start a fresh local cluster of real etcd processes for the drill"`
	Endpoints []string `yaml:"endpoints" doc:"client URLs of an existing cluster"`
}

// Lab asks for a local cluster of real etcd processes.
type Lab struct {
	Members       int                `yaml:"members" doc:"cluster size (1-9)"`
	SnapshotEvery scenarios.Duration `yaml:"snapshotEvery" doc:"take a periodic snapshot this often (0: none)"`
	SnapshotKeep  int                `yaml:"snapshotKeep" doc:"periodic snapshots kept (0: all)"`
}

// SetDefaults implements scenarios.Defaulter: `lab:` alone asks for a default-sized cluster.
func (l *Lab) SetDefaults() { l.Members = DefaultLabMembers }

// Validate implements scenarios.Validator.
func (e *Env) Validate() error {
	var errs []error
	if e.Lab != nil {
		if e.Lab.Members < 1 || e.Lab.Members > maxLabMembers {
			errs = append(errs, scenarios.ValueErrorf("lab.members", "must be between 1 and %d, got %d", maxLabMembers, e.Lab.Members))
		}
		if e.Lab.SnapshotKeep < 0 {
			errs = append(errs, scenarios.ValueErrorf("lab.snapshotKeep", "must not be negative, got %d", e.Lab.SnapshotKeep))
		}
	}
	switch {
	case e.Lab != nil && e.Endpoints != nil:
		errs = append(errs, scenarios.FieldErrorf("endpoints", "set either lab (start a local cluster) or endpoints (use an existing one), not both"))
	case e.Lab == nil && e.Endpoints == nil:
		errs = append(errs, scenarios.FieldErrorf("", "set lab (start a local cluster) or endpoints (use an existing one)"))
	case e.Lab == nil && len(e.Endpoints) == 0:
		errs = append(errs, scenarios.ValueErrorf("endpoints", "list at least one endpoint"))
	}
	for i, ep := range e.Endpoints {
		if msg := scenarios.CheckURL(ep); msg != "" {
			errs = append(errs, scenarios.ValueErrorf(fmt.Sprintf("endpoints[%d]", i), "%s", msg))
		}
	}
	return errors.Join(errs...)
}

// EnvironmentType declares the `environment.etcd` block to the registry.
func EnvironmentType() runner.EnvironmentType {
	return runner.NewEnvironmentType(blockName, "an etcd cluster: a local lab started for the drill, or existing endpoints",
		func() *Env { return &Env{} })
}

// Of returns the scenario's `environment.etcd` block, or nil.
func Of(s *scenarios.Scenario) *Env { return runner.EnvironmentOf[Env](s, blockName) }

const blockName = "etcd"
