package main

import "github.com/spf13/cobra"

// subcommands lists every verb. Each verb lives in its own cmd_<verb>.go file.
func subcommands(a *app) []*cobra.Command {
	return []*cobra.Command{
		newRunCmd(a),
		newValidateCmd(a),
		newListCmd(a),
		newSchemaCmd(a),
		newInitCmd(a),
		newVersionCmd(a),
		newHistoryCmd(a),
		newDueCmd(a),
		newReportCmd(a),
		newResultsCmd(a),
		newLabCmd(a),
		newRecoverCmd(a),
		newSignOffCmd(a),
		newFindingsCmd(a),
		newEvidenceCmd(a),
	}
}
