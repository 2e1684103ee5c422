package awsfault

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/drillhq/drill/localstack/lstest"
	"github.com/drillhq/drill/runner"
)

// newCluster creates an Aurora cluster with members; the first created is its writer (moto
// makes the first member the writer and swaps IsClusterWriter on FailoverDBCluster).
func newCluster(t *testing.T, api *rds.Client, cluster string, members ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := api.CreateDBCluster(ctx, &rds.CreateDBClusterInput{DBClusterIdentifier: aws.String(cluster), Engine: aws.String("aurora-postgresql"),
		MasterUsername: aws.String("u"), MasterUserPassword: aws.String("password1")}); err != nil {
		t.Fatalf("create db cluster %s: %v", cluster, err)
	}
	for _, m := range members {
		if _, err := api.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(m), DBClusterIdentifier: aws.String(cluster),
			Engine: aws.String("aurora-postgresql"), DBInstanceClass: aws.String("db.r6g.large")}); err != nil {
			t.Fatalf("create db instance %s in %s: %v", m, cluster, err)
		}
	}
}

func writerOf(t *testing.T, api *rds.Client, cluster string) string {
	t.Helper()
	c, err := describeCluster(context.Background(), api, cluster)
	if err != nil {
		t.Fatal(err)
	}
	return clusterWriter(c)
}

// aws:rds:failover-db-cluster with failBack journals the writer before failing over; after a
// drill whose fail-back never reached the emulator, Recover from the record alone makes that
// writer the writer again, and recovering a cluster already back makes no failover.
func TestRecoverFailoverDBCluster(t *testing.T) {
	lstest.SkipUnserved(t, "rds")
	t.Parallel()
	env, c := connect(t, "recover-failover", nil, 0, failAfter("FailoverDBCluster", 1))
	emu.Get(t).Require(t, "rds")
	api := c.RDS("")
	newCluster(t, api, "recover-fo", "recover-fo-1", "recover-fo-2")
	if w := writerOf(t, api, "recover-fo"); w != "recover-fo-1" {
		t.Fatalf("writer %q before the drill, want recover-fo-1", w)
	}
	f := injectAndLeave(t, env, FailoverDBClusterType(), &FailoverDBClusterConfig{Cluster: "recover-fo", FailBack: true})
	var rec failoverDBClusterRecord
	if err := json.Unmarshal(f.Record, &rec); err != nil {
		t.Fatalf("record %s: %v", f.Record, err)
	}
	if rec.Cluster != "recover-fo" || rec.Writer != "recover-fo-1" || rec.Endpoint != emu.Get(t).Endpoint || rec.Region != "us-east-1" {
		t.Fatalf("record %+v, want cluster recover-fo, writer recover-fo-1, the emulator's endpoint", rec)
	}
	if w := writerOf(t, api, "recover-fo"); w != "recover-fo-2" {
		t.Fatalf("writer %q after the drill, want recover-fo-2: nothing to recover", w)
	}
	recoverTwice(t, FailoverDBClusterType(), f.Record, func(round int) {
		if w := writerOf(t, api, "recover-fo"); w != "recover-fo-1" {
			t.Errorf("after recover #%d: writer %q, want recover-fo-1", round, w)
		}
	})
	// Recover builds its own clients, so that a cluster already back is left alone is seen on
	// the fail-back it shares, with counted clients.
	counter := &callCounter{}
	_, counted := connect(t, "recover-failover-count", counter, 0)
	if err := failBack(t.Context(), counted.RDS(""), rec.Cluster, rec.Writer); err != nil {
		t.Fatal(err)
	}
	if n := counter.snapshot()["FailoverDBCluster"]; n != 0 {
		t.Errorf("failing back a cluster whose writer is already %s called FailoverDBCluster %d times", rec.Writer, n)
	}
}

// Without failBack the drill does not fail back, and neither does Recover: no call is made (the
// record's endpoint is a closed port).
func TestRecoverFailoverDBClusterWithoutFailBackIsNoop(t *testing.T) {
	t.Parallel()
	rec := []byte(`{"region":"us-east-1","endpoint":"http://127.0.0.1:1","emulator":true,"cluster":"orders"}`)
	if err := FailoverDBClusterType().Recover(context.WithoutCancel(t.Context()), runner.NewEnv(nil, nil), rec); err != nil {
		t.Fatal(err)
	}
}
