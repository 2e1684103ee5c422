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
	"github.com/drillhq/drill/internal/dnsanswer"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// How the record probe finds the answer.
const (
	MethodAuto          = "auto"            // test-dns-answer on real AWS, record on an emulator
	MethodTestDNSAnswer = "test-dns-answer" // Route 53 TestDNSAnswer: what Route 53 would answer
	MethodRecord        = "record"          // read the record sets and apply failover routing
)

// Route53RecordConfig is the `with:` block of the aws-route53-record probe.
type Route53RecordConfig struct {
	Zone          string   `yaml:"zone" doc:"hosted zone name (or give zoneId)"`
	ZoneID        string   `yaml:"zoneId" doc:"hosted zone id"`
	Name          string   `yaml:"name" doc:"record name"`
	Type          string   `yaml:"type" doc:"record type (default A)"`
	SetIdentifier string   `yaml:"setIdentifier" doc:"watch this one record set instead of the name's answer"`
	Expect        []string `yaml:"expect" doc:"healthy when the answer is non-empty and only these values"`
	Method        string   `yaml:"method" doc:"auto, test-dns-answer or record (read the record sets; failover pairs answer PRIMARY while its health check is healthy)"`
	HealthFrom    string   `yaml:"healthFrom" doc:"for method record: where health check state is read (auto, status, config)"`
}

func (c *Route53RecordConfig) ref() awsenv.RecordRef {
	return awsenv.RecordRef{Zone: c.Zone, ZoneID: c.ZoneID, Name: c.Name, Type: c.Type, SetIdentifier: c.SetIdentifier}
}

// methodValues are the method: values, for validation and the schema alike.
func methodValues() []string { return []string{MethodAuto, MethodTestDNSAnswer, MethodRecord} }

// Enums implements scenarios.Enumer.
func (*Route53RecordConfig) Enums() map[string][]string {
	return map[string][]string{"method": methodValues(), "healthFrom": fromValues()}
}

// Validate implements scenarios.Validator.
func (c *Route53RecordConfig) Validate() error {
	errs := []error{c.ref().Validate("")}
	if len(c.Expect) == 0 {
		errs = append(errs, scenarios.FieldErrorf("expect", "give the values the record must answer"))
	}
	if !slices.Contains(methodValues(), c.Method) {
		errs = append(errs, scenarios.FieldErrorf("method", "want one of %s, got %q", strings.Join(methodValues(), ", "), c.Method))
	}
	if c.Method == MethodTestDNSAnswer && c.SetIdentifier != "" {
		errs = append(errs, scenarios.FieldErrorf("setIdentifier", "TestDNSAnswer answers for the name, not one set: use method record"))
	}
	errs = append(errs, checkFrom("healthFrom", c.HealthFrom))
	return errors.Join(errs...)
}

// Route53RecordType is the aws-route53-record probe: healthy while the record answers the
// expected target.
func Route53RecordType() runner.ProbeType {
	return runner.NewProbeType("aws-route53-record",
		"Healthy while a Route 53 name answers the expected values (TestDNSAnswer, or the record sets on an emulator)",
		func() *Route53RecordConfig { return &Route53RecordConfig{Method: MethodAuto, HealthFrom: FromAuto} },
		func(cfg *Route53RecordConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			method := cfg.Method
			if method == MethodAuto {
				method = MethodTestDNSAnswer
				if c.Emulator() || cfg.SetIdentifier != "" {
					method = MethodRecord // moto has no TestDNSAnswer
				}
			}
			return &route53Record{cfg: *cfg, api: c.Route53(), method: method, healthFrom: resolveFrom(cfg.HealthFrom, c)}, nil
		})
}

type route53Record struct {
	cfg        Route53RecordConfig
	api        *route53.Client
	method     string
	healthFrom string
}

func (p *route53Record) Check(ctx context.Context) error {
	answer, err := p.answer(ctx)
	if err != nil {
		return err
	}
	if err := dnsanswer.Match(answer, p.cfg.Expect); err != nil {
		return fmt.Errorf("%s %w", p.cfg.ref(), err)
	}
	return nil
}

func (p *route53Record) answer(ctx context.Context) ([]string, error) {
	ref := p.cfg.ref()
	zoneID, err := awsenv.ResolveZoneID(ctx, p.api, ref)
	if err != nil {
		return nil, err
	}
	if p.method == MethodTestDNSAnswer {
		out, err := p.api.TestDNSAnswer(ctx, &route53.TestDNSAnswerInput{
			HostedZoneId: &zoneID, RecordName: aws.String(ref.Name), RecordType: r53types.RRType(typeOr(ref.Type)),
		})
		if err != nil {
			return nil, fmt.Errorf("test dns answer %s: %w", ref, err)
		}
		return out.RecordData, nil
	}
	sets, err := awsenv.FindRecords(ctx, p.api, zoneID, ref)
	if err != nil {
		return nil, err
	}
	rs, err := p.routed(ctx, sets)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return awsenv.RecordValues(rs), nil
}

// routed picks the set Route 53 would answer with: the only one, or for a failover pair the
// PRIMARY while its health check is healthy, else the SECONDARY.
func (p *route53Record) routed(ctx context.Context, sets []r53types.ResourceRecordSet) (r53types.ResourceRecordSet, error) {
	var primary, secondary *r53types.ResourceRecordSet
	for i := range sets {
		switch sets[i].Failover {
		case r53types.ResourceRecordSetFailoverPrimary:
			primary = &sets[i]
		case r53types.ResourceRecordSetFailoverSecondary:
			secondary = &sets[i]
		}
	}
	switch {
	case len(sets) == 0:
		return r53types.ResourceRecordSet{}, errors.New("no such record")
	case len(sets) == 1:
		return sets[0], nil
	case primary == nil || secondary == nil:
		return r53types.ResourceRecordSet{}, fmt.Errorf("%d record sets and no failover pair: give setIdentifier", len(sets))
	}
	if primary.HealthCheckId == nil {
		return *primary, nil
	}
	err := healthCheckHealthy(ctx, p.api, *primary.HealthCheckId, p.healthFrom)
	var unhealthy *unhealthyError
	switch {
	case err == nil:
		return *primary, nil
	case errors.As(err, &unhealthy):
		return *secondary, nil
	}
	return r53types.ResourceRecordSet{}, err
}

func typeOr(t string) string {
	if t == "" {
		return "A"
	}
	return t
}
