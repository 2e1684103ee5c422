package main

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/scenarios"
)

// templateFiles holds the scenarios `drill init` writes; each one validates as written (a test
// loads every one through the real registry).
//
//go:embed templates/*.yaml
var templateFiles embed.FS

// initTemplate is one starting point for `drill init`.
type initTemplate struct {
	name    string
	summary string
	// types lists the probe, fault and step types the template uses, so a build without them
	// (the test, a trimmed build) can say which are missing instead of a load error.
	types []string
}

// defaultTemplate is the one a new user most likely has: a service with a health URL.
const defaultTemplate = "http"

func initTemplates() []initTemplate {
	return []initTemplate{
		{"http", "an HTTP service: stop it with a command, restart it, measure RTO on its health URL", []string{"http", "command"}},
		{"etcd", "a local 3-member etcd lab: kill a follower, restart it, measure RTO and RPO (make etcd)", []string{"etcd-health", "etcd-writes", "etcd-kill-member", "etcd-restart-member"}},
		{"aws", "AWS: stop a web tier's EC2 instances, start them again (try it on the moto emulator first)", []string{"aws-ec2-instances", "aws:ec2:stop-instances", "aws:ec2:start-instances"}},
		{"postgres", "a local PostgreSQL lab: kill the primary, promote the synchronous standby, RPO 0", []string{"sql", "sql-writes", "postgres-kill-primary", "postgres-promote"}},
	}
}

func findTemplate(name string) (initTemplate, bool) {
	for _, t := range initTemplates() {
		if t.name == name {
			return t, true
		}
	}
	return initTemplate{}, false
}

func templateSource(name string) ([]byte, error) {
	b, err := fs.ReadFile(templateFiles, "templates/"+name+".yaml")
	if err != nil {
		return nil, fmt.Errorf("read template %s: %w", name, err)
	}
	return b, nil
}

func newInitCmd(a *app) *cobra.Command {
	var (
		tmpl     string
		force    bool
		list     bool
		noSchema bool
	)
	cmd := &cobra.Command{
		Use:   "init FILE",
		Short: "Write a commented starter scenario",
		Long: `Init writes a starter scenario to FILE: a complete drill with a comment on every
choice, which 'drill validate' accepts as written. Edit the commands, names and
objectives, check it with 'drill validate FILE', preview it with 'drill run FILE
--dry-run', then run it.

The scenario's name is taken from FILE when it is a valid name (checkout-outage.yaml
gives name: checkout-outage). An existing FILE is never overwritten unless --force.
Unless --no-schema, drill.schema.json ('drill schema') is written beside FILE when it is
not there yet, so editors that read the first line of the scenario complete and check it.

Templates (--list shows them): http (default), etcd, aws, postgres.`,
		Example: `  drill init --list
  drill init checkout-outage.yaml
  drill init drills/etcd-follower.yaml --template etcd
  drill init drills/orders-db.yaml --template postgres --force`,
		Args: func(cmd *cobra.Command, args []string) error {
			if list {
				return cobra.NoArgs(cmd, args)
			}
			if len(args) != 1 {
				return usageErrorf("init takes one FILE to write (or --list); see 'drill init --help'")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if list {
				for _, t := range initTemplates() {
					def := ""
					if t.name == defaultTemplate {
						def = " (default)"
					}
					fmt.Fprintf(a.stdout, "%-9s %s%s\n", t.name, t.summary, def)
				}
				return nil
			}
			t, ok := findTemplate(tmpl)
			if !ok {
				var names []string
				for _, t := range initTemplates() {
					names = append(names, t.name)
				}
				return usageErrorf("no template named %q; templates: %s", tmpl, strings.Join(names, ", "))
			}
			src, err := templateSource(t.name)
			if err != nil {
				return err
			}
			path := args[0]
			src = renameScenario(src, path)
			if err := writeNew(path, src, force); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "wrote %s (template %s)\n", path, t.name)
			if missing := missingTypes(newRegistry(a, registryOptions{}), t); len(missing) > 0 {
				fmt.Fprintf(a.stderr, "note: this build of drill does not have %s yet; 'drill validate' will say so until it does\n", strings.Join(missing, ", "))
			}
			if !noSchema {
				schemaPath := filepath.Join(filepath.Dir(path), "drill.schema.json")
				switch err := writeSchemaIfAbsent(a, schemaPath); {
				case errors.Is(err, fs.ErrExist):
					// One schema serves every scenario of the directory; an existing one is kept.
				case err != nil:
					fmt.Fprintf(a.stderr, "note: %v (editor completion only; the scenario is fine)\n", err)
				default:
					fmt.Fprintf(a.stderr, "wrote %s for editor completion (regenerate with 'drill schema')\n", schemaPath)
				}
			}
			fmt.Fprintf(a.stderr, "next: edit it, then 'drill validate %s' and 'drill run %s --dry-run'\n", path, path)
			return nil
		},
	}
	cmd.Flags().StringVarP(&tmpl, "template", "t", defaultTemplate, "starting point: http, etcd, aws or postgres (see --list)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite FILE if it exists")
	cmd.Flags().BoolVar(&list, "list", false, "list the templates and exit")
	cmd.Flags().BoolVar(&noSchema, "no-schema", false, "do not write drill.schema.json beside FILE")
	return cmd
}

// missingTypes lists the template's types that cat does not register under any kind.
func missingTypes(cat scenarios.Catalog, t initTemplate) []string {
	var out []string
	for _, typ := range t.types {
		found := false
		for _, k := range []scenarios.Kind{scenarios.KindProbe, scenarios.KindFault, scenarios.KindStep} {
			if _, ok := cat.NewConfig(k, typ); ok {
				found = true
			}
		}
		if !found {
			out = append(out, typ)
		}
	}
	return out
}

var (
	templateNameLine = regexp.MustCompile(`(?m)^name: [a-z0-9-]+`)
	validName        = regexp.MustCompile(`^[a-z0-9-]+$`) // as the loader checks names
)

// renameScenario names the scenario after the file when the file's name is a valid scenario
// name, so two scenarios made from one template do not share a history.
func renameScenario(src []byte, path string) []byte {
	base := strings.ToLower(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
	if len(base) == 0 || len(base) > scenarios.MaxNameLen || !validName.MatchString(base) {
		return src
	}
	done := false
	return templateNameLine.ReplaceAllFunc(src, func(m []byte) []byte {
		if done {
			return m
		}
		done = true
		return []byte("name: " + base)
	})
}

// writeNew writes data to path, creating its directory (`drill init drills/checkout.yaml` in a
// new project); without force an existing file is an error, checked by the create itself
// (O_EXCL) so a file appearing meanwhile is not overwritten either. A file that cannot be
// written is exit 3, not a usage error: the command line was right.
func writeNew(path string, data []byte, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return &exitError{code: result.ExitError, msg: fmt.Sprintf("create %s: %v", path, err)}
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return &exitError{code: result.ExitUsage, msg: fmt.Sprintf("%s already exists; use --force to overwrite it", path)}
	}
	if err != nil {
		return &exitError{code: result.ExitError, msg: fmt.Sprintf("create %s: %v", path, err)}
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return &exitError{code: result.ExitError, msg: fmt.Sprintf("write %s: %v", path, err)}
	}
	if err := f.Close(); err != nil {
		return &exitError{code: result.ExitError, msg: fmt.Sprintf("write %s: %v", path, err)}
	}
	return nil
}

// writeSchemaIfAbsent writes `drill schema` to path unless a file is there (fs.ErrExist).
func writeSchemaIfAbsent(a *app, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fs.ErrExist
	}
	reg := newRegistry(a, registryOptions{})
	s, err := scenarios.JSONSchema(reg, scenarios.SchemaOptions{Summary: reg.Summary})
	if err != nil {
		return fmt.Errorf("generate schema: %w", err)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode schema: %w", err)
	}
	if err := writeNew(path, append(data, '\n'), false); err != nil {
		if ee := (*exitError)(nil); errors.As(err, &ee) {
			return fs.ErrExist
		}
		return err
	}
	return nil
}
