package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drillhq/drill/scenarios"
)

// TestInitTemplatesValidate writes every template with `drill init` and loads it through the
// real registry, with an empty environment: a template must validate as written. A template
// whose types this build does not register yet (the PostgreSQL lab, built on another branch)
// is skipped by name, so it starts being checked the moment they are registered.
func TestInitTemplatesValidate(t *testing.T) {
	t.Parallel()
	reg := newRegistry(&app{getenv: os.Getenv}, registryOptions{})
	docs := map[string]any{}
	for _, tmpl := range initTemplates() {
		t.Run(tmpl.name, func(t *testing.T) {
			if missing := missingTypes(reg, tmpl); len(missing) > 0 {
				t.Skipf("template %s uses types this build does not register yet: %s", tmpl.name, strings.Join(missing, ", "))
			}
			path := filepath.Join(t.TempDir(), "my-"+tmpl.name+"-drill.yaml")
			code, _, stderr := runCLI(t, "init", path, "--template", tmpl.name)
			if code != 0 {
				t.Fatalf("init: exit %d\n%s", code, stderr)
			}
			s, err := scenarios.Load(path, reg, scenarios.WithLookupEnv(func(string) (string, bool) { return "", false }))
			if err != nil {
				t.Fatalf("template %s does not validate as written:\n%v", tmpl.name, err)
			}
			if s.Name != "my-"+tmpl.name+"-drill" {
				t.Errorf("name %q, want it taken from the file name", s.Name)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), "# yaml-language-server: $schema=drill.schema.json\n") {
				t.Error("template does not start with the schema modeline")
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), "drill.schema.json")); err != nil {
				t.Errorf("schema not written beside the scenario: %v", err)
			}
			docs[tmpl.name] = yamlDoc(t, data)
		})
	}
	t.Run("schema", func(t *testing.T) {
		for name, errs := range schemaValidator(t)(docs) {
			if len(errs) > 0 {
				t.Errorf("template %s: rejected by the schema:\n  %s", name, strings.Join(errs, "\n  "))
			}
		}
	})
}

func TestInitRefusesToOverwrite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(path, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "init", path)
	if code != 2 || !strings.Contains(stderr, "--force") {
		t.Fatalf("exit %d, stderr %q; want 2 and a hint to use --force", code, stderr)
	}
	if data, _ := os.ReadFile(path); string(data) != "keep me\n" {
		t.Fatal("existing file was changed")
	}
	if code, _, stderr := runCLI(t, "init", path, "--force", "--no-schema"); code != 0 {
		t.Fatalf("--force: exit %d\n%s", code, stderr)
	}
	if data, _ := os.ReadFile(path); !strings.Contains(string(data), "name: mine") {
		t.Fatal("--force did not write the template")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "drill.schema.json")); err == nil {
		t.Error("--no-schema wrote the schema")
	}
}

// TestInitWhere: init creates the directory it is asked to write into; a path it cannot
// create is exit 3 naming the file, without the usage hint (the command line was right).
func TestInitWhere(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	nested := filepath.Join(dir, "drills", "web", "checkout.yaml")
	if code, _, stderr := runCLI(t, "init", nested); code != 0 {
		t.Fatalf("init into a new directory: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "validate", nested); code != 0 {
		t.Errorf("validate: exit %d\n%s", code, stderr)
	}
	blocker := filepath.Join(dir, "a-file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "init", filepath.Join(blocker, "x.yaml"))
	if code != 3 || !strings.Contains(stderr, "x.yaml") || strings.Contains(stderr, "--help") {
		t.Errorf("init under a file: exit %d, stderr %q; want 3 naming the file, no usage hint", code, stderr)
	}
}

func TestInitListAndBadTemplate(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, "init", "--list")
	if code != 0 {
		t.Fatalf("--list: exit %d", code)
	}
	for _, tmpl := range initTemplates() {
		if !strings.Contains(out, tmpl.name+" ") {
			t.Errorf("--list does not show %s:\n%s", tmpl.name, out)
		}
	}
	code, _, stderr := runCLI(t, "init", filepath.Join(t.TempDir(), "x.yaml"), "--template", "nope")
	if code != 2 || !strings.Contains(stderr, "templates: http, etcd, aws, postgres") {
		t.Fatalf("unknown template: exit %d, stderr %q", code, stderr)
	}
}
