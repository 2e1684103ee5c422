package probes

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// decode mimics the loader: a defaulted config from NewConfig, strict YAML decoding, Validate.
func decode(t *testing.T, typ runner.ProbeType, with string) (any, error) {
	t.Helper()
	cfg := typ.NewConfig()
	dec := yaml.NewDecoder(strings.NewReader(with))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		t.Fatalf("decode %q: %v", with, err)
	}
	v, ok := cfg.(scenarios.Validator)
	if !ok {
		t.Fatalf("%T does not implement scenarios.Validator", cfg)
	}
	return cfg, v.Validate()
}

func fieldNames(err error) []string {
	var out []string
	for _, fe := range scenarios.AsFieldErrors(err) {
		out = append(out, fe.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		typ        runner.ProbeType
		with       string
		wantFields []string // FieldError.Field of each error, in order; nil = valid
		wantMsg    string   // substring of the joined message
	}{
		{name: "http ok", typ: HTTPType(nil), with: `{url: "https://example.com/health"}`},
		{name: "http full", typ: HTTPType(nil), with: `{url: "http://127.0.0.1:8080/", method: POST, expectStatus: 204, bodyContains: ok, headers: {X-A: b}}`},
		{name: "http missing url", typ: HTTPType(nil), with: `{method: GET}`, wantFields: []string{"url"}, wantMsg: "url: required"},
		{name: "http bad scheme", typ: HTTPType(nil), with: `{url: "ftp://host/x"}`, wantFields: []string{"url"}, wantMsg: `scheme must be http or https, got "ftp"`},
		{name: "http no scheme", typ: HTTPType(nil), with: `{url: "localhost:8080/health"}`, wantFields: []string{"url"}},
		{name: "http no host", typ: HTTPType(nil), with: `{url: "http:///health"}`, wantFields: []string{"url"}, wantMsg: "has no host"},
		{name: "http unparsable url", typ: HTTPType(nil), with: `{url: "http://[::1"}`, wantFields: []string{"url"}, wantMsg: "invalid URL"},
		{name: "http status low", typ: HTTPType(nil), with: `{url: "http://h/", expectStatus: 99}`, wantFields: []string{"expectStatus"}, wantMsg: "between 100 and 599, got 99"},
		{name: "http status high", typ: HTTPType(nil), with: `{url: "http://h/", expectStatus: 600}`, wantFields: []string{"expectStatus"}},
		{name: "http bad method", typ: HTTPType(nil), with: `{url: "http://h/", method: "GET /"}`, wantFields: []string{"method"}},
		{name: "http bad header", typ: HTTPType(nil), with: `{url: "http://h/", headers: {"X Bad": v}}`, wantFields: []string{"headers"}},
		{name: "http header injection", typ: HTTPType(nil), with: `{url: "http://h/", headers: {X-A: "a\r\nX-B: c"}}`, wantFields: []string{"headers"}},
		{name: "http several errors at once", typ: HTTPType(nil), with: `{expectStatus: 0}`, wantFields: []string{"url", "expectStatus"}},

		{name: "tcp ok", typ: TCPType(), with: `{address: "127.0.0.1:2379"}`},
		{name: "tcp ipv6", typ: TCPType(), with: `{address: "[::1]:2379"}`},
		{name: "tcp missing", typ: TCPType(), with: `{}`, wantFields: []string{"address"}, wantMsg: "required"},
		{name: "tcp no port", typ: TCPType(), with: `{address: "db.internal"}`, wantFields: []string{"address"}, wantMsg: `want host:port, got "db.internal"`},
		{name: "tcp empty port", typ: TCPType(), with: `{address: "db.internal:"}`, wantFields: []string{"address"}},
		{name: "tcp port range", typ: TCPType(), with: `{address: "db:70000"}`, wantFields: []string{"address"}, wantMsg: "1 to 65535"},
		{name: "tcp no host", typ: TCPType(), with: `{address: ":80"}`, wantFields: []string{"address"}, wantMsg: "has no host"},

		{name: "command ok", typ: CommandType(), with: `{run: "pg_isready -h 127.0.0.1"}`},
		{name: "command missing", typ: CommandType(), with: `{}`, wantFields: []string{"run"}, wantMsg: "run: required"},
		{name: "command blank", typ: CommandType(), with: `{run: "   "}`, wantFields: []string{"run"}},

		{name: "dns ok", typ: DNSType(), with: `{name: app.example.com, resolver: "127.0.0.1:53"}`},
		{name: "dns type", typ: DNSType(), with: `{name: x, type: MX}`, wantFields: []string{"type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := decode(t, tt.typ, tt.with)
			if diff := cmp.Diff(tt.wantFields, fieldNames(err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s\nerror: %v", diff, err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if err != nil && strings.Contains(err.Error(), "\n") && len(tt.wantFields) == 1 {
				t.Errorf("single error spans lines: %q", err)
			}
		})
	}
}

func TestHTTPDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := decode(t, HTTPType(nil), `{url: "http://h/"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := &HTTPConfig{URL: "http://h/", Method: "GET", ExpectStatus: 200}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("decoded config (-want +got):\n%s", diff)
	}
}

// `drill list` documents every key from the yaml and doc tags.
func TestConfigsAreDocumented(t *testing.T) {
	t.Parallel()
	for _, typ := range []runner.ProbeType{HTTPType(nil), TCPType(), CommandType(), DNSType()} {
		for _, f := range runner.ConfigFields(typ.NewConfig()) {
			if f.Doc == "" || f.Key == "" || f.Key[0] < 'a' || f.Key[0] > 'z' {
				t.Errorf("%s: field %+v lacks a lowerCamel yaml key or a doc tag", typ.Name, f)
			}
		}
	}
}
