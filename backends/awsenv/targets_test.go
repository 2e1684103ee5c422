package awsenv

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/drillhq/drill/scenarios"
)

func TestParseSelection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Selection
		wantErr bool
	}{
		{in: "ALL", want: Selection{Mode: selectAll}},
		{in: "all", want: Selection{Mode: selectAll}},
		{in: "COUNT(2)", want: Selection{Mode: selectCount, N: 2}},
		{in: "count( 3 )", want: Selection{Mode: selectCount, N: 3}},
		{in: "PERCENT(25)", want: Selection{Mode: selectPercent, N: 25}},
		{in: "PERCENT(101)", wantErr: true},
		{in: "COUNT(0)", wantErr: true},
		{in: "COUNT(-1)", wantErr: true},
		{in: "SOME", wantErr: true},
		{in: "COUNT(2", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseSelection(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseSelection(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got != tt.want {
			t.Errorf("parseSelection(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestSelectionCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sel  string
		n    int
		want int
	}{
		{"ALL", 300, 300},
		{"COUNT(2)", 300, 2},
		{"COUNT(5)", 3, 3},
		{"PERCENT(10)", 300, 30},
		{"PERCENT(10)", 5, 1}, // rounds down but never to nothing
		{"PERCENT(50)", 3, 1},
		{"PERCENT(100)", 7, 7},
		{"COUNT(2)", 0, 0},
		{"PERCENT(10)", 0, 0},
	}
	for _, tt := range tests {
		s, err := parseSelection(tt.sel)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.count(tt.n); got != tt.want {
			t.Errorf("%s of %d = %d, want %d", tt.sel, tt.n, got, tt.want)
		}
	}
}

func TestSelectionChooseIsASortedSubset(t *testing.T) {
	t.Parallel()
	ids := []string{"i-5", "i-1", "i-4", "i-2", "i-3"}
	s := Selection{Mode: selectCount, N: 3}
	seen := map[string]bool{}
	for range 50 {
		got := s.choose(ids, 0)
		if len(got) != 3 {
			t.Fatalf("choose = %v, want 3 ids", got)
		}
		for i, id := range got {
			if !strings.HasPrefix(id, "i-") || (i > 0 && got[i-1] >= id) {
				t.Fatalf("choose = %v: not a sorted subset without duplicates", got)
			}
			seen[id] = true
		}
	}
	if len(seen) < 4 {
		t.Errorf("50 random choices of 3 of 5 touched only %v: selection is not random", seen)
	}
	if diff := cmp.Diff([]string{"i-1", "i-2", "i-3", "i-4", "i-5"}, Selection{}.choose(ids, 0)); diff != "" {
		t.Errorf("ALL (-want +got):\n%s", diff)
	}
}

func TestSelectionYAML(t *testing.T) {
	t.Parallel()
	var cfg struct {
		Targets Targets `yaml:"targets"`
	}
	if err := yaml.Unmarshal([]byte("targets: {tags: {app: web}, select: COUNT(2)}\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Targets.Select != (Selection{Mode: selectCount, N: 2}) {
		t.Errorf("select = %+v", cfg.Targets.Select)
	}
	if err := yaml.Unmarshal([]byte("targets: {tags: {app: web}, select: HALF}\n"), &cfg); err == nil {
		t.Error("select: HALF decoded without error")
	}
	out, err := yaml.Marshal(cfg.Targets.Select)
	if err != nil || strings.TrimSpace(string(out)) != "COUNT(2)" {
		t.Errorf("marshal = %q, %v", out, err)
	}
}

func TestTargetsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		t      Targets
		fields []string
	}{
		{"empty refuses the whole region", Targets{}, []string{"targets"}},
		{"tags", Targets{Tags: map[string]string{"app": "web"}}, nil},
		{"ids", Targets{IDs: []string{"i-1"}}, nil},
		{"filter without values", Targets{Filters: []Filter{{Name: "availability-zone"}}}, []string{"targets.filters[0].values"}},
		{"filter without name", Targets{Filters: []Filter{{Values: []string{"x"}}}}, []string{"targets.filters[0].name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fields []string
			for _, fe := range scenarios.AsFieldErrors(tt.t.Validate("targets")) {
				fields = append(fields, fe.Field)
			}
			if diff := cmp.Diff(tt.fields, fields); diff != "" {
				t.Errorf("error fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBatches(t *testing.T) {
	t.Parallel()
	ids := make([]string, 250)
	for i := range ids {
		ids[i] = "i"
	}
	var sizes []int
	for _, b := range Batches(ids, 100) {
		sizes = append(sizes, len(b))
	}
	if diff := cmp.Diff([]int{100, 100, 50}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	if got := Batches(nil, 100); got != nil {
		t.Errorf("Batches(nil) = %v", got)
	}
}

func TestSelectionStableWithinAFault(t *testing.T) {
	t.Parallel()
	ids := make([]string, 300)
	for i := range ids {
		ids[i] = fmt.Sprintf("i-%04d", i)
	}
	sel, err := parseSelection("COUNT(3)")
	if err != nil {
		t.Fatal(err)
	}
	var a, b Targets
	a.Select, b.Select = sel, sel
	a.Stabilize()
	b.Stabilize()
	first := a.Select.choose(ids, a.salt)
	for range 20 {
		if got := a.Select.choose(ids, a.salt); !slices.Equal(got, first) {
			t.Fatalf("same fault chose %v, then %v: announced targets would not be the injected ones", first, got)
		}
	}
	// Another fault (another drill) chooses independently: over several salts, not always the same.
	differs := false
	for range 10 {
		b.Stabilize()
		if !slices.Equal(b.Select.choose(ids, b.salt), first) {
			differs = true
		}
	}
	if !differs {
		t.Errorf("ten independent choices of 3 from 300 all equal %v: the choice is not random", first)
	}
}
