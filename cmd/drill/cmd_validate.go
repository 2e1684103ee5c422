package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/drillhq/drill/internal/english"
)

func newValidateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "validate SCENARIO.yaml...",
		Short: "Check scenario files without running anything",
		Long: `Validate loads each scenario and reports every problem at once, one per line, as
file:line:column: key.path: message. Unknown keys name the closest known key; unknown
types list the registered ones. Nothing is connected to and nothing is changed.

Exit code 0 when every file is valid, 2 otherwise.`,
		Example: `  drill validate scenarios/library/local/*.yaml
  AWS_ENDPOINT_URL=http://127.0.0.1:5000 drill validate scenarios/library/aws/*.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg := newRegistry(a, registryOptions{})
			ss, err := loadAll(a, reg, args)
			if err != nil {
				return err
			}
			for _, s := range ss {
				fmt.Fprintf(a.stdout, "ok  %s  (%s: %s, %s, %s; RTO %v)\n",
					s.File, s.Name, english.Count(len(s.Probes), "probe", "probes"), english.Count(len(s.Faults), "fault", "faults"),
					english.Count(len(s.Recovery), "recovery step", "recovery steps"), s.Objectives.RTO)
			}
			return nil
		},
	}
}
