package awsfault

import (
	"context"
	"errors"
	"github.com/drillhq/drill/localstack/lstest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/drillhq/drill/runner"
)

// The point-in-time restore reports the time it restored to as the recovery point, and its
// rollback step deletes only what a restore of this scenario created. moto ignores the restore
// time (it copies the instance as it is), so this checks the calls and the bookkeeping.
func TestRestoreDBInstanceToPointInTime(t *testing.T) {
	lstest.SkipUnserved(t, "rds")
	t.Parallel()
	env, c := connect(t, "pitr", nil, 0)
	ctx := context.Background()
	api := c.RDS("")
	if _, err := api.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("pitr-src"), Engine: aws.String("postgres"),
		DBInstanceClass: aws.String("db.t3.micro"), AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("u"), MasterUserPassword: aws.String("password1")}); err != nil {
		t.Fatal(err)
	}
	run := func(st runner.StepType, cfg any) error {
		t.Helper()
		s, err := st.New(cfg, env)
		if err != nil {
			t.Fatalf("%s: %v", st.Name, err)
		}
		return s.Run(ctx)
	}
	if !RestoreDBInstanceType().RestorePoint || DeleteRestoredDBInstanceType().RestorePoint {
		t.Fatal("only the restore step provides a restore point")
	}
	at := "2026-01-02T03:04:05Z"
	if err := run(RestoreDBInstanceType(), &RestoreDBInstanceConfig{Source: "pitr-src", Target: "pitr-at", RestoreTime: at, Wait: true}); err != nil {
		t.Fatalf("restore to %s: %v", at, err)
	}
	if err := run(RestoreDBInstanceType(), &RestoreDBInstanceConfig{Source: "pitr-src", Target: "pitr-latest", Wait: true}); err != nil {
		t.Fatalf("restore to the latest restorable time: %v", err)
	}
	pts := env.RestorePoints()
	if len(pts) != 2 || pts[0].At.Format(time.RFC3339) != at || !strings.Contains(pts[0].What, "pitr-src") || pts[1].At.IsZero() || pts[1].At.After(time.Now()) {
		t.Errorf("restore points %+v, want %s and the source's latest restorable time", pts, at)
	}
	// The source was not restored by this scenario: the rollback step must refuse it.
	if err := run(DeleteRestoredDBInstanceType(), &DeleteRestoredDBInstanceConfig{Instance: "pitr-src"}); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("delete of the source = %v, want a refusal", err)
	}
	for _, id := range []string{"pitr-at", "pitr-latest"} {
		if err := run(DeleteRestoredDBInstanceType(), &DeleteRestoredDBInstanceConfig{Instance: id}); err != nil {
			t.Errorf("delete %s: %v", id, err)
		}
		_, err := api.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
		var nf *rdstypes.DBInstanceNotFoundFault
		if !errors.As(err, &nf) {
			t.Errorf("%s still there after rollback: %v", id, err)
		}
		// Idempotent: rollback may run twice.
		if err := run(DeleteRestoredDBInstanceType(), &DeleteRestoredDBInstanceConfig{Instance: id}); err != nil {
			t.Errorf("second delete of %s: %v", id, err)
		}
	}
	if _, err := api.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("pitr-src")}); err != nil {
		t.Errorf("source gone: %v", err)
	}
}
