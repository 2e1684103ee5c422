package awsfault

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// BreakHealthCheckConfig is the `with:` block of aws:route53:break-health-check. The health
// check is named by id, or by the record that uses it.
type BreakHealthCheckConfig struct {
	HealthCheckID string    `yaml:"healthCheckId" doc:"health check id (or give record)"`
	Record        RecordRef `yaml:"record" doc:"the record whose health check to break: {zone, name, type, setIdentifier}"`
}

// Validate implements scenarios.Validator.
func (c *BreakHealthCheckConfig) Validate() error {
	hasRecord := c.Record != (RecordRef{})
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

// BreakHealthCheckType is the aws:route53:break-health-check fault: it inverts the health
// check, so a healthy endpoint reports unhealthy and Route 53 fails over as it would in a real
// outage of the endpoint. Revert writes back the exact configuration found before.
func BreakHealthCheckType() runner.FaultType {
	return runner.FaultType{
		Name:      "aws:route53:break-health-check",
		Summary:   "Make a Route 53 health check report unhealthy (inverts it); revert restores the previous config",
		NewConfig: func() any { return &BreakHealthCheckConfig{} },
		New: func(cfg any, env *runner.Env) (runner.Fault, error) {
			c, err := ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &BreakHealthCheck{cfg: *cfg.(*BreakHealthCheckConfig), clients: c}, nil
		},
	}
}

// BreakHealthCheck is the fault.
type BreakHealthCheck struct {
	cfg     BreakHealthCheckConfig
	clients *Clients
}

// HealthCheckID resolves the configured health check id.
func (f *BreakHealthCheck) HealthCheckID(ctx context.Context) (string, error) {
	return ResolveHealthCheckID(ctx, f.clients.Route53(), f.cfg.HealthCheckID, f.cfg.Record)
}

// ResolveHealthCheckID returns id, or the health check of the referenced record.
func ResolveHealthCheckID(ctx context.Context, api *route53.Client, id string, r RecordRef) (string, error) {
	if id != "" {
		return id, nil
	}
	_, rs, err := FindRecord(ctx, api, r)
	if err != nil {
		return "", err
	}
	if rs.HealthCheckId == nil {
		return "", fmt.Errorf("record %s has no health check", r)
	}
	return *rs.HealthCheckId, nil
}

// Plan implements runner.Planner.
func (f *BreakHealthCheck) Plan(ctx context.Context) ([]string, error) {
	id, err := f.HealthCheckID(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := getHealthCheck(ctx, f.clients.Route53(), id); err != nil {
		return nil, err
	}
	return []string{id}, nil
}

func getHealthCheck(ctx context.Context, api *route53.Client, id string) (*r53types.HealthCheck, error) {
	out, err := api.GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: &id})
	if err != nil {
		return nil, fmt.Errorf("get health check %s: %w", id, err)
	}
	if out.HealthCheck == nil || out.HealthCheck.HealthCheckConfig == nil {
		return nil, fmt.Errorf("get health check %s: empty answer", id)
	}
	return out.HealthCheck, nil
}

// Inject implements runner.Fault.
func (f *BreakHealthCheck) Inject(ctx context.Context) (runner.Injection, error) {
	id, err := f.HealthCheckID(ctx)
	if err != nil {
		return runner.Injection{}, err
	}
	api := f.clients.Route53()
	before, err := getHealthCheck(ctx, api, id)
	if err != nil {
		return runner.Injection{}, err
	}
	prev := *before.HealthCheckConfig
	inverted := !aws.ToBool(prev.Inverted)
	_, err = api.UpdateHealthCheck(ctx, &route53.UpdateHealthCheckInput{
		HealthCheckId:      &id,
		HealthCheckVersion: before.HealthCheckVersion, // fails rather than clobber a concurrent edit
		Inverted:           &inverted,
	})
	inj := runner.Injection{Targets: []string{id}}
	if err != nil {
		return inj, fmt.Errorf("invert health check %s: %w", id, err)
	}
	inj.Revert = func(ctx context.Context) error { return restoreHealthCheck(ctx, api, id, prev) }
	return inj, nil
}

// restoreHealthCheck writes back every updatable field of prev; fields prev did not have are
// reset if they have been set since.
func restoreHealthCheck(ctx context.Context, api *route53.Client, id string, prev r53types.HealthCheckConfig) error {
	now, err := getHealthCheck(ctx, api, id)
	if err != nil {
		return err
	}
	cur := now.HealthCheckConfig
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
