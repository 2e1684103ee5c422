package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/drillhq/drill/scenarios"
)

// completeArgs adds what shell completion (`drill completion bash|zsh|fish`, cobra's own verb)
// cannot guess: scenario files for the verbs that take them, type names for list, template
// names for init. Verbs that set their own completion keep it.
func completeArgs(a *app, root *cobra.Command) {
	yamlFiles := func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
	}
	for _, c := range root.Commands() {
		switch c.Name() {
		case "run", "validate", "init":
			if c.ValidArgsFunction == nil {
				c.ValidArgsFunction = yamlFiles
			}
		case "list":
			if c.ValidArgsFunction == nil {
				c.ValidArgsFunction = func(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
					reg := newRegistry(a, registryOptions{})
					var out []string
					for _, d := range reg.Docs() {
						if strings.HasPrefix(d.Name, prefix) {
							out = append(out, d.Name+"\t"+string(d.Kind)+": "+d.Summary)
						}
					}
					return out, cobra.ShellCompDirectiveNoFileComp
				}
			}
			_ = c.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions(
				[]string{string(scenarios.KindFault), string(scenarios.KindStep), string(scenarios.KindProbe)}, cobra.ShellCompDirectiveNoFileComp))
		}
		if c.Name() == "init" {
			_ = c.RegisterFlagCompletionFunc("template", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				var out []string
				for _, t := range initTemplates() {
					out = append(out, t.name+"\t"+t.summary)
				}
				return out, cobra.ShellCompDirectiveNoFileComp
			})
		}
	}
}
