package awsfault

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// DescribeDBInstance returns one DB instance.
func DescribeDBInstance(ctx context.Context, api *rds.Client, id string) (*rdstypes.DBInstance, error) {
	out, err := api.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: &id})
	if err != nil {
		return nil, fmt.Errorf("describe db instance %s: %w", id, err)
	}
	if len(out.DBInstances) == 0 {
		return nil, fmt.Errorf("db instance %s not found", id)
	}
	return &out.DBInstances[0], nil
}

// waitDBAvailable polls until the instance is available again.
func waitDBAvailable(ctx context.Context, api *rds.Client, id string, every time.Duration) error {
	for {
		db, err := DescribeDBInstance(ctx, api, id)
		if err != nil {
			return err
		}
		if aws.ToString(db.DBInstanceStatus) == "available" {
			return nil
		}
		if err := sleep(ctx, every); err != nil {
			return fmt.Errorf("wait for db instance %s to be available (now %s): %w", id, aws.ToString(db.DBInstanceStatus), err)
		}
	}
}
