package resultstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// LeaseAPI is what a system lease needs.
type LeaseAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// LeaseHolder names who holds a system's lease.
type LeaseHolder struct {
	Host     string
	PID      int
	RunID    string
	Scenario string
}

// LeaseHeldError is returned when another live holder has the system's lease.
type LeaseHeldError struct {
	System  string
	Holder  LeaseHolder
	Expires time.Time
}

func (e *LeaseHeldError) Error() string {
	who := fmt.Sprintf("pid %d on %s", e.Holder.PID, e.Holder.Host)
	if e.Holder.RunID != "" {
		who += ", run " + e.Holder.RunID
	}
	if e.Holder.Scenario != "" {
		who += " (" + e.Holder.Scenario + ")"
	}
	return fmt.Sprintf("system %s is already being drilled by %s (DynamoDB lease, expires %s unless renewed)", e.System, who, e.Expires.UTC().Format(time.RFC3339))
}

// Lease is one drill's claim on a system across hosts: an item in the results table (PK
// LEASE#<system>) written with a conditional put, with an expiry the holder renews. A holder
// that dies stops renewing, so its lease lapses after ttl instead of blocking the system forever;
// its journal, not the lease, records what it left broken.
type Lease struct {
	api    LeaseAPI
	table  string
	system string
	token  string
	ttl    time.Duration

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

const (
	leaseSK      = "LEASE"
	attrToken    = "leaseToken"
	attrExpires  = "leaseExpiresMs"
	attrHost     = "host"
	attrPID      = "pid"
	attrScenario = "scenario"
)

func leaseKey(system string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: &types.AttributeValueMemberS{Value: "LEASE#" + system},
		AttrSK: &types.AttributeValueMemberS{Value: leaseSK},
	}
}

// AcquireLease takes the system's lease for ttl and renews it every ttl/3 until Release. now is
// the clock the expiry is judged on (time.Now when nil); onLost is told when a renewal finds the
// lease taken over or failing, since the drill itself cannot be stopped from here.
func AcquireLease(ctx context.Context, api LeaseAPI, table, system string, h LeaseHolder, ttl time.Duration, now func() time.Time, onLost func(error)) (*Lease, error) {
	if now == nil {
		now = time.Now
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	l := &Lease{api: api, table: table, system: system, token: hex.EncodeToString(b[:]), ttl: ttl, stop: make(chan struct{}), done: make(chan struct{})}
	t := now()
	item := leaseKey(system)
	item[attrToken] = &types.AttributeValueMemberS{Value: l.token}
	item[attrExpires] = &types.AttributeValueMemberN{Value: strconv.FormatInt(t.Add(ttl).UnixMilli(), 10)}
	item[attrHost] = &types.AttributeValueMemberS{Value: h.Host}
	item[attrPID] = &types.AttributeValueMemberN{Value: strconv.Itoa(h.PID)}
	item[AttrRunID] = &types.AttributeValueMemberS{Value: h.RunID}
	item[attrScenario] = &types.AttributeValueMemberS{Value: h.Scenario}
	_, err := api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                &table,
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk) OR #exp < :now"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#exp": attrExpires},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)},
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil, l.heldBy(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("take DynamoDB lease on %s in %s: %w", system, table, err)
	}
	go l.renew(context.WithoutCancel(ctx), now, onLost)
	return l, nil
}

func (l *Lease) heldBy(ctx context.Context) error {
	out, err := l.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: &l.table, Key: leaseKey(l.system), ConsistentRead: aws.Bool(true)})
	held := &LeaseHeldError{System: l.system}
	if err != nil || out.Item == nil {
		return held // taken and gone again in between, or unreadable: still not ours
	}
	str := func(k string) string {
		if v, ok := out.Item[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	num := func(k string) int64 {
		if v, ok := out.Item[k].(*types.AttributeValueMemberN); ok {
			n, _ := strconv.ParseInt(v.Value, 10, 64)
			return n
		}
		return 0
	}
	held.Holder = LeaseHolder{Host: str(attrHost), PID: int(num(attrPID)), RunID: str(AttrRunID), Scenario: str(attrScenario)}
	held.Expires = time.UnixMilli(num(attrExpires))
	return held
}

func (l *Lease) renew(ctx context.Context, now func() time.Time, onLost func(error)) {
	defer close(l.done)
	t := time.NewTicker(max(l.ttl/3, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, l.ttl/3+time.Second)
		_, err := l.api.UpdateItem(rctx, &dynamodb.UpdateItemInput{
			TableName:                &l.table,
			Key:                      leaseKey(l.system),
			UpdateExpression:         aws.String("SET #exp = :exp"),
			ConditionExpression:      aws.String("#tok = :tok"),
			ExpressionAttributeNames: map[string]string{"#exp": attrExpires, "#tok": attrToken},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":exp": &types.AttributeValueMemberN{Value: strconv.FormatInt(now().Add(l.ttl).UnixMilli(), 10)},
				":tok": &types.AttributeValueMemberS{Value: l.token},
			},
		})
		cancel()
		if err != nil && onLost != nil {
			onLost(fmt.Errorf("renew DynamoDB lease on %s: %w", l.system, err))
		}
	}
}

// SetHolder rewrites who holds the lease (host, pid, run id, scenario), if it is still ours: a
// drill takes its leases before it names its runs, and a refused drill must be told the run.
func (l *Lease) SetHolder(ctx context.Context, h LeaseHolder) error {
	_, err := l.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &l.table,
		Key:                      leaseKey(l.system),
		UpdateExpression:         aws.String("SET #host = :host, #pid = :pid, #run = :run, #scn = :scn"),
		ConditionExpression:      aws.String("#tok = :tok"),
		ExpressionAttributeNames: map[string]string{"#host": attrHost, "#pid": attrPID, "#run": AttrRunID, "#scn": attrScenario, "#tok": attrToken},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":host": &types.AttributeValueMemberS{Value: h.Host},
			":pid":  &types.AttributeValueMemberN{Value: strconv.Itoa(h.PID)},
			":run":  &types.AttributeValueMemberS{Value: h.RunID},
			":scn":  &types.AttributeValueMemberS{Value: h.Scenario},
			":tok":  &types.AttributeValueMemberS{Value: l.token},
		},
	})
	if err != nil {
		return fmt.Errorf("name run %s in DynamoDB lease on %s: %w", h.RunID, l.system, err)
	}
	return nil
}

// Release stops renewing and deletes the lease if it is still ours.
func (l *Lease) Release(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		_, err = l.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                 &l.table,
			Key:                       leaseKey(l.system),
			ConditionExpression:       aws.String("#tok = :tok"),
			ExpressionAttributeNames:  map[string]string{"#tok": attrToken},
			ExpressionAttributeValues: map[string]types.AttributeValue{":tok": &types.AttributeValueMemberS{Value: l.token}},
		})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			err = nil // lapsed and taken by another: nothing of ours to delete
		}
		if err != nil {
			err = fmt.Errorf("release DynamoDB lease on %s: %w", l.system, err)
		}
	})
	return err
}
