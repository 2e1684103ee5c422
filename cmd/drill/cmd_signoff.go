package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drillhq/drill/history"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/resultstore"
)

func newSignOffCmd(a *app) *cobra.Command {
	var (
		so     history.SignOff
		path   string
		dynamo string
	)
	cmd := &cobra.Command{
		Use:   "signoff RUN_ID --by NAME",
		Short: "Record who approved a drill run's result",
		Long: `Signoff records that a person reviewed a stored drill run and approves its result as
evidence: who, in which role, when, and an optional note. Sign-offs are kept in the
history store beside the run, covered by its hash chain ('drill history verify'), and
shown in the compliance report, which also lists the runs still awaiting sign-off.

With --dynamodb-table the sign-off is also written to the DynamoDB results table
(partition SIGNOFF#<run id>), beside the results 'drill run --dynamodb-table' writes.

A run can be signed off by several people (e.g. the drill lead and the service owner).
Signing off a failed run approves the record, not the system: its finding stays open
until closed with 'drill findings close'.`,
		Example: `  drill signoff 20260922T093000Z-9e8d7c6b --by "Alice Example" --role "DR coordinator"
  drill signoff 20260922T093000Z-9e8d7c6b --by bob --role "service owner" --note "RTO within target; reviewed timeline"
  drill signoff 20260922T093000Z-9e8d7c6b --by carol --dynamodb-table DRTestResults`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("name the run to sign off: drill signoff RUN_ID --by NAME (run ids: 'drill history')")
			}
			if strings.TrimSpace(so.By) == "" {
				return usageErrorf("--by NAME is required: a sign-off records who approved the run")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := historyPath(a, path)
			if err != nil {
				return err
			}
			store, err := history.Open(p)
			if err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			defer store.Close()
			so.RunID, so.At = args[0], time.Now().UTC()
			so.By, so.Role, so.Note = strings.TrimSpace(so.By), strings.TrimSpace(so.Role), strings.TrimSpace(so.Note)
			if err := store.AddSignOff(cmd.Context(), so); err != nil {
				if errors.Is(err, history.ErrNotFound) {
					return usageErrorf("no run %q in history %s (run ids: 'drill history')", so.RunID, store.Path())
				}
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			fmt.Fprintf(a.stdout, "signed off %s by %s%s at %s\n", so.RunID, so.By, prefixedText(" as ", so.Role), so.At.Format(time.RFC3339))
			if dynamo != "" {
				if err := signOffToDynamo(context.WithoutCancel(cmd.Context()), a, dynamoOptions{table: dynamo}, so); err != nil {
					return &exitError{code: result.ExitError, msg: fmt.Sprintf("sign-off recorded in history, but not in DynamoDB: %v (run the same command again to retry)", err)}
				}
				fmt.Fprintf(a.stderr, "drill: sign-off also written to DynamoDB table %s\n", dynamo)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&so.By, "by", "", "`NAME` of the person signing off (required)")
	fl.StringVar(&so.Role, "role", "", "their `ROLE`, e.g. \"DR coordinator\" or \"service owner\"")
	fl.StringVar(&so.Note, "note", "", "a `TEXT` kept with the sign-off")
	fl.StringVar(&path, "history", "", "history store `PATH` (default $DRILL_HISTORY or ~/.local/state/drill/history.db)")
	fl.StringVar(&dynamo, "dynamodb-table", "", "also write the sign-off to this DynamoDB `TABLE` (the one 'drill run --dynamodb-table' writes results to)")
	return cmd
}

// signOffToDynamo mirrors a sign-off into the results table. The history store stays the
// record of truth; a failure here is reported, and repeating the command rewrites the same item.
func signOffToDynamo(ctx context.Context, a *app, o dynamoOptions, so history.SignOff) error {
	o, err := o.resolve(a)
	if err != nil {
		return err
	}
	api, err := o.client(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return resultstore.PutSignOff(ctx, api, o.table, so)
}

func prefixedText(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}
