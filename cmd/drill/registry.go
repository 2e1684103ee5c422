package main

import (
	"github.com/drillhq/drill/faults"
	"github.com/drillhq/drill/probes"
	"github.com/drillhq/drill/runner"
)

// registryOptions carries run-time flags that some types and connectors need.
type registryOptions struct {
	aws  awsOptions
	etcd etcdOptions
}

// newRegistry lists every fault, step, probe and connector this build knows. Registration is
// explicit on purpose: what a build can do is readable in one place.
func newRegistry(a *app, o registryOptions) *runner.Registry {
	r := runner.NewRegistry()

	r.AddProbe(probes.HTTPType(probes.NewHTTPClient()))
	r.AddProbe(probes.TCPType())
	r.AddProbe(probes.CommandType())
	r.AddProbe(probes.DNSType())

	r.AddFault(faults.CommandFaultType())
	r.AddStep(faults.CommandStepType())

	registerAWS(r, a, o.aws)
	registerEtcd(r, o.etcd)
	registerSQL(r)
	return r
}
