package main

import (
	"github.com/drillhq/drill/backends/etcdenv"
	"github.com/drillhq/drill/faults/etcdfault"
	"github.com/drillhq/drill/probes/etcdprobe"
	"github.com/drillhq/drill/runner"
)

// etcdOptions carries the `drill run` flags the etcd connector needs.
type etcdOptions struct {
	keepLab    bool   // --keep-lab: leave a drill's lab running afterwards
	etcdBinary string // --etcd-binary: etcd server to run the lab with (default: ./bin, PATH)
	labFsync   bool   // --lab-fsync (optional): lab members fsync like production
}

// registerEtcd adds the etcd connector (starts the lab of environment.etcd.lab, or connects to
// environment.etcd.endpoints) and every etcd fault, step and probe type. Nothing is started
// here: the connector acts only when a scenario asks for etcd.
func registerEtcd(r *runner.Registry, o etcdOptions) {
	r.AddEnvironment(etcdenv.EnvironmentType())
	r.AddResource(etcdenv.LabResourceType())
	r.AddConnector(etcdenv.NewConnector(etcdenv.ConnectorOptions{KeepLab: o.keepLab, Binary: o.etcdBinary, LabFsync: o.labFsync}))

	r.AddFault(etcdfault.KillMemberType())
	r.AddFault(etcdfault.KillQuorumType())

	r.AddStep(etcdfault.RestartMemberType())
	r.AddStep(etcdfault.ReplaceMemberType())
	r.AddStep(etcdfault.SnapshotSaveType())
	r.AddStep(etcdfault.RestoreClusterType())

	r.AddProbe(etcdprobe.HealthType())
	r.AddProbe(etcdprobe.WritesType())
	r.AddProbe(etcdprobe.ConsistencyType())
}
