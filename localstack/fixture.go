package localstack

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
	"go.yaml.in/yaml/v3"
)

//go:embed fixture/dr-topology.yaml
var defaultFixture []byte

// Fixture describes the resources to seed (see fixture/dr-topology.yaml).
type Fixture struct {
	PrimaryRegion     string             `yaml:"primaryRegion"`
	DRRegion          string             `yaml:"drRegion"`
	LaunchTemplates   []LaunchTemplate   `yaml:"launchTemplates"`
	AutoScalingGroups []AutoScalingGroup `yaml:"autoScalingGroups"`
	Instances         []InstanceGroup    `yaml:"instances"`
	Databases         []Database         `yaml:"databases"`
	Route53           Route53Fixture     `yaml:"route53"`
	SNSTopics         []RegionalName     `yaml:"snsTopics"`
	ResultsTables     []RegionalName     `yaml:"resultsTables"`
}

// LaunchTemplate is an EC2 launch template.
type LaunchTemplate struct {
	Region       string `yaml:"region"`
	Name         string `yaml:"name"`
	ImageID      string `yaml:"imageId"`
	InstanceType string `yaml:"instanceType"`
}

// AutoScalingGroup is a group launched from a launch template.
type AutoScalingGroup struct {
	Region            string            `yaml:"region"`
	Name              string            `yaml:"name"`
	LaunchTemplate    string            `yaml:"launchTemplate"`
	AvailabilityZones []string          `yaml:"availabilityZones"`
	Min               int32             `yaml:"min"`
	Max               int32             `yaml:"max"`
	Desired           int32             `yaml:"desired"`
	Tags              map[string]string `yaml:"tags"`
}

// InstanceGroup is count identical stand-alone instances.
type InstanceGroup struct {
	Region           string            `yaml:"region"`
	Name             string            `yaml:"name"`
	Count            int32             `yaml:"count"`
	ImageID          string            `yaml:"imageId"`
	InstanceType     string            `yaml:"instanceType"`
	AvailabilityZone string            `yaml:"availabilityZone"`
	State            string            `yaml:"state"` // running (default) or stopped
	Tags             map[string]string `yaml:"tags"`
	DataVolume       *DataVolume       `yaml:"dataVolume"`
}

// DataVolume is an EBS volume attached to each instance of a group.
type DataVolume struct {
	Size     int32             `yaml:"size"`
	Device   string            `yaml:"device"`
	Tags     map[string]string `yaml:"tags"`
	Snapshot bool              `yaml:"snapshot"` // take one snapshot, tagged like the volume
}

// Database is an RDS instance, or a (cross-region) read replica of one.
type Database struct {
	Region          string `yaml:"region"`
	ID              string `yaml:"id"`
	Engine          string `yaml:"engine"`
	Class           string `yaml:"class"`
	Storage         int32  `yaml:"storage"`
	MultiAZ         bool   `yaml:"multiAZ"`
	ReplicaOf       string `yaml:"replicaOf"`
	ReplicaOfRegion string `yaml:"replicaOfRegion"`
}

// Route53Fixture is a hosted zone with health checks and records.
type Route53Fixture struct {
	Zone         string        `yaml:"zone"`
	HealthChecks []HealthCheck `yaml:"healthChecks"`
	Records      []Record      `yaml:"records"`
}

// HealthCheck is a Route 53 health check.
type HealthCheck struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
	FQDN string `yaml:"fqdn"`
	IP   string `yaml:"ip"`
	Port int32  `yaml:"port"`
	Path string `yaml:"path"`
}

// Record is a record set; HealthCheck names a health check of the fixture.
type Record struct {
	Name          string   `yaml:"name"`
	Type          string   `yaml:"type"`
	TTL           int64    `yaml:"ttl"`
	SetIdentifier string   `yaml:"setIdentifier"`
	Failover      string   `yaml:"failover"`
	HealthCheck   string   `yaml:"healthCheck"`
	Values        []string `yaml:"values"`
}

// RegionalName is a named resource in a region.
type RegionalName struct {
	Region string `yaml:"region"`
	Name   string `yaml:"name"`
}

// DefaultFixture returns the embedded two-region DR topology.
func DefaultFixture() (*Fixture, error) { return ParseFixture(defaultFixture) }

// LoadFixture reads a fixture file.
func LoadFixture(path string) (*Fixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read fixture: %w", err)
	}
	f, err := ParseFixture(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// ParseFixture decodes a fixture, rejecting unknown keys.
func ParseFixture(b []byte) (*Fixture, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f Fixture
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse fixture: %w", err)
	}
	if f.PrimaryRegion == "" {
		return nil, errors.New("parse fixture: primaryRegion is required")
	}
	return &f, nil
}

// Topology is what Seed created, with the ids the emulator chose.
type Topology struct {
	ZoneID       string              `json:"zoneId,omitempty"`
	HealthChecks map[string]string   `json:"healthChecks,omitempty"` // fixture name -> id
	Instances    map[string][]string `json:"instances,omitempty"`    // group name -> ids
	Volumes      map[string][]string `json:"volumes,omitempty"`      // group name -> data volume ids
	Snapshots    map[string][]string `json:"snapshots,omitempty"`    // group name -> snapshot ids
	Topics       map[string]string   `json:"topics,omitempty"`       // name -> ARN
	Databases    map[string]string   `json:"databases,omitempty"`    // id -> ARN
	// Skipped says which parts were not seeded because the emulator does not serve their
	// service (LocalStack's community runtime has no Auto Scaling or RDS, for one).
	Skipped []string `json:"skipped,omitempty"`
}

// CreateTable creates one results table in the region of cfg. The caller passes the results
// store's own, which owns the table's schema; an emulator package has no business knowing it.
type CreateTable func(ctx context.Context, cfg aws.Config, name string) error

// Seed creates the fixture's resources in a fresh emulator (or account), making its results
// tables with createTable (which may be nil when the fixture lists none). It is not
// idempotent: seeding twice fails on the names that already exist.
func Seed(ctx context.Context, cfg aws.Config, f *Fixture, createTable CreateTable) (*Topology, error) {
	s := &seeder{cfg: cfg, createTable: createTable, top: &Topology{
		HealthChecks: map[string]string{}, Instances: map[string][]string{}, Volumes: map[string][]string{},
		Snapshots: map[string][]string{}, Topics: map[string]string{}, Databases: map[string]string{},
	}, nonce: strconv.FormatInt(time.Now().UnixNano(), 36)}
	steps := []struct {
		what string
		run  func(context.Context, *Fixture) error
	}{
		{"launch templates", s.launchTemplates}, {"auto-scaling groups", s.groups}, {"instances", s.instances},
		{"databases", s.databases}, {"Route 53", s.route53}, {"SNS topics", s.topics}, {"results tables", s.tables},
	}
	for _, step := range steps {
		err := step.run(ctx, f)
		if svc, ok := Unserved(err); ok {
			// An emulator that lacks a service still serves the rest of the topology; the
			// drills and tests that need the missing part skip on their own.
			s.top.Skipped = append(s.top.Skipped, fmt.Sprintf("%s: the emulator does not serve %s", step.what, svc))
			continue
		}
		if err != nil {
			return s.top, err
		}
	}
	return s.top, nil
}

// Unserved reports whether err is an emulator's answer that it does not serve the service
// called (HTTP 501 Not Implemented, as LocalStack answers for a service it lacks or was not
// asked to serve), and names the service.
func Unserved(err error) (service string, ok bool) {
	var re *awshttp.ResponseError
	if err == nil || !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusNotImplemented {
		return "", false
	}
	var op *smithy.OperationError
	if errors.As(err, &op) {
		return op.Service(), true
	}
	return "this service", true
}

type seeder struct {
	cfg         aws.Config
	createTable CreateTable
	top         *Topology
	nonce       string
}

func (s *seeder) regional(region string) aws.Config {
	c := s.cfg.Copy()
	if region != "" {
		c.Region = region
	}
	return c
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func ec2Tags(name string, m map[string]string) []ec2types.Tag {
	var tags []ec2types.Tag
	if name != "" {
		tags = append(tags, ec2types.Tag{Key: aws.String("Name"), Value: aws.String(name)})
	}
	for _, k := range sortedKeys(m) {
		tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return tags
}

func (s *seeder) launchTemplates(ctx context.Context, f *Fixture) error {
	for _, lt := range f.LaunchTemplates {
		api := ec2.NewFromConfig(s.regional(lt.Region))
		_, err := api.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
			LaunchTemplateName: aws.String(lt.Name),
			LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(lt.ImageID), InstanceType: ec2types.InstanceType(lt.InstanceType)},
		})
		if err != nil {
			return fmt.Errorf("seed launch template %s in %s: %w", lt.Name, lt.Region, err)
		}
	}
	return nil
}

func (s *seeder) groups(ctx context.Context, f *Fixture) error {
	for _, g := range f.AutoScalingGroups {
		api := autoscaling.NewFromConfig(s.regional(g.Region))
		var tags []astypes.Tag
		for _, k := range sortedKeys(g.Tags) {
			tags = append(tags, astypes.Tag{Key: aws.String(k), Value: aws.String(g.Tags[k]), PropagateAtLaunch: aws.Bool(true),
				ResourceId: aws.String(g.Name), ResourceType: aws.String("auto-scaling-group")})
		}
		_, err := api.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String(g.Name),
			LaunchTemplate:       &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String(g.LaunchTemplate), Version: aws.String("$Latest")},
			AvailabilityZones:    g.AvailabilityZones,
			MinSize:              aws.Int32(g.Min),
			MaxSize:              aws.Int32(g.Max),
			DesiredCapacity:      aws.Int32(g.Desired),
			Tags:                 tags,
		})
		if err != nil {
			return fmt.Errorf("seed auto-scaling group %s in %s: %w", g.Name, g.Region, err)
		}
	}
	return nil
}

func (s *seeder) instances(ctx context.Context, f *Fixture) error {
	for _, g := range f.Instances {
		api := ec2.NewFromConfig(s.regional(g.Region))
		in := &ec2.RunInstancesInput{
			ImageId:           aws.String(g.ImageID),
			InstanceType:      ec2types.InstanceType(g.InstanceType),
			MinCount:          aws.Int32(g.Count),
			MaxCount:          aws.Int32(g.Count),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: ec2Tags(g.Name, g.Tags)}},
		}
		if g.AvailabilityZone != "" {
			in.Placement = &ec2types.Placement{AvailabilityZone: aws.String(g.AvailabilityZone)}
		}
		out, err := api.RunInstances(ctx, in)
		if err != nil {
			return fmt.Errorf("seed instances %s in %s: %w", g.Name, g.Region, err)
		}
		var ids []string
		for _, i := range out.Instances {
			ids = append(ids, aws.ToString(i.InstanceId))
		}
		s.top.Instances[g.Name] = ids
		if v := g.DataVolume; v != nil {
			for _, i := range out.Instances {
				if err := s.volume(ctx, api, g, aws.ToString(i.InstanceId), aws.ToString(i.Placement.AvailabilityZone)); err != nil {
					return err
				}
			}
		}
		if g.State == "stopped" {
			if _, err := api.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids}); err != nil {
				return fmt.Errorf("seed: stop instances %s: %w", g.Name, err)
			}
		}
	}
	return nil
}

func (s *seeder) volume(ctx context.Context, api *ec2.Client, g InstanceGroup, instance, az string) error {
	v := g.DataVolume
	vol, err := api.CreateVolume(ctx, &ec2.CreateVolumeInput{
		AvailabilityZone:  aws.String(az),
		Size:              aws.Int32(v.Size),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVolume, Tags: ec2Tags(g.Name+"-data", v.Tags)}},
	})
	if err != nil {
		return fmt.Errorf("seed data volume of %s: %w", instance, err)
	}
	s.top.Volumes[g.Name] = append(s.top.Volumes[g.Name], aws.ToString(vol.VolumeId))
	if v.Device != "" {
		if _, err := api.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: vol.VolumeId, InstanceId: aws.String(instance), Device: aws.String(v.Device)}); err != nil {
			return fmt.Errorf("seed: attach volume %s to %s: %w", aws.ToString(vol.VolumeId), instance, err)
		}
	}
	if v.Snapshot {
		snap, err := api.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{
			VolumeId:          vol.VolumeId,
			Description:       aws.String("nightly backup (drill lab)"),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSnapshot, Tags: ec2Tags(g.Name+"-backup", v.Tags)}},
		})
		if err != nil {
			return fmt.Errorf("seed: snapshot volume %s: %w", aws.ToString(vol.VolumeId), err)
		}
		s.top.Snapshots[g.Name] = append(s.top.Snapshots[g.Name], aws.ToString(snap.SnapshotId))
	}
	return nil
}

func (s *seeder) databases(ctx context.Context, f *Fixture) error {
	for _, d := range f.Databases {
		api := rds.NewFromConfig(s.regional(d.Region))
		if d.ReplicaOf == "" {
			out, err := api.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
				DBInstanceIdentifier:  aws.String(d.ID),
				DBInstanceClass:       aws.String(d.Class),
				Engine:                aws.String(d.Engine),
				AllocatedStorage:      aws.Int32(d.Storage),
				MultiAZ:               aws.Bool(d.MultiAZ),
				MasterUsername:        aws.String("drill"),
				MasterUserPassword:    aws.String("drill-lab-password"),
				BackupRetentionPeriod: aws.Int32(7),
			})
			if err != nil {
				return fmt.Errorf("seed db instance %s in %s: %w", d.ID, d.Region, err)
			}
			s.top.Databases[d.ID] = aws.ToString(out.DBInstance.DBInstanceArn)
			continue
		}
		source, ok := s.top.Databases[d.ReplicaOf]
		if !ok {
			return fmt.Errorf("seed db replica %s: source %s is not defined before it", d.ID, d.ReplicaOf)
		}
		in := &rds.CreateDBInstanceReadReplicaInput{
			DBInstanceIdentifier:       aws.String(d.ID),
			SourceDBInstanceIdentifier: aws.String(source),
			DBInstanceClass:            aws.String(d.Class),
		}
		if d.ReplicaOfRegion != "" && d.ReplicaOfRegion != d.Region {
			in.SourceRegion = aws.String(d.ReplicaOfRegion)
		}
		out, err := api.CreateDBInstanceReadReplica(ctx, in)
		if err != nil {
			return fmt.Errorf("seed db replica %s in %s: %w", d.ID, d.Region, err)
		}
		s.top.Databases[d.ID] = aws.ToString(out.DBInstance.DBInstanceArn)
	}
	return nil
}

func (s *seeder) route53(ctx context.Context, f *Fixture) error {
	r := f.Route53
	if r.Zone == "" {
		return nil
	}
	api := route53.NewFromConfig(s.regional(f.PrimaryRegion))
	zone, err := api.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String(r.Zone), CallerReference: aws.String("drill-lab-" + r.Zone + "-" + s.nonce)})
	if err != nil {
		return fmt.Errorf("seed hosted zone %s: %w", r.Zone, err)
	}
	zoneID := aws.ToString(zone.HostedZone.Id)
	s.top.ZoneID = zoneID
	for _, hc := range r.HealthChecks {
		cfg := &r53types.HealthCheckConfig{
			Type:             r53types.HealthCheckType(hc.Type),
			FailureThreshold: aws.Int32(3),
			RequestInterval:  aws.Int32(30),
		}
		if hc.FQDN != "" {
			cfg.FullyQualifiedDomainName = aws.String(hc.FQDN)
		}
		if hc.IP != "" {
			cfg.IPAddress = aws.String(hc.IP)
		}
		if hc.Port != 0 {
			cfg.Port = aws.Int32(hc.Port)
		}
		if hc.Path != "" {
			cfg.ResourcePath = aws.String(hc.Path)
		}
		out, err := api.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("drill-lab-" + hc.Name + "-" + s.nonce), HealthCheckConfig: cfg})
		if err != nil {
			return fmt.Errorf("seed health check %s: %w", hc.Name, err)
		}
		s.top.HealthChecks[hc.Name] = aws.ToString(out.HealthCheck.Id)
	}
	var changes []r53types.Change
	for _, rec := range r.Records {
		rs := &r53types.ResourceRecordSet{Name: aws.String(rec.Name), Type: r53types.RRType(rec.Type), TTL: aws.Int64(rec.TTL)}
		for _, v := range rec.Values {
			rs.ResourceRecords = append(rs.ResourceRecords, r53types.ResourceRecord{Value: aws.String(v)})
		}
		if rec.SetIdentifier != "" {
			rs.SetIdentifier = aws.String(rec.SetIdentifier)
		}
		if rec.Failover != "" {
			rs.Failover = r53types.ResourceRecordSetFailover(rec.Failover)
		}
		if rec.HealthCheck != "" {
			id, ok := s.top.HealthChecks[rec.HealthCheck]
			if !ok {
				return fmt.Errorf("seed record %s: unknown health check %s", rec.Name, rec.HealthCheck)
			}
			rs.HealthCheckId = aws.String(id)
		}
		changes = append(changes, r53types.Change{Action: r53types.ChangeActionCreate, ResourceRecordSet: rs})
	}
	if len(changes) > 0 {
		_, err := api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zoneID), ChangeBatch: &r53types.ChangeBatch{Changes: changes}})
		if err != nil {
			return fmt.Errorf("seed records in %s: %w", r.Zone, err)
		}
	}
	return nil
}

func (s *seeder) topics(ctx context.Context, f *Fixture) error {
	for _, t := range f.SNSTopics {
		out, err := sns.NewFromConfig(s.regional(t.Region)).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(t.Name)})
		if err != nil {
			return fmt.Errorf("seed sns topic %s: %w", t.Name, err)
		}
		s.top.Topics[t.Name] = aws.ToString(out.TopicArn)
	}
	return nil
}

func (s *seeder) tables(ctx context.Context, f *Fixture) error {
	if len(f.ResultsTables) > 0 && s.createTable == nil {
		return fmt.Errorf("seed results tables: the fixture lists %d but no way to create them was given", len(f.ResultsTables))
	}
	for _, t := range f.ResultsTables {
		if err := s.createTable(ctx, s.regional(t.Region), t.Name); err != nil {
			return fmt.Errorf("seed results table: %w", err)
		}
	}
	return nil
}
