package awsenv

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/drillhq/drill/scenarios"
)

// RecordRef names a Route 53 record set: the zone (by name or id), the record name and type,
// and the set identifier of a failover, weighted or latency record.
type RecordRef struct {
	Zone          string `yaml:"zone" doc:"hosted zone name, e.g. example.com (or give zoneId)"`
	ZoneID        string `yaml:"zoneId" doc:"hosted zone id"`
	Name          string `yaml:"name" doc:"record name, e.g. app.example.com"`
	Type          string `yaml:"type" doc:"record type (default A)"`
	SetIdentifier string `yaml:"setIdentifier" doc:"set identifier of a failover/weighted/latency record"`
}

// Validate checks the reference; prefix is the key path it sits under ("" at the top).
func (r RecordRef) Validate(prefix string) error {
	var errs []error
	if r.Zone == "" && r.ZoneID == "" {
		errs = append(errs, scenarios.FieldErrorf(prefix+"zone", "give zone or zoneId"))
	}
	if r.Zone != "" && r.ZoneID != "" {
		errs = append(errs, scenarios.FieldErrorf(prefix+"zoneId", "give zone or zoneId, not both"))
	}
	if r.Name == "" {
		errs = append(errs, scenarios.FieldErrorf(prefix+"name", "required"))
	}
	return errors.Join(errs...)
}

// RecordType is the record type, A unless given.
func (r RecordRef) RecordType() string {
	if r.Type == "" {
		return "A"
	}
	return strings.ToUpper(r.Type)
}

// FQDN is the record name as Route 53 returns it: lower case, with the trailing dot.
func (r RecordRef) FQDN() string { return fqdn(r.Name) }

func (r RecordRef) String() string {
	s := fqdn(r.Name) + " " + r.RecordType()
	if r.SetIdentifier != "" {
		s += " (" + r.SetIdentifier + ")"
	}
	return s
}

// fqdn lower-cases a DNS name and gives it the trailing dot Route 53 returns.
func fqdn(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// ResolveZoneID returns the hosted zone id of a reference, looking the zone up by name.
func ResolveZoneID(ctx context.Context, api *route53.Client, r RecordRef) (string, error) {
	if r.ZoneID != "" {
		return strings.TrimPrefix(r.ZoneID, "/hostedzone/"), nil
	}
	want := fqdn(r.Zone)
	var ids []string
	in := &route53.ListHostedZonesByNameInput{DNSName: aws.String(want)}
	for {
		out, err := api.ListHostedZonesByName(ctx, in)
		if err != nil {
			return "", fmt.Errorf("find hosted zone %s: %w", want, err)
		}
		done := false
		for _, z := range out.HostedZones {
			if fqdn(aws.ToString(z.Name)) != want {
				done = true // zones are listed in name order: the rest are other names
				break
			}
			ids = append(ids, strings.TrimPrefix(aws.ToString(z.Id), "/hostedzone/"))
		}
		if done || !out.IsTruncated || out.NextDNSName == nil {
			break
		}
		in = &route53.ListHostedZonesByNameInput{DNSName: out.NextDNSName, HostedZoneId: out.NextHostedZoneId}
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("hosted zone %s not found", want)
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("%d hosted zones are named %s (public and private?): give zoneId", len(ids), want)
}

// FindRecords returns the record sets with the reference's name and type (every set identifier
// unless the reference names one), paging through ListResourceRecordSets.
func FindRecords(ctx context.Context, api *route53.Client, zoneID string, r RecordRef) ([]r53types.ResourceRecordSet, error) {
	name, typ := fqdn(r.Name), r.RecordType()
	in := &route53.ListResourceRecordSetsInput{
		HostedZoneId:    aws.String(zoneID),
		StartRecordName: aws.String(name),
		StartRecordType: r53types.RRType(typ),
	}
	var out []r53types.ResourceRecordSet
	seen := map[string]bool{}
	for {
		page, err := api.ListResourceRecordSets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list records %s in zone %s: %w", name, zoneID, err)
		}
		past := false
		for _, rs := range page.ResourceRecordSets {
			if fqdn(aws.ToString(rs.Name)) != name || string(rs.Type) != typ {
				past = true // listed in name/type order: nothing further can match
				break
			}
			key := aws.ToString(rs.SetIdentifier)
			if seen[key] {
				continue
			}
			seen[key] = true
			if r.SetIdentifier == "" || key == r.SetIdentifier {
				out = append(out, rs)
			}
		}
		if past || !page.IsTruncated {
			return out, nil
		}
		next := &route53.ListResourceRecordSetsInput{
			HostedZoneId:          aws.String(zoneID),
			StartRecordName:       page.NextRecordName,
			StartRecordType:       page.NextRecordType,
			StartRecordIdentifier: page.NextRecordIdentifier,
		}
		// An emulator that ignores StartRecordIdentifier would hand back the same page
		// forever; stop once a page brings nothing new.
		if aws.ToString(next.StartRecordName) == aws.ToString(in.StartRecordName) &&
			next.StartRecordType == in.StartRecordType &&
			aws.ToString(next.StartRecordIdentifier) == aws.ToString(in.StartRecordIdentifier) {
			return out, nil
		}
		in = next
	}
}

// findRecord returns exactly one record set: the one with the set identifier, or the only
// one, or the PRIMARY of a failover pair.
func findRecord(ctx context.Context, api *route53.Client, r RecordRef) (zoneID string, rs r53types.ResourceRecordSet, err error) {
	zoneID, err = ResolveZoneID(ctx, api, r)
	if err != nil {
		return "", rs, err
	}
	sets, err := FindRecords(ctx, api, zoneID, r)
	if err != nil {
		return "", rs, err
	}
	switch {
	case len(sets) == 0:
		return "", rs, fmt.Errorf("record %s not found in zone %s", r, zoneID)
	case len(sets) == 1:
		return zoneID, sets[0], nil
	}
	for _, s := range sets {
		if s.Failover == r53types.ResourceRecordSetFailoverPrimary {
			return zoneID, s, nil
		}
	}
	return "", rs, fmt.Errorf("record %s has %d sets: give setIdentifier", r, len(sets))
}

// RecordValues returns what a record set answers: its values, or its alias target.
func RecordValues(rs r53types.ResourceRecordSet) []string {
	if rs.AliasTarget != nil {
		return []string{strings.ToLower(strings.TrimSuffix(aws.ToString(rs.AliasTarget.DNSName), "."))}
	}
	var out []string
	for _, v := range rs.ResourceRecords {
		out = append(out, strings.TrimSuffix(aws.ToString(v.Value), "."))
	}
	return out
}

// HealthCheck returns a health check with its config.
func HealthCheck(ctx context.Context, api *route53.Client, id string) (*r53types.HealthCheck, error) {
	out, err := api.GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: &id})
	if err != nil {
		return nil, fmt.Errorf("get health check %s: %w", id, err)
	}
	if out.HealthCheck == nil || out.HealthCheck.HealthCheckConfig == nil {
		return nil, fmt.Errorf("get health check %s: empty answer", id)
	}
	return out.HealthCheck, nil
}

// ResolveHealthCheckID returns id, or the health check of the referenced record.
func ResolveHealthCheckID(ctx context.Context, api *route53.Client, id string, r RecordRef) (string, error) {
	if id != "" {
		return id, nil
	}
	_, rs, err := findRecord(ctx, api, r)
	if err != nil {
		return "", err
	}
	if rs.HealthCheckId == nil {
		return "", fmt.Errorf("record %s has no health check", r)
	}
	return *rs.HealthCheckId, nil
}
