package awsenv

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// LatestSnapshot returns the newest completed snapshot owned by this account that matches t.
func LatestSnapshot(ctx context.Context, api *ec2.Client, t Targets, pageSize int32) (*ec2types.Snapshot, error) {
	in := &ec2.DescribeSnapshotsInput{
		OwnerIds: []string{"self"},
		Filters:  t.EC2Filters("snapshot-id", ec2types.Filter{Name: aws.String("status"), Values: []string{"completed"}}),
	}
	if pageSize > 0 {
		in.MaxResults = aws.Int32(max(pageSize, 5))
	}
	var all []ec2types.Snapshot
	for p := ec2.NewDescribeSnapshotsPaginator(api, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe snapshots: %w", err)
		}
		all = append(all, page.Snapshots...)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no completed snapshot matches %s", t.describe())
	}
	sort.SliceStable(all, func(i, j int) bool {
		ti, tj := aws.ToTime(all[i].StartTime), aws.ToTime(all[j].StartTime)
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return aws.ToString(all[i].SnapshotId) > aws.ToString(all[j].SnapshotId)
	})
	return &all[0], nil
}
