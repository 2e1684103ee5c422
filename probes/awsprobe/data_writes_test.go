package awsprobe

import (
	"context"
	"errors"
	"github.com/drillhq/drill/localstack/lstest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/runner"
)

// moto replicates neither across regions (global tables) nor across buckets (S3 replication),
// so these tests read back from where they wrote and simulate loss by deleting items and
// objects behind the probe's back: what a failover to a replica that had not caught up does.

func writeN(t *testing.T, p runner.Probe, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := check(t, p); err != nil {
			t.Fatalf("write %d: %v", i+1, err)
		}
	}
}

func classify(t *testing.T, p runner.DataProbe) measure.DataLoss {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	present, err := p.ReadBack(ctx)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	return measure.ClassifyWrites(p.Writes(), present)
}

func TestDynamoDBWrites(t *testing.T) {
	lstest.SkipUnserved(t, "dynamodb")
	env, c, _ := labEnv(t)
	ctx := context.Background()
	if !DynamoDBWritesType().Data {
		t.Fatal("dynamodb-writes is not declared a data probe")
	}
	const table = "drill-writes-probe-test"
	p := newProbe(t, DynamoDBWritesType(), &DynamoDBWritesConfig{Table: table, PartitionKey: "pk", CreateTable: true}, env).(*DynamoDBWrites)
	writeN(t, p, 6)
	if got := classify(t, p); got.Acknowledged != 6 || got.Lost != 0 || got.Unexpected != 0 {
		t.Fatalf("before loss: %+v, want 6 acknowledged, none lost", got)
	}
	// Someone else's item in the same table must survive the cleanup (and keep the table).
	api := c.DynamoDB("")
	other := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "someone-else"}}
	if _, err := api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: other}); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{4, 5} {
		if _, err := api.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: p.Key(seq)}}}); err != nil {
			t.Fatal(err)
		}
	}
	got := classify(t, p)
	if got.Lost != 2 || got.Acknowledged != 6 || len(got.LostSeqs) != 2 || got.LostSeqs[0] != 4 || got.RPO <= 0 {
		t.Errorf("after deleting 4 and 5: %+v, want 2 lost (4, 5) and an RPO > 0", got)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	out, err := api.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("table gone although another item was in it: %v", err)
	}
	if len(out.Items) != 1 {
		t.Errorf("after cleanup %d items left, want only the other run's", len(out.Items))
	}
	// With only its own items, a table the probe created is deleted.
	if _, err := api.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: other}); err != nil {
		t.Fatal(err)
	}
	p2 := newProbe(t, DynamoDBWritesType(), &DynamoDBWritesConfig{Table: table, PartitionKey: "pk"}, env).(*DynamoDBWrites)
	writeN(t, p2, 2)
	if err := p2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}); err != nil {
		t.Errorf("a table the probe did not create was deleted: %v", err)
	}
	p3 := newProbe(t, DynamoDBWritesType(), &DynamoDBWritesConfig{Table: table, PartitionKey: "pk", CreateTable: true}, env).(*DynamoDBWrites)
	writeN(t, p3, 1)
	// The table existed: this run did not create it, so it stays.
	if err := p3.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := api.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
		t.Fatal(err)
	}
	p4 := newProbe(t, DynamoDBWritesType(), &DynamoDBWritesConfig{Table: table, PartitionKey: "pk", CreateTable: true}, env).(*DynamoDBWrites)
	writeN(t, p4, 1)
	if err := p4.Close(); err != nil {
		t.Fatal(err)
	}
	var nf *ddbtypes.ResourceNotFoundException
	if _, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}); !errors.As(err, &nf) {
		t.Errorf("table the probe created and emptied still there: %v", err)
	}
}

// Without createTable a missing table is a refused write: not acknowledged, so not lost.
func TestDynamoDBWritesMissingTable(t *testing.T) {
	lstest.SkipUnserved(t, "dynamodb")
	env, _, _ := labEnv(t)
	p := newProbe(t, DynamoDBWritesType(), &DynamoDBWritesConfig{Table: "no-such-table", PartitionKey: "pk"}, env).(*DynamoDBWrites)
	if err := check(t, p); err == nil {
		t.Fatal("write to a missing table succeeded")
	}
	w := p.Writes()
	if len(w) != 1 || w[0].Outcome != measure.WriteFailed {
		t.Errorf("writes %+v, want one failed write", w)
	}
	if got := classify(t, p); got.Acknowledged != 0 || got.Lost != 0 {
		t.Errorf("%+v, want nothing acknowledged or lost", got)
	}
}

func TestS3Writes(t *testing.T) {
	env, c, _ := labEnv(t)
	ctx := context.Background()
	if !S3WritesType().Data {
		t.Fatal("s3-writes is not declared a data probe")
	}
	const bucket = "drill-writes-probe-test"
	api := c.S3("")
	if _, err := api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("drill-writes/unrelated")}); err != nil {
		t.Fatal(err)
	}
	p := newProbe(t, S3WritesType(), &S3WritesConfig{Bucket: bucket, Prefix: "drill-writes/"}, env).(*S3Writes)
	writeN(t, p, 5)
	if got := classify(t, p); got.Acknowledged != 5 || got.Lost != 0 || got.Unexpected != 0 {
		t.Fatalf("before loss: %+v, want 5 acknowledged, none lost", got)
	}
	for _, seq := range []uint64{2, 5} {
		if _, err := api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(p.Key(seq))}); err != nil {
			t.Fatal(err)
		}
	}
	got := classify(t, p)
	if got.Lost != 2 || len(got.LostSeqs) != 2 || got.LostSeqs[0] != 2 || got.LostSeqs[1] != 5 || got.RPO <= 0 {
		t.Errorf("after deleting 2 and 5: %+v, want 2 lost (2, 5) and an RPO > 0", got)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	out, err := api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "drill-writes/unrelated" {
		t.Errorf("after cleanup: %d objects left, want only drill-writes/unrelated", len(out.Contents))
	}
}

// A read-back bucket that does not exist is an error, at once: a wrong name, not data loss.
func TestS3WritesMissingReadBucket(t *testing.T) {
	env, c, _ := labEnv(t)
	const bucket = "drill-writes-probe-test-2"
	if _, err := c.S3("").CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	p := newProbe(t, S3WritesType(), &S3WritesConfig{Bucket: bucket, ReadBucket: "no-such-bucket", Prefix: "w/"}, env).(*S3Writes)
	writeN(t, p, 1)
	start := time.Now()
	if _, err := p.ReadBack(context.Background()); err == nil {
		t.Error("read back from a missing bucket succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("read back took %v: a missing bucket should not be retried", d)
	}
	if err := p.Close(); err == nil {
		t.Error("cleanup of a missing read bucket reported no error")
	}
}
