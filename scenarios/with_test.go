package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

type Inner struct {
	Depth int `yaml:"depth"`
}

type inlined struct {
	Zone string `yaml:"zone"`
}

type PtrInline struct {
	Rack string `yaml:"rack"`
}

type tree struct {
	Name     string `yaml:"name"`
	Children []tree `yaml:"children"`
}

// shapes has one field of every shape the `with:` decoder handles differently.
type shapes struct {
	Plain      string            `yaml:"plain"`
	NoTag      int               // key "notag", as yaml.v3 lower-cases untagged names
	Skipped    string            `yaml:"-"`
	hidden     string            //nolint:unused // unexported: never a key
	Wait       time.Duration     `yaml:"wait"`
	When       time.Time         `yaml:"when"`
	Blob       []byte            `yaml:"blob"` // yaml.v3 cannot decode []byte; must be an error, not a panic
	Pair       [2]int            `yaml:"pair"`
	Anything   any               `yaml:"anything"`
	MaybeWait  *Duration         `yaml:"maybeWait"`
	Nested     *Inner            `yaml:"nested"`
	ByNumber   map[int]string    `yaml:"byNumber"`
	Loose      map[any]any       `yaml:"loose"`
	Raw        yaml.Node         `yaml:"raw"`
	Tree       tree              `yaml:"tree"`
	Flags      []bool            `yaml:"flags"`
	Ratio      float64           `yaml:"ratio"`
	Count      uint8             `yaml:"count"`
	inlined    `yaml:",inline"`  // unexported embedded struct, inlined
	*PtrInline `yaml:",inline"`  // embedded pointer, allocated on demand
	Extra      map[string]string `yaml:",inline"`
}

// strictShapes has no inline map, so unknown keys are errors.
type strictShapes struct {
	Inner `yaml:",inline"`
	Other string `yaml:"other"`
}

type valueConfig struct{ A string }

// badTags has a tag yaml.v3 panics on; the loader must report it, not crash.
type badTags struct {
	A string `yaml:"a,required"`
}

// upper decodes itself, so a struct inlining it can only be decoded by yaml.v3.
type upper struct{ S string }

func (u *upper) UnmarshalYAML(n *yaml.Node) error {
	u.S = strings.ToUpper(n.Value)
	return nil
}

type inlineUnmarshaler struct {
	upper `yaml:",inline"`
}

// shapesCatalog is testCatalog plus step types with unusual configs.
func shapesCatalog() stubCatalog {
	c := testCatalog()
	for name, newCfg := range map[string]func() any{
		"shapes":   func() any { return &shapes{Plain: "default"} },
		"strict":   func() any { return &strictShapes{} },
		"not-ptr":  func() any { return valueConfig{} },
		"nil-ptr":  func() any { return (*valueConfig)(nil) },
		"map-cfg":  func() any { return &map[string]int{} },
		"int-cfg":  func() any { n := 7; return &n },
		"bad-tags": func() any { return &badTags{} },
		"inline-u": func() any { return &inlineUnmarshaler{} },
	} {
		c[KindStep][name] = newCfg
	}
	return c
}

func parseStep(t *testing.T, typ, with string) (*Scenario, error) {
	t.Helper()
	src := minimalYAML + "prepare:\n  - name: s\n    type: " + typ + "\n    with:\n" + indent(with, 6)
	return Parse("w.yaml", []byte(src), shapesCatalog(), WithLookupEnv(testEnv))
}

func TestWithShapes(t *testing.T) {
	t.Parallel()
	sc, err := parseStep(t, "shapes", `notag: 3
wait: 1m
when: 2024-01-02T03:04:05Z
pair: [1, 2]
anything: {a: [1, two]}
maybeWait: 2s
nested: {depth: 4}
byNumber: {1: one, 2: two}
loose: {1: x, y: 2}
raw: {keep: me}
tree: {name: root, children: [{name: leaf, children: [{name: deeper}]}]}
flags: [true, false]
ratio: 0.5
count: 255
zone: a
rack: r1
whatever: goes
`)
	if err != nil {
		t.Fatal(err)
	}
	got := sc.Prepare[0].With.(*shapes)
	want := &shapes{
		Plain:     "default",
		NoTag:     3,
		Wait:      time.Minute,
		When:      time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Pair:      [2]int{1, 2},
		Anything:  map[string]any{"a": []any{1, "two"}},
		MaybeWait: ptr(Duration(2 * time.Second)),
		Nested:    &Inner{Depth: 4},
		ByNumber:  map[int]string{1: "one", 2: "two"},
		Loose:     map[any]any{1: "x", "y": 2},
		Tree:      tree{Name: "root", Children: []tree{{Name: "leaf", Children: []tree{{Name: "deeper"}}}}},
		Flags:     []bool{true, false},
		Ratio:     0.5,
		Count:     255,
		inlined:   inlined{Zone: "a"},
		PtrInline: &PtrInline{Rack: "r1"},
		Extra:     map[string]string{"whatever": "goes"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(shapes{}), cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".Raw"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("decoded config mismatch (-want +got):\n%s", diff)
	}
	if got.Raw.Kind != yaml.MappingNode || len(got.Raw.Content) != 2 || got.Raw.Content[1].Value != "me" {
		t.Errorf("Raw = %+v, want the mapping node", got.Raw)
	}
}

func ptr[T any](v T) *T { return &v }

func TestWithInlineUnmarshaler(t *testing.T) {
	t.Parallel()
	sc, err := parseStep(t, "inline-u", "shout\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.Prepare[0].With.(*inlineUnmarshaler).S; got != "SHOUT" {
		t.Errorf("S = %q, want SHOUT (decoded by the inlined UnmarshalYAML)", got)
	}
}

func TestWithShapeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ, with string
		want      []string // lines of the error, without the "w.yaml:" prefix
	}{
		{"shapes", "wait: soon\nwhen: yesterday\npair: [1, 2, 3]\nflags: [yes, maybe]\ncount: 300\nratio: half\n", []string{
			`11:13: prepare[0].with.wait: want a duration like 1.5s, got "soon"`,
			`12:13: prepare[0].with.when: parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"`,
			`13:13: prepare[0].with.pair: invalid array: want 2 elements but got 3`,
			`14:20: prepare[0].with.flags[1]: want true or false, got "maybe"`,
			`15:14: prepare[0].with.count: want a non-negative integer, got "300"`,
			`16:14: prepare[0].with.ratio: want a number, got "half"`,
		}},
		{"shapes", "byNumber: {one: 1}\nloose: {[a]: 1}\nnested: [1]\ntree: {children: [{name: [x]}]}\nmaybeWait: {}\n", []string{
			`11:18: prepare[0].with.byNumber: want an integer, got "one"`,
			`12:15: prepare[0].with.loose: invalid map key a list`,
			`13:15: prepare[0].with.nested: want a mapping, got a list`,
			`14:32: prepare[0].with.tree.children[0].name: want a string, got a list`,
			`15:18: prepare[0].with.maybeWait: want a duration like 1.5s, got a mapping`,
		}},
		{"shapes", "blob: aGk=\n", []string{
			"11:13: prepare[0].with.blob: cannot unmarshal !!str `aGk=` into []uint8",
		}},
		{"strict", "depth: 1\nothr: x\n", []string{
			`12:7: prepare[0].with: unknown key "othr"; did you mean "other"?`,
		}},
		{"strict", "[not, a, map]\n", []string{
			`11:7: prepare[0].with: want a mapping, got a list`,
		}},
		{"not-ptr", "a: 1\n", []string{
			`8:5: prepare[0].with: internal error: step type "not-ptr" returned a config that is not a non-nil pointer (scenarios.valueConfig)`,
		}},
		{"nil-ptr", "a: 1\n", []string{
			`8:5: prepare[0].with: internal error: step type "nil-ptr" returned a config that is not a non-nil pointer (*scenarios.valueConfig)`,
		}},
		{"map-cfg", "a: x\n", []string{
			`11:10: prepare[0].with.a: want an integer, got "x"`,
		}},
		{"bad-tags", "a: x\n", []string{
			`11:7: prepare[0].with: internal error: config type scenarios.badTags: field A: unsupported flag "required" in yaml tag`,
		}},
		{"int-cfg", "a: x\n", []string{
			`11:7: prepare[0].with: want an integer, got a mapping`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+strings.SplitN(tt.with, "\n", 2)[0], func(t *testing.T) {
			t.Parallel()
			_, err := parseStep(t, tt.typ, tt.with)
			if err == nil {
				t.Fatal("Parse succeeded; want errors")
			}
			got := strings.Split(strings.ReplaceAll(err.Error(), "w.yaml:", ""), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
