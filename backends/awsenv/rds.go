package awsenv

import (
	"context"
	"fmt"

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
