package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/drillhq/drill/internal/testenv"
	"github.com/drillhq/drill/scenarios"
)

// venvPython is the project venv's interpreter (make moto creates it); the schema check runs
// the jsonschema package from there, a real draft 2020-12 validator.
const venvPython = "../../.venv/bin/python"

// schemaValidator returns a function validating documents against `drill schema`'s output with
// Python's jsonschema, or skips (fails under CI=true) when the venv lacks it.
func schemaValidator(t *testing.T) func(docs map[string]any) map[string][]string {
	t.Helper()
	if out, err := exec.Command(venvPython, "-c", "import jsonschema").CombinedOutput(); err != nil {
		testenv.Need(t, "Python jsonschema in .venv", "make moto", strings.TrimSpace(string(out)))
	}
	code, schema, stderr := runCLI(t, "schema")
	if code != 0 {
		t.Fatalf("drill schema: exit %d\n%s", code, stderr)
	}
	dir := t.TempDir()
	schemaPath := filepath.Join(dir, "schema.json")
	if err := os.WriteFile(schemaPath, []byte(schema), 0o644); err != nil {
		t.Fatal(err)
	}
	return func(docs map[string]any) map[string][]string {
		t.Helper()
		data, err := json.Marshal(docs)
		if err != nil {
			t.Fatal(err)
		}
		docsPath := filepath.Join(dir, "docs.json")
		if err := os.WriteFile(docsPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(venvPython, "testdata/schema/validate.py", schemaPath, docsPath).Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("validate.py: %v\n%s", err, stderr)
		}
		var res map[string][]string
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("validate.py output: %v\n%s", err, out)
		}
		return res
	}
}

// yamlDoc reads YAML the way an editor's language server does before validating: as written,
// ${VAR} placeholders included.
func yamlDoc(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc
}

// shippedScenarios lists the scenario files of the library and the examples (suites and CI
// snippets there are not scenarios: a scenario has objectives).
func shippedScenarios(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, root := range []string{"../../scenarios/library", "../../examples"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var top map[string]any
			if yaml.Unmarshal(data, &top) == nil && top["objectives"] != nil {
				out[path] = data
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) < 10 {
		t.Fatalf("found %d shipped scenarios; the walk is broken", len(out))
	}
	return out
}

// TestSchemaAcceptsShippedScenarios is the CI check that `drill schema` and the loader agree:
// every shipped scenario the loader accepts validates against the generated schema.
func TestSchemaAcceptsShippedScenarios(t *testing.T) {
	t.Parallel()
	validate := schemaValidator(t)
	reg := newRegistry(&app{getenv: os.Getenv}, registryOptions{})
	docs := map[string]any{}
	for path, data := range shippedScenarios(t) {
		// The loader sees expanded values; the schema sees the file as written.
		if _, err := scenarios.Parse(path, data, reg, scenarios.WithLookupEnv(func(string) (string, bool) { return "", false })); err != nil {
			t.Errorf("%s: the loader rejects it:\n%v", path, err)
		}
		docs[path] = yamlDoc(t, data)
	}
	for path, errs := range validate(docs) {
		if len(errs) > 0 {
			t.Errorf("%s: rejected by the schema:\n  %s", path, strings.Join(errs, "\n  "))
		}
	}
}

func TestSchemaRejectsWhatTheLoaderRejects(t *testing.T) {
	t.Parallel()
	validate := schemaValidator(t)
	const base = `version: 1
name: x
system: s
objectives: {rto: 5s}
probes:
  - name: up
    type: http
    with: {url: "http://127.0.0.1:1/"}
faults:
  - name: f
    type: command
    with: {run: "true"}
`
	cases := map[string]string{
		"unknown top-level key":      base + "colour: blue\n",
		"unknown key in an entry":    strings.Replace(base, "type: http\n", "type: http\n    intervall: 1s\n", 1),
		"with key of another type":   strings.Replace(base, `{url: "http://127.0.0.1:1/"}`, `{url: "http://127.0.0.1:1/", address: "a:1"}`, 1),
		"unknown type":               strings.Replace(base, "type: command", "type: comand", 1),
		"required with key missing":  strings.Replace(base, `{run: "true"}`, `{revert: "true"}`, 1),
		"bad duration":               strings.Replace(base, "rto: 5s", "rto: 5 seconds", 1),
		"unknown limits key":         base + "limits: {timout: 1m}\n",
		"unknown environment block":  base + "environment: {gcp: {}}\n",
		"no availability probe":      strings.Replace(base, "type: http\n", "type: http\n    role: guard\n", 1),
		"number key holds a word":    strings.Replace(base, `{url: "http://127.0.0.1:1/"}`, `{url: "http://127.0.0.1:1/", expectStatus: ok}`, 1),
		"name not a DNS label":       strings.Replace(base, "name: x\n", "name: X Y\n", 1),
		"continueOnError on a fault": strings.Replace(base, "    type: command\n", "    type: command\n    continueOnError: true\n", 1),
		"fault list empty":           strings.Replace(base, "faults:\n  - name: f\n    type: command\n    with: {run: \"true\"}\n", "faults: []\n", 1),
		// Enumerated values, listed by the types themselves (scenarios.Enumer).
		"sql driver not offered":     strings.Replace(base, "faults:\n", sqlProbe("oracle")+"faults:\n", 1),
		"etcd signal not offered":    base + killMember("SIGHUP"),
		"route53 method not offered": strings.Replace(base, "faults:\n", recordProbe("dig")+"faults:\n", 1),
	}
	docs := map[string]any{"base": yamlDoc(t, []byte(base)),
		"placeholders": yamlDoc(t, []byte(strings.Replace(base, `{url: "http://127.0.0.1:1/"}`, `{url: "${URL}", expectStatus: "${STATUS:-200}"}`, 1)+"limits: {timeout: \"${T:-1m}\"}\n"))}
	docs["continueOnError on a recovery step"] = yamlDoc(t, []byte(base+"recovery: [{name: r, type: command, continueOnError: true, with: {run: x}}]\n"))
	docs["sql driver offered"] = yamlDoc(t, []byte(strings.Replace(base, "faults:\n", sqlProbe("mysql")+"faults:\n", 1)))
	docs["etcd signal offered"] = yamlDoc(t, []byte(base+killMember("SIGSTOP")))
	docs["route53 method offered"] = yamlDoc(t, []byte(strings.Replace(base, "faults:\n", recordProbe("test-dns-answer")+"faults:\n", 1)))
	reg := newRegistry(&app{getenv: os.Getenv}, registryOptions{})
	for name, src := range cases {
		if _, err := scenarios.Parse(name+".yaml", []byte(src), reg); err == nil {
			t.Errorf("%s: the loader accepts it; the case is wrong", name)
		}
		docs[name] = yamlDoc(t, []byte(src))
	}
	for name, errs := range validate(docs) {
		_, bad := cases[name]
		switch {
		case bad && len(errs) == 0:
			t.Errorf("%s: the schema accepts it", name)
		case !bad && len(errs) > 0:
			t.Errorf("%s: the schema rejects a valid scenario:\n  %s", name, strings.Join(errs, "\n  "))
		}
	}
}

func sqlProbe(driver string) string {
	return "  - name: db\n    type: sql\n    with: {driver: " + driver + ", dsn: \"postgres://u@127.0.0.1:1/d\"}\n"
}

func recordProbe(method string) string {
	return "  - name: dns\n    type: aws-route53-record\n    with: {zone: example.com, name: www.example.com, expect: [1.2.3.4], method: " + method + "}\n"
}

// killMember is a second fault entry, appended after the base scenario's faults list.
func killMember(signal string) string {
	return "  - name: k\n    type: etcd-kill-member\n    with: {member: leader, signal: " + signal + "}\n"
}
