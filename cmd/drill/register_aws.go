package main

import (
	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/faults/awsfault"
	"github.com/drillhq/drill/probes/awsprobe"
	"github.com/drillhq/drill/runner"
)

// awsOptions carries the `drill run` flags the AWS connector needs.
type awsOptions struct {
	yes bool // --yes: allow a real AWS account that environment.aws.allowAccounts does not list
}

// registerAWS adds the AWS connector (builds SDK clients for environment.aws, resolving the
// endpoint from the scenario or AWS_ENDPOINT_URL, and refuses real AWS accounts not in
// allowAccounts unless --yes) and every AWS fault, step and probe type.
func registerAWS(r *runner.Registry, a *app, o awsOptions) {
	r.AddEnvironment(awsenv.EnvironmentType())
	r.AddConnector(awsenv.NewConnector(awsenv.ConnectorOptions{Yes: o.yes, Getenv: a.getenv}))

	r.AddFault(awsfault.StopInstancesType())
	r.AddFault(awsfault.RebootInstancesType())
	r.AddFault(awsfault.TerminateInstancesType())
	r.AddFault(awsfault.SuspendProcessesType())
	r.AddFault(awsfault.BreakHealthCheckType())
	r.AddFault(awsfault.RebootDBInstanceType())
	r.AddFault(awsfault.FailoverDBClusterType())
	r.AddFault(awsfault.SendCommandType())
	r.AddFault(awsfault.StartRecoveryDrillType())

	r.AddStep(awsfault.StartInstancesType())
	r.AddStep(awsfault.StopInstancesStepType())
	r.AddStep(awsfault.SetDesiredCapacityType())
	r.AddStep(awsfault.UpsertRecordType())
	r.AddStep(awsfault.PromoteReadReplicaType())
	r.AddStep(awsfault.PublishType())
	r.AddStep(awsfault.RestoreVolumeType())
	r.AddStep(awsfault.DeleteRestoredVolumesType())
	r.AddStep(awsfault.RestoreDBInstanceType())
	r.AddStep(awsfault.DeleteRestoredDBInstanceType())

	r.AddProbe(awsprobe.EC2InstancesType())
	r.AddProbe(awsprobe.EC2VolumesType())
	r.AddProbe(awsprobe.ASGInServiceType())
	r.AddProbe(awsprobe.Route53HealthCheckType())
	r.AddProbe(awsprobe.Route53RecordType())
	r.AddProbe(awsprobe.RDSInstanceType())
	r.AddProbe(awsprobe.DRSReplicationType())
	r.AddProbe(awsprobe.DynamoDBWritesType())
	r.AddProbe(awsprobe.S3WritesType())
}
