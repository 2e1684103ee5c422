package awsfault

import (
	"context"
	"fmt"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// BreakHealthCheckConfig is the `with:` block of aws:route53:break-health-check. The health
// check is named by id, or by the record that uses it.
type BreakHealthCheckConfig struct {
	HealthCheckID string           `yaml:"healthCheckId" doc:"health check id (or give record)"`
	Record        awsenv.RecordRef `yaml:"record" doc:"the record whose health check to break: {zone, name, type, setIdentifier}"`
}

// Validate implements scenarios.Validator.
func (c *BreakHealthCheckConfig) Validate() error {
	hasRecord := c.Record != (awsenv.RecordRef{})
	switch {
	case c.HealthCheckID != "" && hasRecord:
		return scenarios.FieldErrorf("healthCheckId", "give healthCheckId or record, not both")
	case c.HealthCheckID == "" && !hasRecord:
		return scenarios.FieldErrorf("healthCheckId", "give healthCheckId or record")
	case hasRecord:
		return c.Record.Validate("record.")
	}
	return nil
}

// BreakHealthCheckType is the aws:route53:break-health-check fault: it sets the health check
// inverted, so a healthy endpoint reports unhealthy and Route 53 fails over as it would in a
// real outage of the endpoint. A check that is inverted already is refused as not in steady
// state. Revert writes back the exact configuration found before.
func BreakHealthCheckType() runner.FaultType {
	return runner.NewFaultType("aws:route53:break-health-check",
		"Make a Route 53 health check report unhealthy (inverts it); revert restores the previous config",
		func() *BreakHealthCheckConfig { return &BreakHealthCheckConfig{} },
		func(cfg *BreakHealthCheckConfig, env *runner.Env) (runner.Fault, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &breakHealthCheckFault{cfg: *cfg, clients: c, env: env}, nil
		},
		runner.WithRecover(recoverBreakHealthCheck))
}

// breakHealthCheckRecord is what the fault journals before inverting: the health check and its
// whole configuration as found, which is what the revert writes back.
type breakHealthCheckRecord struct {
	awsenv.Where
	HealthCheckID string                     `json:"healthCheckId"`
	Previous      r53types.HealthCheckConfig `json:"previous"`
}

// recoverBreakHealthCheck writes back the journaled configuration, unless the check already
// has it (then it makes no call that would bump the check's version).
func recoverBreakHealthCheck(ctx context.Context, _ *runner.Env, rec *breakHealthCheckRecord) error {
	c, err := awsenv.RecoverClients(ctx, rec.Where, awsenv.RecoverOptions{})
	if err != nil {
		return err
	}
	return restoreHealthCheck(ctx, c.Route53(), rec.HealthCheckID, rec.Previous)
}

// breakHealthCheckFault is the fault.
type breakHealthCheckFault struct {
	cfg     BreakHealthCheckConfig
	clients *awsenv.Clients
	env     *runner.Env
}

// healthCheckID resolves the configured health check id.
func (f *breakHealthCheckFault) healthCheckID(ctx context.Context) (string, error) {
	return awsenv.ResolveHealthCheckID(ctx, f.clients.Route53(), f.cfg.HealthCheckID, f.cfg.Record)
}

// Plan implements runner.Planner.
func (f *breakHealthCheckFault) Plan(ctx context.Context) ([]string, error) {
	id, err := f.healthCheckID(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := awsenv.HealthCheck(ctx, f.clients.Route53(), id); err != nil {
		return nil, err
	}
	return []string{id}, nil
}

// Inject implements runner.Fault.
func (f *breakHealthCheckFault) Inject(ctx context.Context) (runner.Injection, error) {
	id, err := f.healthCheckID(ctx)
	if err != nil {
		return runner.Injection{}, err
	}
	api := f.clients.Route53()
	before, err := awsenv.HealthCheck(ctx, api, id)
	if err != nil {
		return runner.Injection{}, err
	}
	prev := *before.HealthCheckConfig
	if aws.ToBool(prev.Inverted) {
		return runner.Injection{}, notSteady("health check "+id, "it is already inverted")
	}
	rec := breakHealthCheckRecord{Where: f.clients.WhereOf(""), HealthCheckID: id, Previous: prev}
	if err := f.env.Journal(ctx, []string{id}, rec); err != nil {
		return runner.Injection{}, err
	}
	// The revert is in place before the update: an update AWS applied whose answer was lost
	// (timeout, Ctrl-C) must still be undone.
	inj := runner.Injection{Targets: []string{id}, Revert: func(ctx context.Context) error { return restoreHealthCheck(ctx, api, id, prev) }}
	_, err = api.UpdateHealthCheck(ctx, &route53.UpdateHealthCheckInput{
		HealthCheckId:      &id,
		HealthCheckVersion: before.HealthCheckVersion, // fails rather than clobber a concurrent edit
		Inverted:           aws.Bool(true),
	})
	if err != nil {
		if refused(err) {
			// Nothing changed, and restoring prev would undo whatever edit beat us to it.
			inj.Revert = nil
		}
		return inj, fmt.Errorf("invert health check %s: %w", id, err)
	}
	return inj, nil
}

// restoreHealthCheck writes back every updatable field of prev; fields prev did not have are
// reset if they have been set since.
func restoreHealthCheck(ctx context.Context, api *route53.Client, id string, prev r53types.HealthCheckConfig) error {
	now, err := awsenv.HealthCheck(ctx, api, id)
	if err != nil {
		return err
	}
	cur := now.HealthCheckConfig
	if reflect.DeepEqual(*cur, prev) {
		// Already as found (reverted by the drill, or by a recover that ran before): nothing to do.
		return nil
	}
	in := &route53.UpdateHealthCheckInput{
		HealthCheckId:                &id,
		HealthCheckVersion:           now.HealthCheckVersion,
		IPAddress:                    prev.IPAddress,
		Port:                         prev.Port,
		ResourcePath:                 prev.ResourcePath,
		FullyQualifiedDomainName:     prev.FullyQualifiedDomainName,
		SearchString:                 prev.SearchString,
		FailureThreshold:             prev.FailureThreshold,
		Inverted:                     prev.Inverted,
		Disabled:                     prev.Disabled,
		HealthThreshold:              prev.HealthThreshold,
		ChildHealthChecks:            prev.ChildHealthChecks,
		EnableSNI:                    prev.EnableSNI,
		Regions:                      prev.Regions,
		AlarmIdentifier:              prev.AlarmIdentifier,
		InsufficientDataHealthStatus: prev.InsufficientDataHealthStatus,
	}
	if in.Inverted == nil {
		in.Inverted = aws.Bool(false)
	}
	if prev.ResourcePath == nil && cur.ResourcePath != nil {
		in.ResetElements = append(in.ResetElements, r53types.ResettableElementNameResourcePath)
	}
	if prev.FullyQualifiedDomainName == nil && cur.FullyQualifiedDomainName != nil {
		in.ResetElements = append(in.ResetElements, r53types.ResettableElementNameFullyQualifiedDomainName)
	}
	if len(prev.Regions) == 0 && len(cur.Regions) > 0 {
		in.ResetElements = append(in.ResetElements, r53types.ResettableElementNameRegions)
	}
	if len(prev.ChildHealthChecks) == 0 && len(cur.ChildHealthChecks) > 0 {
		in.ResetElements = append(in.ResetElements, r53types.ResettableElementNameChildHealthChecks)
	}
	if _, err := api.UpdateHealthCheck(ctx, in); err != nil {
		return fmt.Errorf("restore health check %s: %w", id, err)
	}
	return nil
}
