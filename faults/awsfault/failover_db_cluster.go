package awsfault

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// FailoverDBClusterConfig is the `with:` block of aws:rds:failover-db-cluster.
type FailoverDBClusterConfig struct {
	Cluster        string `yaml:"cluster" doc:"DB cluster identifier (Aurora or Multi-AZ cluster)"`
	TargetInstance string `yaml:"targetInstance" doc:"reader to promote (default: RDS chooses)"`
	Region         string `yaml:"region" doc:"region (default: environment.aws.region)"`
	FailBack       bool   `yaml:"failBack" doc:"on revert, fail over again to the writer found before the drill"`
}

// Validate implements scenarios.Validator.
func (c *FailoverDBClusterConfig) Validate() error {
	if c.Cluster == "" {
		return scenarios.FieldErrorf("cluster", "required")
	}
	return nil
}

// FailoverDBClusterType is the aws:rds:failover-db-cluster fault: a reader becomes the writer.
// With failBack, revert makes the previous writer the writer again.
func FailoverDBClusterType() runner.FaultType {
	return runner.NewFaultType("aws:rds:failover-db-cluster",
		"Fail over an Aurora/Multi-AZ DB cluster to a reader; optional fail-back on revert",
		func() *FailoverDBClusterConfig { return &FailoverDBClusterConfig{} },
		func(cfg *FailoverDBClusterConfig, env *runner.Env) (runner.Fault, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &failoverDBClusterFault{cfg: *cfg, clients: c, env: env}, nil
		},
		runner.WithRecover(recoverFailoverDBCluster))
}

// failoverDBClusterRecord is what the fault journals before failing over: where, the cluster,
// and, with failBack, the writer before the drill ("" without failBack: the drill does not
// fail back either, so neither does recover).
type failoverDBClusterRecord struct {
	awsenv.Where
	Cluster string `json:"cluster"`
	Writer  string `json:"writer,omitempty"`
}

// recoverFailoverDBCluster fails the cluster back to the journaled writer unless it already is
// the writer, so recovering twice, or after the drill's own fail-back, is a no-op.
func recoverFailoverDBCluster(ctx context.Context, _ *runner.Env, rec *failoverDBClusterRecord) error {
	if rec.Writer == "" {
		return nil
	}
	c, err := awsenv.RecoverClients(ctx, rec.Where, awsenv.RecoverOptions{})
	if err != nil {
		return err
	}
	if err := failBack(ctx, c.RDS(rec.Region), rec.Cluster, rec.Writer); err != nil {
		return fmt.Errorf("recover failed-over db cluster: %w", err)
	}
	return nil
}

// failBack makes writer the writer of cluster again, unless it already is.
func failBack(ctx context.Context, api *rds.Client, cluster, writer string) error {
	c, err := describeCluster(ctx, api, cluster)
	if err != nil {
		return err
	}
	if clusterWriter(c) == writer {
		return nil
	}
	if _, err := api.FailoverDBCluster(ctx, &rds.FailoverDBClusterInput{DBClusterIdentifier: &cluster, TargetDBInstanceIdentifier: &writer}); err != nil {
		return fmt.Errorf("fail db cluster %s back to %s: %w", cluster, writer, err)
	}
	return nil
}

// failoverDBClusterFault is the fault.
type failoverDBClusterFault struct {
	cfg     FailoverDBClusterConfig
	clients *awsenv.Clients
	env     *runner.Env
}

func (f *failoverDBClusterFault) cluster(ctx context.Context) (*rdstypes.DBCluster, error) {
	return describeCluster(ctx, f.clients.RDS(f.cfg.Region), f.cfg.Cluster)
}

func describeCluster(ctx context.Context, api *rds.Client, id string) (*rdstypes.DBCluster, error) {
	out, err := api.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: &id})
	if err != nil {
		return nil, fmt.Errorf("describe db cluster %s: %w", id, err)
	}
	if len(out.DBClusters) == 0 {
		return nil, fmt.Errorf("db cluster %s not found", id)
	}
	return &out.DBClusters[0], nil
}

// clusterWriter returns the writer member of a cluster, or "".
func clusterWriter(c *rdstypes.DBCluster) string {
	for _, m := range c.DBClusterMembers {
		if aws.ToBool(m.IsClusterWriter) {
			return aws.ToString(m.DBInstanceIdentifier)
		}
	}
	return ""
}

// Plan implements runner.Planner.
func (f *failoverDBClusterFault) Plan(ctx context.Context) ([]string, error) {
	c, err := f.cluster(ctx)
	if err != nil {
		return nil, err
	}
	if len(c.DBClusterMembers) < 2 {
		return nil, fmt.Errorf("db cluster %s has %d members: a failover needs a reader", f.cfg.Cluster, len(c.DBClusterMembers))
	}
	return []string{f.cfg.Cluster}, nil
}

// Inject implements runner.Fault.
func (f *failoverDBClusterFault) Inject(ctx context.Context) (runner.Injection, error) {
	c, err := f.cluster(ctx)
	if err != nil {
		return runner.Injection{}, err
	}
	writer := clusterWriter(c)
	api := f.clients.RDS(f.cfg.Region)
	in := &rds.FailoverDBClusterInput{DBClusterIdentifier: &f.cfg.Cluster}
	if f.cfg.TargetInstance != "" {
		in.TargetDBInstanceIdentifier = &f.cfg.TargetInstance
	}
	rec := failoverDBClusterRecord{Where: f.clients.WhereOf(f.cfg.Region), Cluster: f.cfg.Cluster}
	if f.cfg.FailBack {
		rec.Writer = writer
	}
	if err := f.env.Journal(ctx, []string{f.cfg.Cluster}, rec); err != nil {
		return runner.Injection{}, err
	}
	inj := runner.Injection{Targets: []string{f.cfg.Cluster}}
	// The fail-back is in place before the failover: one AWS started whose answer was lost
	// must still be failed back. It does nothing while the old writer still writes.
	if f.cfg.FailBack && writer != "" {
		inj.Revert = func(ctx context.Context) error { return failBack(ctx, api, f.cfg.Cluster, writer) }
	}
	if _, err := api.FailoverDBCluster(ctx, in); err != nil {
		if refused(err) {
			inj.Revert = nil
		}
		return inj, fmt.Errorf("fail over db cluster %s: %w", f.cfg.Cluster, err)
	}
	return inj, nil
}
