package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/spf13/cobra"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/resultstore"
)

// dynamoOptions says where results go in DynamoDB: `drill run --dynamodb-table` and the
// `drill results` verbs share them.
type dynamoOptions struct {
	table    string // default resultstore.DefaultTable
	region   string // default $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1
	endpoint string // default $AWS_ENDPOINT_URL ("" = real AWS)
	spoolDir string // default resultstore.DefaultSpoolDir
}

func (o dynamoOptions) resolve(a *app) (dynamoOptions, error) {
	if o.table == "" {
		o.table = resultstore.DefaultTable
	}
	for _, v := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if o.region == "" {
			o.region = a.getenv(v)
		}
	}
	if o.region == "" {
		o.region = "us-east-1"
	}
	o.endpoint = awsenv.ResolveEndpoint(o.endpoint, a.getenv)
	if o.spoolDir == "" {
		d, err := resultstore.DefaultSpoolDir(a.getenv)
		if err != nil {
			return o, err
		}
		o.spoolDir = d
	}
	return o, nil
}

// client builds the DynamoDB client. Few retries: an unreachable table should be spooled to
// quickly, not waited on at the end of a drill.
func (o dynamoOptions) client(ctx context.Context) (*dynamodb.Client, error) {
	cfg, err := o.config(ctx, nil)
	if err != nil {
		return nil, err
	}
	return dynamodb.NewFromConfig(cfg), nil
}

// config is the SDK configuration of the results table; log receives the SDK's own log lines.
func (o dynamoOptions) config(ctx context.Context, log *slog.Logger) (aws.Config, error) {
	return awsenv.LoadConfig(ctx, awsenv.ConfigOptions{Region: o.region, Endpoint: o.endpoint, MaxAttempts: 3, MaxBackoff: 2 * time.Second, Log: log})
}

func (o dynamoOptions) store(ctx context.Context) (*resultstore.Store, *dynamodb.Client, error) {
	api, err := o.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	return resultstore.New(api, o.table, o.spoolDir), api, nil
}

// saveResultsToDynamo writes one item per result to the table, spooling any that cannot be
// written (docs/DESIGN.md §5: never lost), and says on stderr what happened. The returned error
// means a result could be neither written nor spooled.
func saveResultsToDynamo(ctx context.Context, a *app, o dynamoOptions, results []*result.Result) error {
	o, err := o.resolve(a)
	if err != nil {
		return err
	}
	st, _, err := o.store(ctx)
	if err != nil {
		return err
	}
	var firstErr error
	for _, r := range results {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		rep, err := st.Save(wctx, r)
		cancel()
		switch {
		case err != nil:
			fmt.Fprintf(a.stderr, "drill: result %s NOT saved to DynamoDB nor spooled: %v\n", r.RunID, err)
			if firstErr == nil {
				firstErr = err
			}
		case rep.Outcome == resultstore.Spooled:
			fmt.Fprintf(a.stderr, "drill: DynamoDB table %s unreachable (%v); result %s spooled to %s: run 'drill results flush' later\n",
				o.table, rep.Cause, r.RunID, rep.SpoolFile)
		case rep.Outcome == resultstore.AlreadyPresent:
			fmt.Fprintf(a.stderr, "drill: result %s already in DynamoDB table %s\n", r.RunID, o.table)
		default:
			fmt.Fprintf(a.stderr, "drill: result %s written to DynamoDB table %s\n", r.RunID, o.table)
		}
	}
	return firstErr
}

// dynamoGrace is how long the result writes may go on after a signal before they are cancelled.
const dynamoGrace = 5 * time.Second

// afterGrace returns ctx cancelled grace after the first signal on a.interrupts (the verb must
// have claimed them), or at once on a second one.
func afterGrace(ctx context.Context, a *app, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-a.interrupts:
		case <-ctx.Done():
			return
		}
		fmt.Fprintf(a.stderr, "drill: interrupted: finishing the DynamoDB write for up to %s; what is not written stays spooled for 'drill results flush'\n", grace)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
		case <-a.interrupts:
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx, cancel
}

func addDynamoFlags(cmd *cobra.Command, o *dynamoOptions) {
	fl := cmd.Flags()
	fl.StringVar(&o.table, "table", resultstore.DefaultTable, "DynamoDB table `NAME`")
	fl.StringVar(&o.region, "region", "", "AWS `REGION` of the table (default $AWS_REGION, else us-east-1)")
	fl.StringVar(&o.endpoint, "endpoint", "", "AWS endpoint `URL`, e.g. LocalStack or moto (default $AWS_ENDPOINT_URL; empty = real AWS)")
}

func newResultsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "results init|flush",
		Short: "Manage the DynamoDB table drill results are written to",
		Long: `results manages the DynamoDB history of drill results ('drill run --dynamodb-table').

  init   create the table (on-demand billing): key PK=SYSTEM#<system>, SK=<startedAt>#<runId>,
         index scenario-time on GSI1PK=SCENARIO#<scenario>, so history per system or per
         scenario in time order is a Query
  flush  write the results spooled while DynamoDB was unreachable; each is written at most
         once (the put is conditional on the run id), so flushing twice is harmless

The spool directory is $DRILL_SPOOL, else $XDG_STATE_HOME/drill/spool, else
~/.local/state/drill/spool.`,
		Example: `  drill results init --table DRTestResults --region us-east-1
  AWS_ENDPOINT_URL=http://127.0.0.1:5000 drill results flush`,
	}
	var initOpts dynamoOptions
	initCmd := &cobra.Command{
		Use:     "init",
		Short:   "Create the results table (on-demand billing) and wait until it is active",
		Example: "  drill results init --table DRTestResults",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := initOpts.resolve(a)
			if err != nil {
				return usageErrorf("%v", err)
			}
			ctx, cancel := interruptible(cmd.Context(), a)
			defer cancel()
			cfg, err := o.config(ctx, a.log)
			if err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			// Missing credentials are said as what to set, not as CreateTable's credential chain.
			if err := awsenv.CheckCredentials(ctx, cfg, a.log); err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			created, err := resultstore.CreateTable(ctx, dynamodb.NewFromConfig(cfg), o.table)
			if err != nil {
				return &exitError{code: result.ExitError, msg: awsenv.Classify(err, o.endpoint).Error()}
			}
			if created {
				fmt.Fprintf(a.stdout, "created DynamoDB table %s in %s\n", o.table, o.region)
			} else {
				fmt.Fprintf(a.stdout, "DynamoDB table %s already exists in %s\n", o.table, o.region)
			}
			return nil
		},
	}
	addDynamoFlags(initCmd, &initOpts)

	var flushOpts dynamoOptions
	flushCmd := &cobra.Command{
		Use:     "flush",
		Short:   "Write spooled results to the table",
		Example: "  drill results flush --table DRTestResults",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := flushOpts.resolve(a)
			if err != nil {
				return usageErrorf("%v", err)
			}
			ctx, cancel := interruptible(cmd.Context(), a)
			defer cancel()
			st, _, err := o.store(ctx)
			if err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			rep, err := st.Flush(ctx)
			fmt.Fprintf(a.stdout, "%d written, %d already present, %d still spooled in %s\n", rep.Written, rep.AlreadyPresent, rep.Remaining, st.SpoolDir())
			for _, e := range rep.Errors {
				if e != err {
					fmt.Fprintf(a.stderr, "drill: %v\n", e)
				}
			}
			if err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			if rep.Remaining > 0 {
				return &exitError{code: result.ExitError}
			}
			return nil
		},
	}
	addDynamoFlags(flushCmd, &flushOpts)
	flushCmd.Flags().StringVar(&flushOpts.spoolDir, "spool", "", "spool `DIR` (default $DRILL_SPOOL, else ~/.local/state/drill/spool)")

	cmd.AddCommand(initCmd, flushCmd)
	return cmd
}
