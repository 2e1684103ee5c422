// Package awsenv is the AWS backend's shared home: the `environment.aws` block, the connector
// and SDK clients, target selection and the describe helpers that AWS faults, steps and probes
// share. faults/awsfault and probes/awsprobe import it and never each other.
package awsenv

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

var accountIDRE = regexp.MustCompile(`^[0-9]{12}$`)

// Env is the `environment.aws` block. A run is an emulator run only when every client's
// resolved endpoint is on loopback, or Emulator says so and the endpoint is really used.
type Env struct {
	Region        string   `yaml:"region" doc:"default region for faults, steps and probes"`
	Endpoint      string   `yaml:"endpoint" doc:"emulator endpoint URL (default AWS_ENDPOINT_URL); empty means real AWS"`
	Emulator      bool     `yaml:"emulator" doc:"the endpoint is an emulator although not on loopback (e.g. LocalStack on another host)"`
	AllowAccounts []string `yaml:"allowAccounts" doc:"12-digit account IDs a real-AWS run may touch (checked with STS)"`
}

// Validate implements scenarios.Validator.
func (e *Env) Validate() error {
	var errs []error
	if msg := scenarios.CheckURL(e.Endpoint); e.Endpoint != "" && msg != "" {
		errs = append(errs, scenarios.ValueErrorf("endpoint", "%s", msg))
	}
	for i, id := range e.AllowAccounts {
		if !accountIDRE.MatchString(id) {
			errs = append(errs, scenarios.ValueErrorf(fmt.Sprintf("allowAccounts[%d]", i), "want a 12-digit AWS account ID, got %q", id))
		}
	}
	return errors.Join(errs...)
}

// EnvironmentType declares the `environment.aws` block to the registry.
func EnvironmentType() runner.EnvironmentType {
	return runner.NewEnvironmentType(blockName, "AWS clients: region, emulator endpoint, accounts a real-AWS run may touch",
		func() *Env { return &Env{} })
}

// Of returns the scenario's `environment.aws` block, or nil.
func Of(s *scenarios.Scenario) *Env { return runner.EnvironmentOf[Env](s, blockName) }

const blockName = "aws"
