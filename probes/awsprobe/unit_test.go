package awsprobe

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	drstypes "github.com/aws/aws-sdk-go-v2/service/drs/types"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/scenarios"
)

func TestParseISODuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"", 0, false},
		{"PT0S", 0, false},
		{"PT1M30S", 90 * time.Second, false},
		{"PT2H", 2 * time.Hour, false},
		{"P1DT2H", 26 * time.Hour, false},
		{"PT0.5S", 500 * time.Millisecond, false},
		{"P", 0, true},
		{"PT", 0, true},
		{"1m", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseISODuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseISODuration(%q) = %v, %v; want %v, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// drsServers is a one-method stub of DescribeSourceServers (no emulator implements DRS).
type drsServers []drstypes.SourceServer

func (s drsServers) DescribeSourceServers(_ context.Context, in *drs.DescribeSourceServersInput, _ ...func(*drs.Options)) (*drs.DescribeSourceServersOutput, error) {
	var out []drstypes.SourceServer
	for _, srv := range s {
		if in.Filters == nil || len(in.Filters.SourceServerIDs) == 0 || contains(in.Filters.SourceServerIDs, aws.ToString(srv.SourceServerID)) {
			out = append(out, srv)
		}
	}
	return &drs.DescribeSourceServersOutput{Items: out}, nil
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

func server(id string, state drstypes.DataReplicationState, lag string, errText string) drstypes.SourceServer {
	info := &drstypes.DataReplicationInfo{DataReplicationState: state, LagDuration: aws.String(lag)}
	if errText != "" {
		info.DataReplicationError = &drstypes.DataReplicationError{Error: drstypes.DataReplicationErrorString(errText)}
	}
	return drstypes.SourceServer{SourceServerID: aws.String(id), DataReplicationInfo: info}
}

func TestDRSReplication(t *testing.T) {
	t.Parallel()
	healthy := server("s-ok", drstypes.DataReplicationStateContinuous, "PT10S", "")
	tests := []struct {
		name    string
		servers drsServers
		ids     []string
		want    []string // substrings of the error; nil = healthy
	}{
		{"all continuous within lag", drsServers{healthy, server("s-ok2", drstypes.DataReplicationStateContinuous, "PT4M", "")}, nil, nil},
		{"lagging is named", drsServers{healthy, server("s-slow", drstypes.DataReplicationStateContinuous, "PT12M", "")}, nil, []string{"lagging: s-slow (lag 12m0s > 5m0s)"}},
		{"stalled is named", drsServers{healthy, server("s-stuck", drstypes.DataReplicationStateStalled, "PT1H", "AGENT_NOT_SEEN")}, nil, []string{"stalled: s-stuck (STALLED: AGENT_NOT_SEEN)"}},
		{"backlog is lag, not a stall", drsServers{server("s-catching", drstypes.DataReplicationStateBacklog, "PT1M", "")}, nil, []string{"lagging: s-catching (BACKLOG"}},
		{"disconnected", drsServers{server("s-gone", drstypes.DataReplicationStateDisconnected, "", "")}, nil, []string{"stalled: s-gone (DISCONNECTED)"}},
		{"both kinds", drsServers{server("s-a", drstypes.DataReplicationStatePaused, "", ""), server("s-b", drstypes.DataReplicationStateContinuous, "PT6M", "")}, nil, []string{"stalled: s-a", "lagging: s-b"}},
		{"listed server missing", drsServers{healthy}, []string{"s-ok", "s-missing"}, []string{"s-missing (not found)"}},
		{"no servers", drsServers{}, nil, []string{"no DRS source servers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewDRSReplication(DRSReplicationConfig{SourceServerIDs: tt.ids, MaxLag: scenarios.Duration(5 * time.Minute)}, tt.servers)
			err := p.Check(context.Background())
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check() = %v, want healthy", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Check() healthy, want down")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestObservationsHealthy(t *testing.T) {
	t.Parallel()
	obs := func(ok, fail int) []r53types.HealthCheckObservation {
		var out []r53types.HealthCheckObservation
		for range ok {
			out = append(out, r53types.HealthCheckObservation{StatusReport: &r53types.StatusReport{Status: aws.String("Success: HTTP Status Code 200")}})
		}
		for range fail {
			out = append(out, r53types.HealthCheckObservation{StatusReport: &r53types.StatusReport{Status: aws.String("Failure: Connection timed out")}})
		}
		return out
	}
	tests := []struct {
		ok, fail int
		healthy  bool
	}{{8, 0, true}, {2, 6, true}, {1, 7, false}, {0, 8, false}, {0, 0, false}}
	for _, tt := range tests {
		err := observationsHealthy("hc", obs(tt.ok, tt.fail))
		if (err == nil) != tt.healthy {
			t.Errorf("%d ok / %d failing: healthy=%v, want %v (%v)", tt.ok, tt.fail, err == nil, tt.healthy, err)
		}
	}
}

func TestRDSJudge(t *testing.T) {
	t.Parallel()
	db := func(status, az, source string) *rdstypes.DBInstance {
		return &rdstypes.DBInstance{DBInstanceStatus: aws.String(status), AvailabilityZone: aws.String(az), ReadReplicaSourceDBInstanceIdentifier: aws.String(source)}
	}
	p := &rdsInstance{cfg: RDSInstanceConfig{Instance: "db", Status: "available", AZChanged: true}}
	if err := p.judge(db("available", "us-east-1a", "")); err == nil {
		t.Error("first sample fixes the AZ: it cannot have changed yet")
	}
	if err := p.judge(db("rebooting", "us-east-1b", "")); err == nil || !strings.Contains(err.Error(), "rebooting") {
		t.Errorf("rebooting = %v, want down", err)
	}
	if err := p.judge(db("available", "us-east-1b", "")); err != nil {
		t.Errorf("available in another AZ = %v, want healthy", err)
	}
	w := &rdsInstance{cfg: RDSInstanceConfig{Instance: "dr", Status: "available", Writable: true}}
	if err := w.judge(db("available", "us-west-2a", "arn:aws:rds:us-east-1:1:db:primary")); err == nil {
		t.Error("a read replica counted as writable")
	}
	if err := w.judge(db("available", "us-west-2a", "")); err != nil {
		t.Errorf("promoted instance = %v, want healthy", err)
	}
}

func TestProbeConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  scenarios.Validator
		ok   bool
	}{
		{"instances need a selector", &EC2InstancesConfig{State: "running", Min: 1}, false},
		{"instances: select is meaningless", &EC2InstancesConfig{Targets: targetsWithSelect(), State: "running", Min: 1}, false},
		{"record needs expect", &Route53RecordConfig{Zone: "z", Name: "n", Method: MethodAuto, HealthFrom: FromAuto}, false},
		{"record bad method", &Route53RecordConfig{Zone: "z", Name: "n", Expect: []string{"x"}, Method: "dig", HealthFrom: FromAuto}, false},
		{"record ok", &Route53RecordConfig{Zone: "z", Name: "n", Expect: []string{"x"}, Method: MethodAuto, HealthFrom: FromAuto}, true},
		{"record healthFrom", &Route53RecordConfig{Zone: "z", Name: "n", Expect: []string{"x"}, Method: MethodAuto, HealthFrom: "guess"}, false},
		{"health check from", &Route53HealthCheckConfig{HealthCheckID: "x", From: "guess"}, false},
		{"asg min", &ASGInServiceConfig{Group: "g"}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func targetsWithSelect() awsenv.Targets {
	s := awsenv.Selection{Mode: "COUNT", N: 1}
	return awsenv.Targets{Tags: map[string]string{"a": "b"}, Select: s}
}
