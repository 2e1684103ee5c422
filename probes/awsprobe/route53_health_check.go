package awsprobe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// Where a health check's state is read from.
const (
	FromAuto   = "auto"   // status on real AWS, config on an emulator
	FromStatus = "status" // GetHealthCheckStatus: what Route 53's checkers observe
	FromConfig = "config" // the stored config: an inverted check is unhealthy
)

// checkFrom validates a health-source key (from, healthFrom).
func checkFrom(field, v string) error {
	if slices.Contains(fromValues(), v) {
		return nil
	}
	return scenarios.FieldErrorf(field, "want one of %s, got %q", strings.Join(fromValues(), ", "), v)
}

// fromValues are the values of a health-source key, for validation and the schema alike.
func fromValues() []string { return []string{FromAuto, FromStatus, FromConfig} }

// Enums implements scenarios.Enumer.
func (*Route53HealthCheckConfig) Enums() map[string][]string {
	return map[string][]string{"from": fromValues()}
}

// Route53HealthCheckConfig is the `with:` block of the aws-route53-health-check probe.
type Route53HealthCheckConfig struct {
	HealthCheckID string           `yaml:"healthCheckId" doc:"health check id (or give record)"`
	Record        awsenv.RecordRef `yaml:"record" doc:"the record whose health check to watch: {zone, name, type, setIdentifier}"`
	From          string           `yaml:"from" doc:"auto, status or config: auto reads the checkers' status on real AWS and the stored config on an emulator, which does not evaluate health checks"`
}

// Validate implements scenarios.Validator.
func (c *Route53HealthCheckConfig) Validate() error {
	hasRecord := c.Record != (awsenv.RecordRef{})
	var errs []error
	switch {
	case c.HealthCheckID != "" && hasRecord:
		errs = append(errs, scenarios.FieldErrorf("healthCheckId", "give healthCheckId or record, not both"))
	case c.HealthCheckID == "" && !hasRecord:
		errs = append(errs, scenarios.FieldErrorf("healthCheckId", "give healthCheckId or record"))
	case hasRecord:
		errs = append(errs, c.Record.Validate("record."))
	}
	errs = append(errs, checkFrom("from", c.From))
	return errors.Join(errs...)
}

// Route53HealthCheckType is the aws-route53-health-check probe: healthy while the health
// check reports healthy.
func Route53HealthCheckType() runner.ProbeType {
	return runner.NewProbeType("aws-route53-health-check",
		"Healthy while a Route 53 health check reports healthy (emulator: from its stored config)",
		func() *Route53HealthCheckConfig { return &Route53HealthCheckConfig{From: FromAuto} },
		func(cfg *Route53HealthCheckConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &route53HealthCheck{cfg: *cfg, api: c.Route53(), from: resolveFrom(cfg.From, c)}, nil
		})
}

func resolveFrom(from string, c *awsenv.Clients) string {
	if from == FromAuto || from == "" {
		if c.Emulator() {
			return FromConfig
		}
		return FromStatus
	}
	return from
}

type route53HealthCheck struct {
	cfg  Route53HealthCheckConfig
	api  *route53.Client
	from string
}

func (p *route53HealthCheck) Check(ctx context.Context) error {
	id, err := awsenv.ResolveHealthCheckID(ctx, p.api, p.cfg.HealthCheckID, p.cfg.Record)
	if err != nil {
		return err
	}
	return healthCheckHealthy(ctx, p.api, id, p.from)
}

// unhealthyError says the health check answered and is unhealthy, as opposed to a failed call.
type unhealthyError struct{ msg string }

func (e *unhealthyError) Error() string { return e.msg }

func unhealthyf(format string, args ...any) error {
	return &unhealthyError{msg: fmt.Sprintf(format, args...)}
}

// healthCheckHealthy returns nil when the health check is healthy as read from `from`.
func healthCheckHealthy(ctx context.Context, api *route53.Client, id, from string) error {
	if from == FromConfig {
		hc, err := awsenv.HealthCheck(ctx, api, id)
		if err != nil {
			return err
		}
		return configHealthy(id, hc.HealthCheckConfig)
	}
	out, err := api.GetHealthCheckStatus(ctx, &route53.GetHealthCheckStatusInput{HealthCheckId: &id})
	if err != nil {
		return fmt.Errorf("get health check status %s: %w", id, err)
	}
	return observationsHealthy(id, out.HealthCheckObservations)
}

// configHealthy judges a health check by its stored config, assuming its endpoint is up (an
// emulator cannot check it): inverted means unhealthy. A disabled check counts as healthy, as
// Route 53 treats it, unless it is also inverted.
func configHealthy(id string, c *r53types.HealthCheckConfig) error {
	if aws.ToBool(c.Inverted) {
		return unhealthyf("health check %s is inverted (reports its healthy endpoint as unhealthy)", id)
	}
	return nil
}

// observationsHealthy applies Route 53's rule: an endpoint is healthy when more than 18% of
// the health checkers report it healthy.
func observationsHealthy(id string, obs []r53types.HealthCheckObservation) error {
	if len(obs) == 0 {
		return unhealthyf("health check %s: no observations yet", id)
	}
	ok := 0
	var last string
	for _, o := range obs {
		if o.StatusReport == nil {
			continue
		}
		s := aws.ToString(o.StatusReport.Status)
		if strings.HasPrefix(s, "Success") {
			ok++
		} else {
			last = s
		}
	}
	if float64(ok) > 0.18*float64(len(obs)) {
		return nil
	}
	return unhealthyf("health check %s unhealthy: %d of %d checkers report success (%s)", id, ok, len(obs), last)
}
