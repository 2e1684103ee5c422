// Package etcdenvtest builds runner Envs holding an etcd lab, for tests of the etcd fault, step
// and probe types. It lives here, not in etcdlab/labtest, so that the lab's own test helper
// stays free of drills.
package etcdenvtest

import (
	"testing"

	"github.com/drillhq/drill/backends/etcdenv"
	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// Env returns a runner Env for a scenario whose faults have the given names, holding the lab as
// the etcd connector would.
func Env(t testing.TB, l *etcdlab.Lab, faults ...string) *runner.Env {
	t.Helper()
	s := &scenarios.Scenario{Name: "labtest"}
	for _, f := range faults {
		s.Faults = append(s.Faults, scenarios.StepSpec{Name: f})
	}
	env := runner.NewEnv(s, nil)
	etcdenv.WithCluster(env, &etcdenv.Cluster{Endpoints: l.Endpoints(), Lab: l})
	return env
}
