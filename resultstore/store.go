// Package resultstore keeps drill results in DynamoDB (docs/DESIGN.md §5): one item per run,
// keyed so that history per system and per scenario in time order is a Query, never a Scan,
// with the full drill.result/v1 JSON inside. Writes are write-ahead: each result is spooled to a
// local directory (fsync'd) before the put and removed from the spool only once DynamoDB has it,
// so a result DynamoDB cannot take now (unreachable, throttled, table missing), or one whose
// writer was killed mid-put, is written later by Flush and never lost; the put is conditional
// on the item key, so a retry or a second flush never duplicates an item.
package resultstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/drillhq/drill/result"
)

// DefaultTable is the table name when none is given (docs/DESIGN.md §5).
const DefaultTable = "DRTestResults"

// Key layout. The table key is (PK, SK); the scenario index is (GSI1PK, SK).
const (
	AttrPK        = "PK"     // SYSTEM#<system>
	AttrSK        = "SK"     // <startedAt, UTC, fixed ns>#<runId>: sorts by time
	AttrGSI1PK    = "GSI1PK" // SCENARIO#<scenario>
	IndexScenario = "scenario-time"
	AttrRunID     = "runId"
	AttrResult    = "result"     // the drill.result/v1 JSON
	AttrResultGz  = "resultGzip" // the same, gzipped, when the JSON is too large for an item
)

// maxInlineJSON keeps an item well under DynamoDB's 400 KB limit.
const maxInlineJSON = 350 << 10

// PutAPI is what writing a result needs.
type PutAPI interface {
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// Store writes results to one table, spooling to SpoolDir what it cannot write.
type Store struct {
	api      PutAPI
	table    string
	spoolDir string
}

// New returns a Store. spoolDir is the local spool root; results for table go to
// spoolDir/<table>/<runId>.json.
func New(api PutAPI, table, spoolDir string) *Store {
	if table == "" {
		table = DefaultTable
	}
	return &Store{api: api, table: table, spoolDir: spoolDir}
}

// Table is the table the store writes to.
func (s *Store) Table() string { return s.table }

// SpoolDir is where results for this table are spooled.
func (s *Store) SpoolDir() string { return filepath.Join(s.spoolDir, s.table) }

// SortKey is the item's sort key: the start time in UTC with a fixed nanosecond fraction (so
// strings sort in time order), then the run id.
func SortKey(r *result.Result) string {
	return r.StartedAt.UTC().Format(result.T0Layout) + "#" + r.RunID
}

// Item builds the DynamoDB item for a result.
func Item(r *result.Result) (map[string]types.AttributeValue, error) {
	if r.RunID == "" {
		return nil, errors.New("result has no runId")
	}
	doc, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode result %s: %w", r.RunID, err)
	}
	item := map[string]types.AttributeValue{
		AttrPK:        &types.AttributeValueMemberS{Value: "SYSTEM#" + r.System},
		AttrSK:        &types.AttributeValueMemberS{Value: SortKey(r)},
		AttrGSI1PK:    &types.AttributeValueMemberS{Value: "SCENARIO#" + r.Scenario},
		AttrRunID:     &types.AttributeValueMemberS{Value: r.RunID},
		"scenario":    &types.AttributeValueMemberS{Value: r.Scenario},
		"system":      &types.AttributeValueMemberS{Value: r.System},
		"verdict":     &types.AttributeValueMemberS{Value: string(r.Verdict)},
		"startedAt":   &types.AttributeValueMemberS{Value: r.StartedAt.UTC().Format(time.RFC3339Nano)},
		"finishedAt":  &types.AttributeValueMemberS{Value: r.FinishedAt.UTC().Format(time.RFC3339Nano)},
		"schema":      &types.AttributeValueMemberS{Value: result.Schema},
		"rtoMet":      &types.AttributeValueMemberBOOL{Value: r.Objectives.RTO.Met},
		"rpoMet":      &types.AttributeValueMemberBOOL{Value: r.Objectives.RPO.Met},
		"toolVersion": &types.AttributeValueMemberS{Value: r.ToolVersion},
	}
	if r.Objectives.RTO.MeasuredMs != nil {
		item["rtoMs"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(*r.Objectives.RTO.MeasuredMs, 10)}
	}
	if r.Objectives.RPO.MeasuredMs != nil {
		item["rpoMs"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(*r.Objectives.RPO.MeasuredMs, 10)}
	}
	if r.Owner != "" {
		item["owner"] = &types.AttributeValueMemberS{Value: r.Owner}
	}
	if len(doc) <= maxInlineJSON {
		item[AttrResult] = &types.AttributeValueMemberS{Value: string(doc)}
		return item, nil
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(doc); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	item[AttrResultGz] = &types.AttributeValueMemberB{Value: buf.Bytes()}
	return item, nil
}

// Put writes the result unless an item for its run already exists. written is false when it
// did (a retry or a second flush): that is success, not an error.
func (s *Store) Put(ctx context.Context, r *result.Result) (written bool, err error) {
	item, err := Item(r)
	if err != nil {
		return false, err
	}
	_, err = s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(" + AttrRunID + ")"),
	})
	var cond *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &cond):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("put result %s into DynamoDB table %s: %w", r.RunID, s.table, err)
	}
	return true, nil
}

// Outcome of Save.
type Outcome int

const (
	Written        Outcome = iota // a new item
	AlreadyPresent                // the run was already in the table
	Spooled                       // DynamoDB failed; the result waits in the spool
)

// SaveReport says what Save did.
type SaveReport struct {
	Outcome   Outcome
	SpoolFile string // when Spooled
	Cause     error  // why it was spooled
}

// Save writes the result write-ahead: it spools the result first (fsync'd, 0600), then puts
// it, and removes it from the spool only once DynamoDB has it (written now, or already there by
// the conditional check). A crash or a cancelled ctx at any moment therefore leaves the result
// either in the table or in the spool, and Flush writes it exactly once. It returns an error
// only when the result could be neither written nor spooled.
func (s *Store) Save(ctx context.Context, r *result.Result) (SaveReport, error) {
	file, serr := s.spool(r)
	written, err := s.Put(ctx, r)
	if err != nil {
		if serr != nil {
			return SaveReport{Cause: err}, fmt.Errorf("%w; and spooling it failed too: %w", err, serr)
		}
		return SaveReport{Outcome: Spooled, SpoolFile: file, Cause: err}, nil
	}
	rep := SaveReport{Outcome: AlreadyPresent}
	if written {
		rep.Outcome = Written
	}
	if serr == nil {
		if rerr := os.Remove(file); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			// Harmless: DynamoDB has the run, so a flush finds it already present.
			rep.SpoolFile, rep.Cause = file, fmt.Errorf("remove saved result from spool: %w", rerr)
		}
	}
	return rep, nil
}

func (s *Store) spool(r *result.Result) (string, error) {
	if r.RunID == "" || strings.ContainsAny(r.RunID, `/\`) || r.RunID == "." || r.RunID == ".." {
		return "", fmt.Errorf("result has no usable runId (%q)", r.RunID)
	}
	dir := s.SpoolDir()
	// Owner-only like the files in it (CreateTemp makes them 0600): they are full results.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create spool directory: %w", err)
	}
	doc, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("spool result %s: %w", r.RunID, err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	if _, err := f.Write(doc); err != nil {
		f.Close()
		return "", fmt.Errorf("spool result %s: %w", r.RunID, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("spool result %s: %w", r.RunID, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("spool result %s: %w", r.RunID, err)
	}
	path := filepath.Join(dir, r.RunID+".json")
	if err := os.Rename(f.Name(), path); err != nil {
		return "", fmt.Errorf("spool result %s: %w", r.RunID, err)
	}
	return path, nil
}

// Pending lists the spooled result files, oldest name first.
func (s *Store) Pending() ([]string, error) {
	entries, err := os.ReadDir(s.SpoolDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read spool: %w", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(s.SpoolDir(), e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// FlushReport says what Flush did.
type FlushReport struct {
	Written        int
	AlreadyPresent int
	Remaining      int
	Errors         []error
}

// Flush writes every spooled result and removes it from the spool once DynamoDB has it. It
// stops at the first failed write: the rest would most likely fail the same way.
func (s *Store) Flush(ctx context.Context) (FlushReport, error) {
	var rep FlushReport
	files, err := s.Pending()
	if err != nil {
		return rep, err
	}
	for i, path := range files {
		r, err := readResult(path)
		if err != nil {
			rep.Errors = append(rep.Errors, err)
			continue
		}
		written, err := s.Put(ctx, r)
		if err != nil {
			rep.Errors = append(rep.Errors, err)
			rep.Remaining = len(files) - i
			return rep, err
		}
		if written {
			rep.Written++
		} else {
			rep.AlreadyPresent++
		}
		if err := os.Remove(path); err != nil {
			rep.Errors = append(rep.Errors, fmt.Errorf("remove flushed %s: %w", path, err))
		}
	}
	left, err := s.Pending()
	rep.Remaining = len(left)
	return rep, err
}

func readResult(path string) (*result.Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spooled result: %w", err)
	}
	var r result.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("spooled result %s is not drill.result/v1 JSON: %w", path, err)
	}
	return &r, nil
}

// Decode returns the result stored in an item.
func Decode(item map[string]types.AttributeValue) (*result.Result, error) {
	var doc []byte
	switch v := item[AttrResult].(type) {
	case *types.AttributeValueMemberS:
		doc = []byte(v.Value)
	default:
		b, ok := item[AttrResultGz].(*types.AttributeValueMemberB)
		if !ok {
			return nil, errors.New("item has no result attribute")
		}
		zr, err := gzip.NewReader(bytes.NewReader(b.Value))
		if err != nil {
			return nil, err
		}
		if doc, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	var r result.Result
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, fmt.Errorf("decode stored result: %w", err)
	}
	return &r, nil
}

// EnvSpool overrides the spool directory.
const EnvSpool = "DRILL_SPOOL"

// DefaultSpoolDir is $DRILL_SPOOL, else $XDG_STATE_HOME/drill/spool, else
// ~/.local/state/drill/spool: beside the local history store.
func DefaultSpoolDir(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv(EnvSpool); d != "" {
		return d, nil
	}
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "drill", "spool"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil || home == "" {
			return "", errors.New("no spool location: set DRILL_SPOOL, XDG_STATE_HOME or HOME")
		}
	}
	return filepath.Join(home, ".local", "state", "drill", "spool"), nil
}
