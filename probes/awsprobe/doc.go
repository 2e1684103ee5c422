// Package awsprobe holds the AWS probes: EC2 instance and volume states, auto-scaling
// InService capacity, Route 53 health checks and records, RDS instance status and DRS
// replication. One file per type; cmd/drill registers them.
//
// Check may be called concurrently (the runner samples open-loop) and gets the sample's
// deadline in ctx. Against an emulator some probes read the next-most-real source, as their
// docs say (moto does not evaluate health checks nor answer TestDNSAnswer).
package awsprobe

import (
	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/scenarios"
)

// validateSelector checks targets used to count resources: selection modes make no sense there.
func validateSelector(t awsenv.Targets, field string) error {
	if err := t.Validate(field); err != nil {
		return err
	}
	if !t.Select.IsAll() {
		return scenarios.FieldErrorf(field+".select", "not used by a probe: every match is counted")
	}
	return nil
}
