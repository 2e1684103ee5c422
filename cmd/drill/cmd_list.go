package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/drillhq/drill/internal/textwrap"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// listWidth is the terminal width drill list fits: a field's meaning wraps under itself rather
// than running past it. listMinDoc keeps a readable column for it after a long key or type.
const (
	listWidth  = 120
	listMinDoc = 30
)

func newListCmd(a *app) *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "list [TYPE...]",
		Short: "List fault, step and probe types with their with: fields",
		Long: `List prints every type this build knows, grouped as faults (faults:), steps
(prepare:, recovery:, rollback:) and probes (probes:), each with the keys its with:
block takes, their types, defaults and meaning. Name types to show only those.`,
		Example: `  drill list
  drill list --kind probe
  drill list command http`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch kind {
			case "", "fault", "step", "probe":
			default:
				return usageErrorf("--kind must be fault, step or probe, not %q", kind)
			}
			want := map[string]bool{}
			for _, a := range args {
				want[a] = true
			}
			reg := newRegistry(a, registryOptions{})
			shown := map[string]bool{}
			var section scenarios.Kind
			for _, d := range reg.Docs() {
				if (kind != "" && string(d.Kind) != kind) || (len(want) > 0 && !want[d.Name]) {
					continue
				}
				shown[d.Name] = true
				if d.Kind != section {
					section = d.Kind
					fmt.Fprintf(a.stdout, "%s\n", sectionTitle(section))
				}
				fmt.Fprintf(a.stdout, "  %s\n%s\n", d.Name, textwrap.Indent("      ", d.Summary, listWidth, listMinDoc))
				fields := runner.ConfigFields(d.Config)
				if len(fields) == 0 {
					fmt.Fprintf(a.stdout, "      with: (no fields)\n")
				}
				for _, f := range fields {
					def := ""
					// Some docs already name their default; saying it twice reads as a bug.
					if f.Default != "" && !strings.Contains(f.Doc, "default "+f.Default) && !strings.Contains(f.Doc, "default: "+f.Default) {
						def = " (default " + f.Default + ")"
					}
					prefix := fmt.Sprintf("      %-18s %-16s ", f.Key, f.Type)
					fmt.Fprintf(a.stdout, "%s\n", textwrap.Indent(prefix, f.Doc+def, listWidth, listMinDoc))
				}
			}
			for n := range want {
				if !shown[n] {
					return usageErrorf("no type named %q (run 'drill list' to see them all)", n)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "show only one kind: fault, step or probe")
	return cmd
}

func sectionTitle(k scenarios.Kind) string {
	switch k {
	case scenarios.KindFault:
		return "FAULTS (faults:)"
	case scenarios.KindStep:
		return "STEPS (prepare:, recovery:, rollback:)"
	default:
		return "PROBES (probes:)"
	}
}
