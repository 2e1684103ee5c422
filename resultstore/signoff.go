package resultstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/drillhq/drill/history"
)

// Sign-offs live in the results table under their own partition, SIGNOFF#<runId>, so the
// per-system and per-scenario queries never meet them and one Query lists a run's sign-offs.
const signOffPrefix = "SIGNOFF#"

// SignOffItem builds the DynamoDB item of a sign-off.
func SignOffItem(so history.SignOff) (map[string]types.AttributeValue, error) {
	if so.RunID == "" || so.By == "" {
		return nil, errors.New("sign-off needs a run id and who signed off")
	}
	doc, err := json.Marshal(so)
	if err != nil {
		return nil, fmt.Errorf("encode sign-off of %s: %w", so.RunID, err)
	}
	at := so.At.UTC().Format(time.RFC3339Nano)
	item := map[string]types.AttributeValue{
		AttrPK:    &types.AttributeValueMemberS{Value: signOffPrefix + so.RunID},
		AttrSK:    &types.AttributeValueMemberS{Value: at + "#" + so.By},
		AttrRunID: &types.AttributeValueMemberS{Value: so.RunID},
		"by":      &types.AttributeValueMemberS{Value: so.By},
		"at":      &types.AttributeValueMemberS{Value: at},
		"signoff": &types.AttributeValueMemberS{Value: string(doc)},
	}
	if so.Role != "" {
		item["role"] = &types.AttributeValueMemberS{Value: so.Role}
	}
	return item, nil
}

// PutSignOff writes a sign-off to the table. Writing the same sign-off twice writes the same
// item (same key, same content), so a retry is harmless.
func PutSignOff(ctx context.Context, api PutAPI, table string, so history.SignOff) error {
	if table == "" {
		table = DefaultTable
	}
	item, err := SignOffItem(so)
	if err != nil {
		return err
	}
	if _, err := api.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
		return fmt.Errorf("put sign-off of %s into DynamoDB table %s: %w", so.RunID, table, err)
	}
	return nil
}

// SignOffs reads a run's sign-offs back from the table, oldest first.
func SignOffs(ctx context.Context, api QueryAPI, table, runID string) ([]history.SignOff, error) {
	if table == "" {
		table = DefaultTable
	}
	var out []history.SignOff
	in := &dynamodb.QueryInput{
		TableName:                 &table,
		KeyConditionExpression:    strPtr("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: signOffPrefix + runID}},
	}
	for {
		page, err := api.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("query sign-offs of %s in DynamoDB table %s: %w", runID, table, err)
		}
		for _, it := range page.Items {
			v, ok := it["signoff"].(*types.AttributeValueMemberS)
			if !ok {
				return nil, fmt.Errorf("sign-off item of %s has no signoff attribute", runID)
			}
			var so history.SignOff
			if err := json.Unmarshal([]byte(v.Value), &so); err != nil {
				return nil, fmt.Errorf("decode sign-off of %s: %w", runID, err)
			}
			out = append(out, so)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func strPtr(s string) *string { return &s }
