package scenarios

import (
	"encoding/json"
	"strings"
	"testing"
)

type enumConfig struct {
	Mode  string   `yaml:"mode" doc:"how to stop it"`
	Wait  Duration `yaml:"wait"`
	Inner *labStub `yaml:"inner"`
}

func (enumConfig) Enums() map[string][]string { return map[string][]string{"mode": {"fast", "slow"}} }

type labStub struct {
	Members int `yaml:"members"`
}

func (l *labStub) SetDefaults() { l.Members = 3 }

func TestJSONSchemaShape(t *testing.T) {
	cat := testCatalog()
	cat[KindFault]["enum"] = func() any { return &enumConfig{Wait: Duration(2e9)} }
	s, err := JSONSchema(cat, SchemaOptions{ID: "https://example.test/s.json", Summary: func(k Kind, n string) string { return string(k) + " " + n }})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	js := string(data)
	for _, want := range []string{
		`"$schema":"https://json-schema.org/draft/2020-12/schema"`,
		`"$id":"https://example.test/s.json"`,
		// Enumer values, with a placeholder allowed instead.
		`"enum":["fast","slow"]`,
		// Defaults of a nested Defaulter come from SetDefaults, and `inner:` alone is allowed.
		`"default":3`, `{"type":"null"}`,
		`"default":"2s"`,
		`"description":"fault enum"`,
		`"required":["version","name","system","objectives","faults","probes"]`,
	} {
		if !strings.Contains(js, want) {
			t.Errorf("schema lacks %s", want)
		}
	}
	defs := s["$defs"].(map[string]any)
	for _, d := range []string{"probe.http", "fault.enum", "step.sleep", "probe", "fault", "step", "duration", "placeholder"} {
		if _, ok := defs[d]; !ok {
			t.Errorf("$defs lacks %s", d)
		}
	}
	props := s["properties"].(map[string]any)
	if len(props) != len(topKeys) {
		t.Errorf("%d top-level properties, the loader reads %d keys", len(props), len(topKeys))
	}
}

func TestSchemaKeysFollowTheLoader(t *testing.T) {
	if _, err := pick(map[string]any{"a": 1}, []string{"a", "b"}, "x"); err == nil {
		t.Error("a key without a schema was not reported")
	}
	if _, err := pick(map[string]any{"a": 1, "c": 2}, []string{"a"}, "x"); err == nil {
		t.Error("a schema for a key the loader does not read was not reported")
	}
}
