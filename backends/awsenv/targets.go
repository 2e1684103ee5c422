package awsenv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"go.yaml.in/yaml/v3"

	"github.com/drillhq/drill/scenarios"
)

// Targets selects EC2 resources the way AWS FIS target definitions do: by ids, tags and
// Describe filters (all combined with AND), then a selection mode picks among the matches.
type Targets struct {
	IDs     []string          `yaml:"ids" doc:"resource ids"`
	Tags    map[string]string `yaml:"tags" doc:"resources carrying all of these tags"`
	Filters []Filter          `yaml:"filters" doc:"EC2 Describe filters, e.g. {name: availability-zone, values: [us-east-1a]}"`
	Select  Selection         `yaml:"select" doc:"ALL, COUNT(n) or PERCENT(n) of the matches, chosen at random"`

	// salt makes the random choice stable within one fault: the targets a drill announces
	// before injecting (Plan) are the ones it then injects into. Zero means a fresh choice
	// every time.
	salt uint64
}

// Stabilize fixes this fault's random choice for its lifetime (see salt).
func (t *Targets) Stabilize() { t.salt = rand.Uint64() | 1 }

// Filter is one EC2 Describe filter.
type Filter struct {
	Name   string   `yaml:"name"`
	Values []string `yaml:"values"`
}

// Selection modes.
const (
	selectAll     = "ALL"
	selectCount   = "COUNT"
	selectPercent = "PERCENT"
)

// Selection is ALL, COUNT(n) or PERCENT(n). The zero value is ALL.
type Selection struct {
	Mode string
	N    int
}

var selectionRE = regexp.MustCompile(`^(COUNT|PERCENT)\((\d+)\)$`)

// parseSelection parses "ALL", "COUNT(n)" or "PERCENT(n)" (case-insensitive).
func parseSelection(s string) (Selection, error) {
	u := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if u == selectAll {
		return Selection{Mode: selectAll}, nil
	}
	m := selectionRE.FindStringSubmatch(u)
	if m == nil {
		return Selection{}, fmt.Errorf("invalid select %q: want ALL, COUNT(n) or PERCENT(n)", s)
	}
	n, err := strconv.Atoi(m[2])
	if err != nil || n < 1 {
		return Selection{}, fmt.Errorf("invalid select %q: n must be a positive integer", s)
	}
	if m[1] == selectPercent && n > 100 {
		return Selection{}, fmt.Errorf("invalid select %q: a percentage is at most 100", s)
	}
	return Selection{Mode: m[1], N: n}, nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Selection) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("want ALL, COUNT(n) or PERCENT(n)")
	}
	v, err := parseSelection(n.Value)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (s Selection) MarshalYAML() (any, error) { return s.String(), nil }

func (s Selection) String() string {
	switch s.Mode {
	case selectCount, selectPercent:
		return fmt.Sprintf("%s(%d)", s.Mode, s.N)
	}
	return selectAll
}

// IsAll reports whether every match is selected.
func (s Selection) IsAll() bool { return s.Mode == "" || s.Mode == selectAll }

// count is how many of n matches the selection takes. PERCENT rounds down but takes at least
// one of a non-empty set, so PERCENT(10) of 5 instances still breaks something.
func (s Selection) count(n int) int {
	switch s.Mode {
	case selectCount:
		return min(s.N, n)
	case selectPercent:
		k := n * s.N / 100
		if k == 0 && n > 0 {
			k = 1
		}
		return k
	}
	return n
}

// choose orders ids by a salted hash (a random order that the same salt reproduces) and takes
// the first Count; salt 0 shuffles afresh.
func (s Selection) choose(ids []string, salt uint64) []string {
	k := s.count(len(ids))
	out := slices.Clone(ids)
	if k < len(out) {
		if salt == 0 {
			rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		} else {
			rank := func(id string) uint64 {
				h := fnv.New64a()
				var b [8]byte
				binary.LittleEndian.PutUint64(b[:], salt)
				h.Write(b[:])
				h.Write([]byte(id))
				return h.Sum64()
			}
			sort.Slice(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
		}
		out = out[:k]
	}
	sort.Strings(out)
	return out
}

// Empty reports whether no selector is set.
func (t Targets) Empty() bool { return len(t.IDs) == 0 && len(t.Tags) == 0 && len(t.Filters) == 0 }

// Validate checks the selectors; field is the key the targets sit under. An empty selector is
// refused: "every instance in the region" is never what a drill means.
func (t Targets) Validate(field string) error {
	var errs []error
	if t.Empty() {
		errs = append(errs, scenarios.FieldErrorf(field, "give at least one of ids, tags or filters"))
	}
	for i, f := range t.Filters {
		if f.Name == "" {
			errs = append(errs, scenarios.FieldErrorf(fmt.Sprintf("%s.filters[%d].name", field, i), "required"))
		}
		if len(f.Values) == 0 {
			errs = append(errs, scenarios.FieldErrorf(fmt.Sprintf("%s.filters[%d].values", field, i), "give at least one value"))
		}
	}
	for k := range t.Tags {
		if k == "" {
			errs = append(errs, scenarios.FieldErrorf(field+".tags", "empty tag key"))
		}
	}
	return errors.Join(errs...)
}

// EC2Filters turns the selectors into Describe filters. The id selector becomes a filter rather
// than an id list so that an unknown id matches nothing instead of failing the call.
func (t Targets) EC2Filters(idFilter string, extra ...ec2types.Filter) []ec2types.Filter {
	var fs []ec2types.Filter
	if len(t.IDs) > 0 {
		fs = append(fs, ec2types.Filter{Name: aws.String(idFilter), Values: t.IDs})
	}
	keys := make([]string, 0, len(t.Tags))
	for k := range t.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fs = append(fs, ec2types.Filter{Name: aws.String("tag:" + k), Values: []string{t.Tags[k]}})
	}
	for _, f := range t.Filters {
		fs = append(fs, ec2types.Filter{Name: aws.String(f.Name), Values: f.Values})
	}
	return append(fs, extra...)
}

// Instance is a matched EC2 instance.
type Instance struct {
	ID    string
	State string
}

// ListInstances pages through DescribeInstances with the given filters.
func ListInstances(ctx context.Context, api ec2.DescribeInstancesAPIClient, filters []ec2types.Filter, pageSize int32) ([]Instance, error) {
	in := &ec2.DescribeInstancesInput{Filters: filters}
	if pageSize > 0 {
		in.MaxResults = aws.Int32(max(pageSize, 5))
	}
	var out []Instance
	for p := ec2.NewDescribeInstancesPaginator(api, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				st := ""
				if i.State != nil {
					st = string(i.State.Name)
				}
				out = append(out, Instance{ID: aws.ToString(i.InstanceId), State: st})
			}
		}
	}
	return out, nil
}

// ResolveInstances returns the matching instances in one of the given states (any state when
// none are given), and the selection chosen among them. It fails when nothing matches, as AWS
// FIS does: a drill that breaks nothing proves nothing.
func ResolveInstances(ctx context.Context, api ec2.DescribeInstancesAPIClient, t Targets, pageSize int32, states ...string) (chosen []string, err error) {
	var extra []ec2types.Filter
	if len(states) > 0 {
		extra = append(extra, ec2types.Filter{Name: aws.String("instance-state-name"), Values: states})
	}
	found, err := ListInstances(ctx, api, t.EC2Filters("instance-id", extra...), pageSize)
	if err != nil {
		return nil, fmt.Errorf("describe instances: %w", err)
	}
	if len(found) == 0 {
		what := "instances"
		if len(states) > 0 {
			what = strings.Join(states, "/") + " instances"
		}
		return nil, fmt.Errorf("no %s match %s", what, t.describe())
	}
	ids := make([]string, len(found))
	for i, f := range found {
		ids[i] = f.ID
	}
	return t.Select.choose(ids, t.salt), nil
}

func (t Targets) describe() string {
	var parts []string
	if len(t.IDs) > 0 {
		parts = append(parts, fmt.Sprintf("ids %v", t.IDs))
	}
	if len(t.Tags) > 0 {
		keys := make([]string, 0, len(t.Tags))
		for k := range t.Tags {
			keys = append(keys, k+"="+t.Tags[k])
		}
		sort.Strings(keys)
		parts = append(parts, "tags "+strings.Join(keys, ","))
	}
	for _, f := range t.Filters {
		parts = append(parts, fmt.Sprintf("%s=%s", f.Name, strings.Join(f.Values, ",")))
	}
	return strings.Join(parts, " and ")
}

// InstanceStates returns the state of each listed instance, describing in batches (a filter
// takes a bounded number of values).
func InstanceStates(ctx context.Context, api ec2.DescribeInstancesAPIClient, ids []string, pageSize int32) (map[string]string, error) {
	states := make(map[string]string, len(ids))
	for _, b := range Batches(ids, 200) {
		found, err := ListInstances(ctx, api, []ec2types.Filter{{Name: aws.String("instance-id"), Values: b}}, pageSize)
		if err != nil {
			return nil, fmt.Errorf("describe instances %v: %w", b, err)
		}
		for _, f := range found {
			states[f.ID] = f.State
		}
	}
	return states, nil
}

// Batches splits ids into slices of at most n, for APIs that take a bounded number of ids.
func Batches(ids []string, n int) [][]string {
	var out [][]string
	for len(ids) > n {
		out = append(out, ids[:n:n])
		ids = ids[n:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}
