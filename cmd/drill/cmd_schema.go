package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/drillhq/drill/scenarios"
)

func newSchemaCmd(a *app) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the scenario format, for editors and CI",
		Long: `Schema prints a JSON Schema (draft 2020-12) of the scenario format to stdout. It is
generated from the types this build registers, so it always matches 'drill list': every
probe, fault and step type with its own with: keys, defaults and descriptions, and each
environment block. Unknown keys are errors, as they are for the loader.

Point your editor at it (the YAML language server, used by VS Code and others) with a
first line in the scenario:

  # yaml-language-server: $schema=./drill.schema.json

The schema checks the file as written: a number or true/false key may hold a ${VAR}
placeholder instead. What needs the whole file or the environment (unique names,
steadyState naming probes, a type's own checks) is left to 'drill validate'.`,
		Example: `  drill schema > drill.schema.json
  drill schema --id https://example.com/drill.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			reg := newRegistry(a, registryOptions{})
			s, err := scenarios.JSONSchema(reg, scenarios.SchemaOptions{ID: id, Summary: reg.Summary})
			if err != nil {
				return fmt.Errorf("generate schema: %w", err)
			}
			out, err := json.MarshalIndent(s, "", "  ")
			if err != nil {
				return fmt.Errorf("encode schema: %w", err)
			}
			_, err = fmt.Fprintf(a.stdout, "%s\n", out)
			return err
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "$id to give the schema (the URL you publish it at)")
	return cmd
}
