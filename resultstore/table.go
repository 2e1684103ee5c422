package resultstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/drillhq/drill/result"
)

// CreateTable creates the results table with on-demand billing and the scenario index, and
// waits until it is active. created is false when the table already existed.
func CreateTable(ctx context.Context, api *dynamodb.Client, table string) (created bool, err error) {
	if table == "" {
		table = DefaultTable
	}
	s := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	_, err = api.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &table,
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{s(AttrPK), s(AttrSK), s(AttrGSI1PK)},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(AttrSK), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(IndexScenario),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(AttrGSI1PK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(AttrSK), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
		Tags: []types.Tag{{Key: aws.String("app"), Value: aws.String("drill")}},
	})
	var inUse *types.ResourceInUseException
	switch {
	case errors.As(err, &inUse):
		created = false
	case err != nil:
		return false, fmt.Errorf("create DynamoDB table %s: %w", table, err)
	default:
		created = true
	}
	w := dynamodb.NewTableExistsWaiter(api, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 500 * time.Millisecond })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: &table}, 5*time.Minute); err != nil {
		return created, fmt.Errorf("wait for DynamoDB table %s: %w", table, err)
	}
	return created, nil
}

// QueryAPI is what reading history needs.
type QueryAPI interface {
	dynamodb.QueryAPIClient
}

// BySystem returns a system's results, newest first, at most limit (0 = all).
func BySystem(ctx context.Context, api QueryAPI, table, system string, limit int) ([]*result.Result, error) {
	return query(ctx, api, &dynamodb.QueryInput{
		TableName:                 &table,
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "SYSTEM#" + system}},
		ScanIndexForward:          aws.Bool(false),
	}, limit)
}

// ByScenario returns a scenario's results, newest first, at most limit (0 = all).
func ByScenario(ctx context.Context, api QueryAPI, table, scenario string, limit int) ([]*result.Result, error) {
	return query(ctx, api, &dynamodb.QueryInput{
		TableName:                 &table,
		IndexName:                 aws.String(IndexScenario),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "SCENARIO#" + scenario}},
		ScanIndexForward:          aws.Bool(false),
	}, limit)
}

func query(ctx context.Context, api QueryAPI, in *dynamodb.QueryInput, limit int) ([]*result.Result, error) {
	var out []*result.Result
	for p := dynamodb.NewQueryPaginator(api, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query DynamoDB table %s: %w", aws.ToString(in.TableName), err)
		}
		for _, item := range page.Items {
			r, err := Decode(item)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
	}
	return out, nil
}
