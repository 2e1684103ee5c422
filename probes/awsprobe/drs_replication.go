package awsprobe

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/drs"
	drstypes "github.com/aws/aws-sdk-go-v2/service/drs/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// DRSReplicationConfig is the `with:` block of the aws-drs-replication probe.
type DRSReplicationConfig struct {
	SourceServerIDs []string           `yaml:"sourceServerIds" doc:"source servers to watch (default: every source server)"`
	MaxLag          scenarios.Duration `yaml:"maxLag" doc:"largest acceptable replication lag"`
	Region          string             `yaml:"region" doc:"DRS region (default: environment.aws.region)"`
}

// DRSReplicationType is the aws-drs-replication probe: healthy while every source server
// replicates continuously with lag <= maxLag; the failure names stalled and lagging servers.
func DRSReplicationType() runner.ProbeType {
	return runner.NewProbeType("aws-drs-replication",
		"Healthy while every DRS source server replicates continuously within maxLag",
		func() *DRSReplicationConfig {
			return &DRSReplicationConfig{MaxLag: scenarios.Duration(5 * time.Minute)}
		},
		func(cfg *DRSReplicationConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return NewDRSReplication(*cfg, c.DRS(cfg.Region)), nil
		})
}

// DRSReplication is the probe; NewDRSReplication builds it on any DescribeSourceServers client
// (tests pass a stub: no emulator implements DRS).
type DRSReplication struct {
	cfg DRSReplicationConfig
	api drs.DescribeSourceServersAPIClient
}

// NewDRSReplication returns the probe.
func NewDRSReplication(cfg DRSReplicationConfig, api drs.DescribeSourceServersAPIClient) *DRSReplication {
	return &DRSReplication{cfg: cfg, api: api}
}

// Check implements runner.Probe.
func (p *DRSReplication) Check(ctx context.Context) error {
	servers, err := awsenv.DescribeSourceServers(ctx, p.api, p.cfg.SourceServerIDs)
	if err != nil {
		return err
	}
	if len(servers) == 0 {
		return errors.New("no DRS source servers found")
	}
	var stalled, lagging []string
	seen := map[string]bool{}
	for _, s := range servers {
		id := aws.ToString(s.SourceServerID)
		seen[id] = true
		info := s.DataReplicationInfo
		if info == nil {
			stalled = append(stalled, id+" (no replication info)")
			continue
		}
		if e := info.DataReplicationError; e != nil {
			stalled = append(stalled, fmt.Sprintf("%s (%s: %s)", id, info.DataReplicationState, e.Error))
			continue
		}
		lag, err := ParseISODuration(aws.ToString(info.LagDuration))
		if err != nil && info.LagDuration != nil {
			stalled = append(stalled, fmt.Sprintf("%s (unreadable lag %q)", id, aws.ToString(info.LagDuration)))
			continue
		}
		switch info.DataReplicationState {
		case drstypes.DataReplicationStateContinuous:
			if lag > p.cfg.MaxLag.D() {
				lagging = append(lagging, fmt.Sprintf("%s (lag %v > %v)", id, lag, p.cfg.MaxLag.D()))
			}
		case drstypes.DataReplicationStateBacklog, drstypes.DataReplicationStateCreatingSnapshot, drstypes.DataReplicationStateRescan:
			// Catching up is lag, not a stall: it resolves by itself unless it also stalls.
			lagging = append(lagging, fmt.Sprintf("%s (%s, lag %v)", id, info.DataReplicationState, lag))
		default:
			stalled = append(stalled, fmt.Sprintf("%s (%s)", id, info.DataReplicationState))
		}
	}
	for _, want := range p.cfg.SourceServerIDs {
		if !seen[want] {
			stalled = append(stalled, want+" (not found)")
		}
	}
	if len(stalled) == 0 && len(lagging) == 0 {
		return nil
	}
	sort.Strings(stalled)
	sort.Strings(lagging)
	var parts []string
	if len(stalled) > 0 {
		parts = append(parts, "stalled: "+strings.Join(stalled, ", "))
	}
	if len(lagging) > 0 {
		parts = append(parts, "lagging: "+strings.Join(lagging, ", "))
	}
	return errors.New(strings.Join(parts, "; "))
}

var isoDurationRE = regexp.MustCompile(`^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// ParseISODuration parses the ISO 8601 durations DRS reports lag in ("PT1M30S", "P1DT2H").
// An empty string is zero.
func ParseISODuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	m := isoDurationRE.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return 0, fmt.Errorf("invalid ISO 8601 duration %q", s)
	}
	units := []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second}
	var d time.Duration
	for i, u := range units {
		if m[i+1] == "" {
			continue
		}
		f, err := strconv.ParseFloat(m[i+1], 64)
		if err != nil {
			return 0, fmt.Errorf("invalid ISO 8601 duration %q", s)
		}
		d += time.Duration(f * float64(u))
	}
	return d, nil
}
