package scenarios

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestGolden loads every scenario under testdata: good ones must load and match the JSON
// dump in NAME.golden, bad ones must fail with exactly the errors in NAME.golden.
func TestGolden(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"good", "bad"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no scenarios in testdata/%s", dir)
		}
		for _, file := range files {
			t.Run(dir+"/"+strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
				t.Parallel()
				sc, err := Load(file, testCatalog(), WithLookupEnv(testEnv))
				var got string
				if dir == "good" {
					if err != nil {
						t.Fatalf("Load(%s) failed:\n%v", file, err)
					}
					got = dumpScenario(t, sc)
				} else {
					if err == nil {
						t.Fatalf("Load(%s) succeeded; want errors", file)
					}
					var errs *Errors
					if !errors.As(err, &errs) {
						t.Fatalf("Load(%s) error is %T, want *Errors: %v", file, err, err)
					}
					got = err.Error() + "\n"
				}
				checkGolden(t, strings.TrimSuffix(file, ".yaml")+".golden", got)
			})
		}
	}
}

func dumpScenario(t *testing.T, sc *Scenario) string {
	t.Helper()
	b, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./scenarios -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// TestDesignExample pins the full model the DESIGN example decodes to, including defaults
// and the typed `with:` configs, independently of the golden dump.
func TestDesignExample(t *testing.T) {
	t.Parallel()
	const file = "testdata/good/design.yaml"
	sc, err := Load(file, testCatalog(), WithLookupEnv(testEnv))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	zero := time.Duration(0)
	want := &Scenario{
		File:        file,
		SHA256:      sc.SHA256,
		Source:      src, // the file as written, ${VAR} unexpanded
		Version:     1,
		Name:        "etcd-minority-member-loss",
		Description: "One member is SIGKILLed; writes must continue and no acknowledged write may be lost.",
		System:      "orders-etcd",
		Owner:       "platform-team",
		Tags:        []string{"etcd", "quarterly"},
		Cadence:     "quarterly",
		Objectives:  Objectives{RTO: 10 * time.Second, RPO: &zero},
		Environment: Environment{
			"etcd": &etcdEnvStub{Lab: &etcdLabStub{Members: 3}},
			"aws":  &awsEnvStub{Region: "us-east-1", Endpoint: "", AllowAccounts: []string{}},
		},
		Probes: []ProbeSpec{
			{Name: "health", Type: "http", Role: RoleAvailability, Interval: 50 * time.Millisecond, Timeout: 500 * time.Millisecond,
				With: &httpConfig{URL: "http://127.0.0.1:2379/health", Method: "GET", ExpectStatus: 200},
				Pos:  Position{File: file, Line: 21, Column: 5}},
			{Name: "writes", Type: "etcd-writes", Role: RoleData, Interval: 10 * time.Millisecond, Timeout: DefaultProbeTimeout,
				Pos: Position{File: file, Line: 27, Column: 5}},
		},
		SteadyState: []string{"health"},
		Faults: []StepSpec{{Name: "kill-follower", Type: "etcd-kill-member",
			With: &killConfig{Member: "follower", Signal: "SIGKILL"}, Pos: Position{File: file, Line: 34, Column: 5}}},
		Recovery: []StepSpec{{Name: "restart-member", Type: "etcd-restart-member", After: 2 * time.Second,
			With: &restartConfig{Member: "kill-follower"}, Pos: Position{File: file, Line: 38, Column: 5}}},
		Limits: Limits{Timeout: 2 * time.Minute, Observe: 3 * time.Second, Rollback: DefaultRollbackTimeout},
	}
	if diff := cmp.Diff(want, sc); diff != "" {
		t.Errorf("scenario mismatch (-want +got):\n%s", diff)
	}
	if len(sc.SHA256) != 64 || strings.Trim(sc.SHA256, "0123456789abcdef") != "" {
		t.Errorf("SHA256 = %q, want 64 hex digits", sc.SHA256)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	sc, err := Load("testdata/good/minimal.yaml", testCatalog(), WithLookupEnv(testEnv))
	if err != nil {
		t.Fatal(err)
	}
	p := sc.Probes[0]
	if p.Role != RoleAvailability || p.Interval != DefaultProbeInterval || p.Timeout != DefaultProbeTimeout {
		t.Errorf("probe defaults = %s/%v/%v, want %s/%v/%v", p.Role, p.Interval, p.Timeout, RoleAvailability, DefaultProbeInterval, DefaultProbeTimeout)
	}
	wantLimits := Limits{Timeout: DefaultTimeout, Observe: DefaultObserve, Rollback: DefaultRollbackTimeout}
	if sc.Limits != wantLimits {
		t.Errorf("limits = %+v, want %+v", sc.Limits, wantLimits)
	}
	if sc.Objectives.RPO != nil {
		t.Errorf("RPO = %v, want nil when absent", *sc.Objectives.RPO)
	}
	if len(sc.Environment) != 0 {
		t.Errorf("environment = %+v, want empty", sc.Environment)
	}
}

// TestFileErrors covers problems with the file itself, which the golden files cannot hold
// (a directory, a missing file, a file too large to commit).
func TestFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// Truncate makes a sparse 10 MB file instantly; the loader must refuse it from its size.
	if err := f.Truncate(10 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	missing := filepath.Join(dir, "missing.yaml")

	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing", missing, missing + ":1:1: file not found"},
		{"directory", dir, dir + ":1:1: is a directory, not a scenario file"},
		{"10MB", big, big + ":1:1: file is 10.0 MiB; scenario files are limited to 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc, err := Load(tt.path, testCatalog())
			if sc != nil {
				t.Errorf("got a scenario, want nil")
			}
			var errs *Errors
			if !errors.As(err, &errs) || len(*errs) != 1 {
				t.Fatalf("error = %#v, want *Errors with one entry", err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error = %q\nwant    %q", got, tt.want)
			}
		})
	}

	t.Run("Parse over 1 MiB", func(t *testing.T) {
		t.Parallel()
		data := []byte("version: 1\n" + strings.Repeat("#", MaxFileSize))
		_, err := Parse("big.yaml", data, testCatalog())
		want := "big.yaml:1:1: file is 1.0 MiB; scenario files are limited to 1 MiB"
		if err == nil || err.Error() != want {
			t.Errorf("error = %v, want %s", err, want)
		}
	})
}

func TestParseNilCatalogAndOptions(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/good/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("m.yaml", data, nil, nil)
	want := `m.yaml:9:11: probes[0].type: unknown probe type "tcp" (no probe types are registered)` + "\n" +
		`m.yaml:14:11: faults[0].type: unknown fault type "command" (no fault types are registered)`
	if err == nil || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
}

// TestEnvFromProcess checks that without WithLookupEnv the real environment is used.
func TestEnvFromProcess(t *testing.T) {
	t.Setenv("DRILL_TEST_SYSTEM", "from-env")
	src := strings.Replace(minimalYAML, "system: demo", "system: ${DRILL_TEST_SYSTEM}", 1)
	sc, err := Parse("env.yaml", []byte(src), testCatalog())
	if err != nil {
		t.Fatal(err)
	}
	if sc.System != "from-env" {
		t.Errorf("System = %q, want from-env", sc.System)
	}
}

const minimalYAML = `version: 1
name: minimal
system: demo
objectives: {rto: 30s}
probes: [{name: up, type: tcp}]
faults: [{name: stop, type: command, with: {run: x}}]
`

func TestWithDecoding(t *testing.T) {
	t.Parallel()
	src := minimalYAML + `recovery:
  - name: fix
    type: command
    with:
      run: ./fix
      timeout: 90s
      env: {A: "1", B: ~}
      retry: {attempts: 2, backoff: 1.5s}
      targets: [{host: a, port: 1}, {host: b, port: 2}]
`
	sc, err := Parse("with.yaml", []byte(src), testCatalog(), WithLookupEnv(testEnv))
	if err != nil {
		t.Fatal(err)
	}
	got := sc.Recovery[0].With
	want := &commandConfig{
		Run:     "./fix",
		Timeout: Duration(90 * time.Second),
		Env:     map[string]string{"A": "1", "B": ""},
		Retry:   retryConfig{Attempts: 2, Backoff: Duration(1500 * time.Millisecond)},
		Targets: []target{{"a", 1}, {"b", 2}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("with mismatch (-want +got):\n%s", diff)
	}
}

// TestErrorsFormat checks sorting, de-duplication and the one-line-per-error format the CLI
// relies on.
func TestErrorsFormat(t *testing.T) {
	t.Parallel()
	list := sortErrors([]Error{
		{Pos: Position{File: "f.yaml", Line: 12, Column: 5}, Path: "probes[0].interval", Msg: "must be greater than 0"},
		{Pos: Position{File: "f.yaml", Line: 3, Column: 1}, Msg: "file-level"},
		{Pos: Position{File: "f.yaml", Line: 12, Column: 2}, Path: "b", Msg: "second"},
		{Pos: Position{File: "f.yaml", Line: 12, Column: 5}, Path: "probes[0].interval", Msg: "must be greater than 0"},
	})
	want := "f.yaml:3:1: file-level\n" +
		"f.yaml:12:2: b: second\n" +
		"f.yaml:12:5: probes[0].interval: must be greater than 0"
	if got := list.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	var err error = &list
	var one Error
	if !errors.As(err, &one) || one.Msg != "file-level" {
		t.Errorf("errors.As(Error) = %v, want the first problem", one)
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		want     string
		problems []expandProblem
	}{
		{in: "plain", want: "plain"},
		{in: "${HEALTH_URL}", want: "http://127.0.0.1:2379/health"},
		{in: "a ${REGION} b ${REGION}", want: "a eu-west-1 b eu-west-1"},
		{in: "${NOPE:-fallback}", want: "fallback"},
		{in: "${EMPTY:-fallback}", want: "fallback"},
		{in: "${EMPTY}", want: ""},
		{in: "${NOPE:-}", want: ""},
		{in: "${REGION:-x}", want: "eu-west-1"},
		{in: "$$", want: "$"},
		{in: "$${REGION}", want: "${REGION}"},
		{in: "cost $5 $", want: "cost $5 $"},
		{in: "${NOPE:-a:-b}", want: "a:-b"},
		{in: "x ${NOPE}", problems: []expandProblem{{2, "environment variable NOPE is not set (give a default with ${NOPE:-value})"}}},
		{in: "${NOPE", problems: []expandProblem{{0, "unterminated ${ (write $$ for a literal $)"}}},
		{in: "${}", problems: []expandProblem{{0, "invalid variable reference ${}: want ${NAME} or ${NAME:-default}"}}},
		{in: "${1A} ${A B}", problems: []expandProblem{
			{0, "invalid variable reference ${1A}: want ${NAME} or ${NAME:-default}"},
			{6, "invalid variable reference ${A B}: want ${NAME} or ${NAME:-default}"},
		}},
	}
	for _, tt := range tests {
		got, problems := expand(tt.in, testEnv)
		if diff := cmp.Diff(tt.problems, problems, cmp.AllowUnexported(expandProblem{})); diff != "" {
			t.Errorf("expand(%q) problems (-want +got):\n%s", tt.in, diff)
			continue
		}
		if tt.problems == nil && got != tt.want {
			t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	t.Parallel()
	keys := []string{"name", "type", "role", "interval", "timeout", "with", "steadyState", "description"}
	tests := []struct{ in, want string }{
		{"intervall", "interval"},
		{"nme", "name"},
		{"steadystate", "steadyState"},
		{"timout", "timeout"},
		{"desc", "description"},
		{"wiht", "with"},
		{"foo", ""},
		{"", ""},
		{strings.Repeat("x", 1000), ""},
	}
	for _, tt := range tests {
		if got := closest(tt.in, keys); got != tt.want {
			t.Errorf("closest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct {
		a, b string
		want int
	}{{"kitten", "sitting", 3}, {"wiht", "with", 1}, {"", "abc", 3}, {"héllo", "hello", 1}, {"same", "same", 0}} {
		if d := levenshtein(tt.a, tt.b); d != tt.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tt.a, tt.b, d, tt.want)
		}
	}
}

// TestPathological feeds inputs built to exhaust a naive walker: deep nesting, alias and
// merge bombs, self-referencing aliases, huge lists of errors. Each must end in a result or
// an *Errors (a hang fails the run through the test timeout).
func TestPathological(t *testing.T) {
	t.Parallel()
	laughs := "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i < 10; i++ {
		laughs += fmt.Sprintf("a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	tests := []struct {
		name string
		src  string
		want string // substring of the error; "" means the scenario must load
	}{
		{"deep flow nesting", "version: 1\nprobes: " + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + "\n", "probes[0]: want a mapping with name and type, got a list"},
		{"too deep", "a: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n", "exceeded max depth"},
		{"deep block nesting", "version: 1\nx:\n" + deepBlock(1200), `unknown key "x"`},
		{"billion laughs in with.meta", minimalYAML + "prepare:\n  - name: s\n    type: command\n    with:\n      run: x\n      meta:\n" + indent(laughs, 8), "excessive aliasing"},
		{"billion laughs in tags", "x:\n" + indent(laughs, 2) + "tags: *a9\n", `tags[0]: want a string, got a list`},
		{"self alias", minimalYAML + "recovery:\n  - &r {name: r, type: command, with: {run: x, meta: {self: *r}}}\n", "recovery[0].with.meta.self: anchor 'r' value contains itself"},
		{"self alias in struct list", minimalYAML + "recovery:\n  - &r {name: r, type: command, with: {run: x, targets: [*r]}}\n", `unknown key "name"`},
		{"quadratic merge chain", mergeChain(25000), "<< merges copy more than 100000 keys in total"},
		{"self merge", "objectives: &v {<<: *v}\n", "<< merges a mapping into itself"},
		{"many errors", strings.Repeat("- 1\n", 50000), "want a mapping, got a list"},
		{"many unknown keys", "version: 1\n" + manyKeys(20000), `unknown key "k19999"`},
		{"many steadyState misses", minimalYAML + "steadyState: [" + strings.TrimSuffix(strings.Repeat("nope, ", 20000), ", ") + "]\n", `"nope" is not a probe`},
		{"long key", "? " + strings.Repeat("k", 500000) + "\n: 1\n", "unknown key"},
		{"null everything", "version: ~\nname: ~\nsystem: ~\nobjectives: ~\nprobes: ~\nfaults: ~\nlimits: ~\nenvironment: {etcd: ~, aws: ~}\n", "faults: at least one fault is required"},
		{"document start only", "---\n", "file is empty"},
		{"BOM", "\ufeff" + minimalYAML, ""},
		{"NUL byte", "version: 1\x00\n", "invalid YAML"},
		{"tagged values", "version: !!str 1\nname: !!binary bWluaQ==\n", "system: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc, err := Parse("p.yaml", []byte(tt.src), testCatalog(), WithLookupEnv(testEnv))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse failed: %v", truncate(err.Error()))
				}
				return
			}
			if sc != nil || err == nil {
				t.Fatalf("Parse succeeded; want an error containing %q", tt.want)
			}
			checkErrors(t, renamed(err))
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not contain %q:\n%s", tt.want, truncate(err.Error()))
			}
		})
	}
}

// mergeChain builds probes where each merges the previous one, so the last holds every key.
func mergeChain(n int) string {
	var b strings.Builder
	b.WriteString("probes:\n  - &a0 {k0: 0}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  - &a%d {<<: *a%d, k%d: 0}\n", i, i-1, i)
	}
	return b.String()
}

func deepBlock(depth int) string {
	var b strings.Builder
	for i := range depth {
		b.WriteString(strings.Repeat(" ", i+1) + "k:\n")
	}
	return b.String()
}

func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+pad) + "\n"
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "k%d: %d\n", i, i)
	}
	return b.String()
}

func truncate(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// renamed rewrites positions to the file name checkErrors expects.
func renamed(err error) error {
	var errs *Errors
	if !errors.As(err, &errs) {
		return err
	}
	out := make(Errors, len(*errs))
	for i, e := range *errs {
		e.Pos.File = "fuzz.yaml"
		out[i] = e
	}
	return &out
}
