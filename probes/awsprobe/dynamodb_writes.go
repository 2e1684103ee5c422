package awsprobe

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// DynamoDBWritesConfig is the `with:` block of the dynamodb-writes probe.
type DynamoDBWritesConfig struct {
	Table        string `yaml:"table" doc:"table to write to (required). It must exist unless createTable is set; drill never changes its settings"`
	PartitionKey string `yaml:"partitionKey" doc:"name of the table's partition key, a string attribute; it gets <run id>#<seq>"`
	Region       string `yaml:"region" doc:"region written to (default: environment.aws.region)"`
	ReadRegion   string `yaml:"readRegion" doc:"region read back from after recovery, e.g. a global-table replica (default: region)"`
	CreateTable  bool   `yaml:"createTable" doc:"for labs: create the table (on-demand, partitionKey only) when missing, and delete it at the end if this run created it"`
}

// Validate implements scenarios.Validator.
func (c *DynamoDBWritesConfig) Validate() error {
	var errs []error
	if c.Table == "" {
		errs = append(errs, scenarios.FieldErrorf("table", "required"))
	}
	if c.PartitionKey == "" {
		errs = append(errs, scenarios.FieldErrorf("partitionKey", "must not be empty"))
	}
	return errors.Join(errs...)
}

// DynamoDBWritesType is the dynamodb-writes probe (role data): each sample puts the next
// sequenced item (partition key "<run id>#<seq>", with run_id, seq and written_at attributes)
// into the table in region. After recovery it reads them back from readRegion with strongly
// consistent reads (a replica answers for its own region: for a global table this reads what
// replication delivered there), so the runner classifies the writes as lost, recovered or
// unexpected and computes the RPO exactly as for etcd-writes. It deletes its own items at the
// end (from region; global tables replicate the deletes) and nothing else.
func DynamoDBWritesType() runner.ProbeType {
	return runner.NewProbeType("dynamodb-writes",
		"Sequenced DynamoDB puts with read-back, e.g. from a global-table replica: lost acknowledged writes and RPO (role data)",
		func() *DynamoDBWritesConfig { return &DynamoDBWritesConfig{PartitionKey: "pk"} },
		func(cfg *DynamoDBWritesConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			readRegion := cfg.ReadRegion
			if readRegion == "" {
				readRegion = cfg.Region
			}
			return &DynamoDBWrites{
				cfg: *cfg, write: c.DynamoDB(cfg.Region), read: c.DynamoDB(readRegion),
				runID: dataRunID(env), log: newWriteLog(env), setup: make(chan struct{}, 1), env: env,
			}, nil
		}, runner.AsDataProbe())
}

// DynamoDBWrites is the probe; it implements runner.DataProbe and runner.Closer.
type DynamoDBWrites struct {
	cfg         DynamoDBWritesConfig
	write, read *dynamodb.Client
	runID       string
	log         *measure.WriteLog
	env         *runner.Env

	// setup serialises createTable without a mutex, so a sample waiting for another's
	// CreateTable still gives up when its own ctx ends.
	setup   chan struct{}
	ready   bool
	created bool
}

// RunID is the prefix of this run's partition keys.
func (p *DynamoDBWrites) RunID() string { return p.runID }

// Key is the partition key value of write seq.
func (p *DynamoDBWrites) Key(seq uint64) string { return p.runID + "#" + strconv.FormatUint(seq, 10) }

// Check implements runner.Probe: put the next sequenced item.
func (p *DynamoDBWrites) Check(ctx context.Context) error {
	seq := p.log.Begin()
	err := p.put(ctx, seq)
	p.log.End(ctx, seq, err, writeOutcome)
	return err
}

func (p *DynamoDBWrites) put(ctx context.Context, seq uint64) error {
	if p.cfg.CreateTable {
		if err := p.ensureTable(ctx); err != nil {
			return err
		}
	}
	_, err := p.write.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &p.cfg.Table,
		Item: map[string]ddbtypes.AttributeValue{
			p.cfg.PartitionKey: &ddbtypes.AttributeValueMemberS{Value: p.Key(seq)},
			"run_id":           &ddbtypes.AttributeValueMemberS{Value: p.runID},
			"seq":              &ddbtypes.AttributeValueMemberN{Value: strconv.FormatUint(seq, 10)},
			"written_at":       &ddbtypes.AttributeValueMemberS{Value: time.Now().UTC().Format(time.RFC3339Nano)},
		},
	})
	if err != nil {
		return fmt.Errorf("put item seq %d into %s: %w", seq, p.cfg.Table, err)
	}
	return nil
}

// ensureTable creates the table when createTable is set and it is missing.
func (p *DynamoDBWrites) ensureTable(ctx context.Context) error {
	select {
	case p.setup <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("table %s: wait for setup: %w", p.cfg.Table, ctx.Err())
	}
	defer func() { <-p.setup }()
	if p.ready {
		return nil
	}
	_, err := p.write.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &p.cfg.Table})
	var nf *ddbtypes.ResourceNotFoundException
	switch {
	case err == nil:
	case errors.As(err, &nf):
		_, err := p.write.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            &p.cfg.Table,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: &p.cfg.PartitionKey, AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: &p.cfg.PartitionKey, KeyType: ddbtypes.KeyTypeHash}},
			BillingMode:          ddbtypes.BillingModePayPerRequest,
		})
		var inUse *ddbtypes.ResourceInUseException
		switch {
		case err == nil:
			p.created = true
		case errors.As(err, &inUse):
			// Created by someone else meanwhile: not ours to delete.
		default:
			return fmt.Errorf("create table %s: %w", p.cfg.Table, err)
		}
		w := dynamodb.NewTableExistsWaiter(p.write, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 200 * time.Millisecond })
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: &p.cfg.Table}, 5*time.Minute); err != nil {
			return fmt.Errorf("wait for table %s: %w", p.cfg.Table, err)
		}
	default:
		return fmt.Errorf("describe table %s: %w", p.cfg.Table, err)
	}
	p.ready = true
	return nil
}

// Writes implements runner.DataProbe.
func (p *DynamoDBWrites) Writes() []measure.Write { return p.log.Writes() }

// ReadBack implements runner.DataProbe: which of this run's items readRegion has, by
// strongly consistent BatchGetItem on the keys written (no scan of someone else's table),
// retried while the region is unreachable. A missing table means every item is gone.
func (p *DynamoDBWrites) ReadBack(ctx context.Context) (map[uint64]bool, error) {
	return retryRead(ctx, "table "+p.cfg.Table, p.readOnce, clientError)
}

func (p *DynamoDBWrites) readOnce(ctx context.Context) (map[uint64]bool, error) {
	present := map[uint64]bool{}
	seqs := p.log.Seqs()
	for len(seqs) > 0 {
		n := min(len(seqs), 100) // BatchGetItem's limit
		keys := make([]map[string]ddbtypes.AttributeValue, n)
		for i, seq := range seqs[:n] {
			keys[i] = map[string]ddbtypes.AttributeValue{p.cfg.PartitionKey: &ddbtypes.AttributeValueMemberS{Value: p.Key(seq)}}
		}
		seqs = seqs[n:]
		req := map[string]ddbtypes.KeysAndAttributes{p.cfg.Table: {Keys: keys, ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("#k"), ExpressionAttributeNames: map[string]string{"#k": p.cfg.PartitionKey}}}
		for len(req) > 0 {
			out, err := p.read.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			var nf *ddbtypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return map[uint64]bool{}, nil
			}
			if err != nil {
				return nil, fmt.Errorf("batch get items: %w", err)
			}
			for _, item := range out.Responses[p.cfg.Table] {
				seq, err := p.seqOf(item)
				if err != nil {
					return nil, err
				}
				present[seq] = true
			}
			// Unprocessed keys (throttling) are asked again.
			req = out.UnprocessedKeys
		}
	}
	return present, nil
}

func (p *DynamoDBWrites) seqOf(item map[string]ddbtypes.AttributeValue) (uint64, error) {
	v, ok := item[p.cfg.PartitionKey].(*ddbtypes.AttributeValueMemberS)
	if !ok {
		return 0, fmt.Errorf("item without a string %s", p.cfg.PartitionKey)
	}
	s, ok := strings.CutPrefix(v.Value, p.runID+"#")
	seq, err := strconv.ParseUint(s, 10, 64)
	if !ok || err != nil || seq == 0 {
		return 0, fmt.Errorf("item %q is not one of this run's sequenced writes", v.Value)
	}
	return seq, nil
}

// Close implements runner.Closer: deletes this run's items (and the table, if this run
// created it and it holds nothing else). A failed cleanup is logged as well as returned, since
// leftover items should not go unnoticed.
func (p *DynamoDBWrites) Close() error {
	seqs := p.log.Seqs()
	if len(seqs) == 0 {
		// Nothing written means nothing set up (e.g. a dry run): no calls.
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	err := p.cleanup(ctx, seqs)
	if err != nil && p.env != nil && p.env.Log != nil {
		p.env.Log.Warn("dynamodb-writes: clean up", "table", p.cfg.Table, "run_id", p.runID, "err", err)
	}
	return err
}

func (p *DynamoDBWrites) cleanup(ctx context.Context, seqs []uint64) error {
	for len(seqs) > 0 {
		n := min(len(seqs), 25) // BatchWriteItem's limit
		reqs := make([]ddbtypes.WriteRequest, n)
		for i, seq := range seqs[:n] {
			reqs[i] = ddbtypes.WriteRequest{DeleteRequest: &ddbtypes.DeleteRequest{Key: map[string]ddbtypes.AttributeValue{p.cfg.PartitionKey: &ddbtypes.AttributeValueMemberS{Value: p.Key(seq)}}}}
		}
		seqs = seqs[n:]
		items := map[string][]ddbtypes.WriteRequest{p.cfg.Table: reqs}
		for len(items) > 0 {
			out, err := p.write.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: items})
			var nf *ddbtypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("delete items of run %s from %s: %w", p.runID, p.cfg.Table, err)
			}
			items = out.UnprocessedItems
		}
	}
	if !p.created {
		return nil
	}
	// Another run may have written to the table meanwhile: its items are not ours to destroy.
	out, err := p.write.Scan(ctx, &dynamodb.ScanInput{TableName: &p.cfg.Table, Limit: aws.Int32(1), Select: ddbtypes.SelectCount})
	if err != nil {
		return fmt.Errorf("check table %s is empty: %w", p.cfg.Table, err)
	}
	if out.Count > 0 || out.LastEvaluatedKey != nil {
		return nil
	}
	if _, err := p.write.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &p.cfg.Table}); err != nil {
		return fmt.Errorf("delete table %s: %w", p.cfg.Table, err)
	}
	return nil
}
