package awsenv

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/drs"
	drstypes "github.com/aws/aws-sdk-go-v2/service/drs/types"
)

// DescribeSourceServers pages through DescribeSourceServers, limited to ids when given.
func DescribeSourceServers(ctx context.Context, api drs.DescribeSourceServersAPIClient, ids []string) ([]drstypes.SourceServer, error) {
	in := &drs.DescribeSourceServersInput{}
	if len(ids) > 0 {
		in.Filters = &drstypes.DescribeSourceServersRequestFilters{SourceServerIDs: ids}
	}
	var out []drstypes.SourceServer
	for p := drs.NewDescribeSourceServersPaginator(api, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("drs describe source servers: %w", err)
		}
		out = append(out, page.Items...)
	}
	return out, nil
}
