package awsfault

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// UpsertRecordConfig is the `with:` block of the aws:route53:upsert-record step.
type UpsertRecordConfig struct {
	Zone          string   `yaml:"zone" doc:"hosted zone name (or give zoneId)"`
	ZoneID        string   `yaml:"zoneId" doc:"hosted zone id"`
	Name          string   `yaml:"name" doc:"record name"`
	Type          string   `yaml:"type" doc:"record type (default A)"`
	SetIdentifier string   `yaml:"setIdentifier" doc:"change only this failover/weighted record, keeping its routing policy and health check"`
	Values        []string `yaml:"values" doc:"new values, e.g. the DR load balancer's address"`
	Alias         *Alias   `yaml:"alias" doc:"alias target instead of values: {dnsName, hostedZoneId, evaluateTargetHealth}"`
	TTL           int64    `yaml:"ttl" doc:"TTL in seconds (default: keep the record's, or 60 for a new record)"`
}

// Alias is a Route 53 alias target.
type Alias struct {
	DNSName              string `yaml:"dnsName"`
	HostedZoneID         string `yaml:"hostedZoneId"`
	EvaluateTargetHealth bool   `yaml:"evaluateTargetHealth"`
}

func (c *UpsertRecordConfig) ref() awsenv.RecordRef {
	return awsenv.RecordRef{Zone: c.Zone, ZoneID: c.ZoneID, Name: c.Name, Type: c.Type, SetIdentifier: c.SetIdentifier}
}

// Validate implements scenarios.Validator.
func (c *UpsertRecordConfig) Validate() error {
	errs := []error{c.ref().Validate("")}
	switch {
	case len(c.Values) == 0 && c.Alias == nil:
		errs = append(errs, scenarios.FieldErrorf("values", "give values or alias"))
	case len(c.Values) > 0 && c.Alias != nil:
		errs = append(errs, scenarios.FieldErrorf("alias", "give values or alias, not both"))
	case c.Alias != nil && (c.Alias.DNSName == "" || c.Alias.HostedZoneID == ""):
		errs = append(errs, scenarios.FieldErrorf("alias", "dnsName and hostedZoneId are required"))
	}
	if c.TTL < 0 {
		errs = append(errs, scenarios.FieldErrorf("ttl", "must not be negative"))
	}
	return errors.Join(errs...)
}

// UpsertRecordType is the aws:route53:upsert-record runbook step: flip a record to the DR
// target (and back, in rollback). Naming a setIdentifier changes that record's answer only.
func UpsertRecordType() runner.StepType {
	return runner.NewStepType("aws:route53:upsert-record",
		"Create or change a Route 53 record, e.g. flip DNS to the DR target",
		func() *UpsertRecordConfig { return &UpsertRecordConfig{} },
		func(cfg *UpsertRecordConfig, env *runner.Env) (runner.Step, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &upsertRecordStep{cfg: *cfg, clients: c}, nil
		})
}

// upsertRecordStep is the step.
type upsertRecordStep struct {
	cfg     UpsertRecordConfig
	clients *awsenv.Clients
}

// Run implements runner.Step.
func (s *upsertRecordStep) Run(ctx context.Context) error {
	api := s.clients.Route53()
	ref := s.cfg.ref()
	zoneID, err := awsenv.ResolveZoneID(ctx, api, ref)
	if err != nil {
		return err
	}
	existing, err := awsenv.FindRecords(ctx, api, zoneID, ref)
	if err != nil {
		return err
	}
	var rs r53types.ResourceRecordSet
	switch {
	case len(existing) == 1:
		rs = existing[0]
	case ref.SetIdentifier != "":
		return fmt.Errorf("record %s not found in zone %s", ref, zoneID)
	case len(existing) > 1:
		return fmt.Errorf("record %s has %d sets: give setIdentifier", ref, len(existing))
	default:
		rs = r53types.ResourceRecordSet{Name: aws.String(ref.FQDN()), Type: r53types.RRType(ref.RecordType()), TTL: aws.Int64(60)}
	}
	if s.cfg.Alias != nil {
		rs.TTL, rs.ResourceRecords = nil, nil
		rs.AliasTarget = &r53types.AliasTarget{DNSName: &s.cfg.Alias.DNSName, HostedZoneId: &s.cfg.Alias.HostedZoneID, EvaluateTargetHealth: s.cfg.Alias.EvaluateTargetHealth}
	} else {
		rs.AliasTarget = nil
		rs.ResourceRecords = make([]r53types.ResourceRecord, len(s.cfg.Values))
		for i, v := range s.cfg.Values {
			rs.ResourceRecords[i] = r53types.ResourceRecord{Value: aws.String(v)}
		}
		if rs.TTL == nil {
			rs.TTL = aws.Int64(60)
		}
		if s.cfg.TTL > 0 {
			rs.TTL = aws.Int64(s.cfg.TTL)
		}
	}
	_, err = api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: &zoneID,
		ChangeBatch: &r53types.ChangeBatch{
			Comment: aws.String("drill runbook step"),
			Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &rs}},
		},
	})
	if err != nil {
		return fmt.Errorf("upsert record %s in zone %s: %w", ref, zoneID, err)
	}
	return nil
}
