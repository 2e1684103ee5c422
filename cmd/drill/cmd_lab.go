package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/spf13/cobra"

	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/internal/english"
	"github.com/drillhq/drill/localstack"
	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/resultstore"
)

// defaultLabDir is where `drill lab` keeps its cluster unless --dir or $DRILL_LAB_DIR says
// otherwise: relative to the working directory, so each checkout has its own lab.
const defaultLabDir = ".lab"

type labFlags struct {
	dir        string
	members    int
	etcdBinary string
	fsync      bool
	aws        bool
	// --postgres: the PostgreSQL replication lab (lab_postgres.go).
	postgres    bool
	standbys    int
	synchronous bool
	emulator    string
}

func newLabCmd(a *app) *cobra.Command {
	var f labFlags
	cmd := &cobra.Command{
		Use:   "lab up|down|status",
		Short: "Run a local etcd cluster (real etcd processes on loopback) to drill against",
		Long: `lab manages a local etcd cluster: N upstream etcd server processes on loopback ports,
each with its own data dir, described by a state file (lab.json) in the lab directory so
any later drill invocation finds it.

  up      start a new cluster and print its endpoints
  status  show each member: process, ID, leader, revision
  down    kill every member and remove the lab directory

Scenarios with environment.etcd.lab start their own fresh lab and remove it afterwards;
this verb is for exploring and for drills against environment.etcd.endpoints.
The etcd binary is taken from --etcd-binary, $DRILL_ETCD_BINARY, ./bin/etcd ('make etcd'),
or PATH. The lab directory defaults to $DRILL_LAB_DIR, else ./.lab.

With --aws the verbs manage the AWS lab instead: a moto server ('make moto') on a free
loopback port, seeded with the two-region DR topology of localstack/fixture/dr-topology.yaml,
kept in <lab dir>-aws. Export the AWS_ENDPOINT_URL it prints to run the AWS drills locally.

With --postgres the verbs manage a PostgreSQL replication lab instead: a primary and
--standbys streaming standbys from the machine's PostgreSQL binaries ('make deps'), on
loopback ports, in --dir or else <lab dir>-postgres. As root the servers run as the postgres
user. It prints a multi-host DSN that follows a promotion (target_session_attrs=read-write).

--emulator localstack runs LocalStack's community runtime on the host instead ('make
localstack'); it seeds what that runtime serves and notes on stderr what it skips.`,
		Example: `  drill lab up --members 3
  drill lab status
  ETCDCTL_ENDPOINTS=$(drill lab up --dir /tmp/lab -q) etcdctl endpoint status
  drill lab down
  drill lab up --aws && export AWS_ENDPOINT_URL=...   # as printed
  drill lab up --postgres --standbys 2 --synchronous && drill lab down --postgres
  drill lab up --aws --emulator localstack -q`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.dir, "dir", "", "lab `DIR` (default $DRILL_LAB_DIR, else ./.lab)")
	pf.BoolVar(&f.aws, "aws", false, "manage the AWS emulator lab (moto + seeded DR topology) instead of etcd")
	pf.BoolVar(&f.postgres, "postgres", false, "manage the PostgreSQL replication lab (primary + streaming standbys) instead of etcd")
	cmd.MarkFlagsMutuallyExclusive("aws", "postgres")

	var quiet bool
	up := &cobra.Command{
		Use:     "up",
		Short:   "Start a local etcd cluster",
		Example: "  drill lab up --members 5 --dir /tmp/lab",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.aws {
				return awsLabUp(cmd.Context(), a, awsLabDir(a, f), f.emulator, quiet)
			}
			if f.postgres {
				return pgLabUp(cmd.Context(), a, f, quiet)
			}
			if f.members < 1 || f.members > 9 {
				return usageErrorf("--members must be between 1 and 9, got %d", f.members)
			}
			bin, err := etcdlab.FindEtcd(f.etcdBinary)
			if err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			ctx, cancel := interruptible(cmd.Context(), a)
			defer cancel()
			lab, err := etcdlab.Up(ctx, etcdlab.Options{Dir: labDir(a, f), Members: f.members, Binary: bin, Fsync: f.fsync, Log: a.log})
			if err != nil {
				return &exitError{code: result.ExitError, msg: "lab up: " + err.Error()}
			}
			if err := lab.Detach(); err != nil {
				return &exitError{code: result.ExitError, msg: "lab up: " + err.Error()}
			}
			if quiet {
				fmt.Fprintln(a.stdout, strings.Join(lab.Endpoints(), ","))
				return nil
			}
			fmt.Fprintf(a.stdout, "etcd lab up in %s (%s, %s)\n", lab.Dir(), english.Count(f.members, "member", "members"), bin)
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			for _, m := range lab.Members() {
				fmt.Fprintf(tw, "  %s\t%s\tid %s\tpid %d\n", m.Name, m.ClientURL, m.ID, m.PID)
			}
			tw.Flush()
			fmt.Fprintf(a.stdout, "export ETCDCTL_ENDPOINTS=%s\n", strings.Join(lab.Endpoints(), ","))
			return nil
		},
	}
	up.Flags().StringVar(&f.emulator, "emulator", localstack.EmulatorMoto, "with --aws: the AWS emulator, moto or localstack (LocalStack's community runtime on the host)")
	up.Flags().IntVar(&f.members, "members", etcdlab.DefaultMembers, "number of etcd members")
	up.Flags().StringVar(&f.etcdBinary, "etcd-binary", "", "etcd server `PATH` (default $DRILL_ETCD_BINARY, ./bin/etcd, PATH)")
	up.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the comma-separated client endpoints (--postgres: the DSN)")
	up.Flags().IntVar(&f.standbys, "standbys", pglab.DefaultStandbys, "with --postgres: number of streaming standbys")
	up.Flags().BoolVar(&f.synchronous, "synchronous", false, "with --postgres: commits wait until a standby has flushed them")
	up.Flags().BoolVar(&f.fsync, "fsync", false, "fsync WAL and database like production (default off: the lab injects process failures, which fsync does not change, and slow disks add stalls)")

	status := &cobra.Command{
		Use:     "status",
		Short:   "Show the lab's members",
		Example: "  drill lab status --dir /tmp/lab",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.aws {
				return awsLabStatus(cmd.Context(), a, awsLabDir(a, f))
			}
			if f.postgres {
				return pgLabStatus(cmd.Context(), a, f)
			}
			lab, err := etcdlab.Open(labDir(a, f), a.log)
			if err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Second)
			defer cancel()
			sts, err := lab.Status(ctx)
			if err != nil {
				return &exitError{code: result.ExitError, msg: "lab status: " + err.Error()}
			}
			defer lab.Detach()
			fmt.Fprintf(a.stdout, "etcd lab in %s\n", lab.Dir())
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tID\tPROCESS\tPID\tCLIENT URL\tLEADER\tREVISION\tRAFT TERM\tDB SIZE\tERROR")
			for _, s := range sts {
				pid := "-"
				if s.PID > 0 && s.Process != "exited" {
					pid = strconv.Itoa(s.PID)
				}
				leader, rev, term, size, errText := "-", "-", "-", "-", ""
				if s.Status != nil {
					leader = "no"
					if s.Status.Leader == s.Status.Header.MemberId {
						leader = "yes"
					} else if s.Status.Leader == 0 {
						leader = "none"
					}
					rev = strconv.FormatInt(s.Status.Header.Revision, 10)
					term = strconv.FormatUint(s.Status.RaftTerm, 10)
					size = strconv.FormatInt(s.Status.DbSize, 10)
					errText = strings.Join(s.Status.Errors, "; ")
				} else if s.Err != nil {
					errText = shortErr(s.Err)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, orDash(s.ID), s.Process, pid, s.ClientURL, leader, rev, term, size, errText)
			}
			return tw.Flush()
		},
	}

	down := &cobra.Command{
		Use:     "down",
		Short:   "Kill every lab member and remove the lab directory",
		Example: "  drill lab down --dir /tmp/lab",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.aws {
				wasUp, err := localstack.LabDown(context.WithoutCancel(cmd.Context()), awsLabDir(a, f))
				if err != nil {
					return &exitError{code: result.ExitError, msg: "lab down --aws: " + err.Error()}
				}
				if !wasUp {
					fmt.Fprintf(a.stdout, "no AWS lab in %s: nothing to take down\n", awsLabDir(a, f))
					return nil
				}
				fmt.Fprintf(a.stdout, "AWS lab in %s is down and removed\n", awsLabDir(a, f))
				return nil
			}
			if f.postgres {
				return pgLabDown(cmd.Context(), a, f)
			}
			lab, err := etcdlab.Open(labDir(a, f), a.log)
			if errors.Is(err, fs.ErrNotExist) {
				// Down is how scripts and CI clean up whatever state they are in: with no lab
				// there is nothing left to remove, which is what they asked for.
				fmt.Fprintf(a.stdout, "no etcd lab in %s: nothing to take down\n", labDir(a, f))
				return nil
			}
			if err != nil {
				return &exitError{code: result.ExitError, msg: err.Error()}
			}
			if err := lab.Down(context.WithoutCancel(cmd.Context())); err != nil {
				return &exitError{code: result.ExitError, msg: "lab down: " + err.Error()}
			}
			fmt.Fprintf(a.stdout, "etcd lab in %s is down and removed\n", lab.Dir())
			return nil
		},
	}
	cmd.AddCommand(up, status, down)
	return cmd
}

func labDir(a *app, f labFlags) string {
	if f.dir != "" {
		return f.dir
	}
	if d := a.getenv("DRILL_LAB_DIR"); d != "" {
		return d
	}
	return defaultLabDir
}

// awsLabDir sits beside the etcd lab, not inside it: `lab down` removes the etcd lab's whole
// directory, which would strand a running emulator.
func awsLabDir(a *app, f labFlags) string { return labDir(a, f) + "-aws" }

func awsLabUp(ctx context.Context, a *app, dir, emulator string, quiet bool) error {
	ctx, cancel := interruptible(ctx, a)
	defer cancel()
	st, err := localstack.LabUp(ctx, dir, localstack.LabOptions{Emulator: emulator, CreateTable: createResultsTable})
	if err != nil {
		return &exitError{code: result.ExitError, msg: "lab up --aws: " + err.Error()}
	}
	if st.Topology != nil {
		for _, s := range st.Topology.Skipped {
			fmt.Fprintf(a.stderr, "note: %s not seeded: %s\n", st.EmulatorName(), s)
		}
	}
	if quiet {
		fmt.Fprintln(a.stdout, st.Endpoint)
		return nil
	}
	fmt.Fprintf(a.stdout, "AWS lab (%s) up in %s, seeded with the DR topology\nexport AWS_ENDPOINT_URL=%s\n", st.EmulatorName(), dir, st.Endpoint)
	return nil
}

// createResultsTable lets the lab's seeding make the results table with the results store's
// schema.
func createResultsTable(ctx context.Context, cfg aws.Config, name string) error {
	_, err := resultstore.CreateTable(ctx, dynamodb.NewFromConfig(cfg), name)
	return err
}

func awsLabStatus(ctx context.Context, a *app, dir string) error {
	st, running, err := localstack.LabStatus(ctx, dir)
	if err != nil {
		return &exitError{code: result.ExitError, msg: "lab status --aws: " + err.Error()}
	}
	if st == nil {
		fmt.Fprintf(a.stdout, "AWS lab in %s: not up\n", dir)
		return nil
	}
	state := "not answering"
	if running {
		state = "running"
	}
	fmt.Fprintf(a.stdout, "AWS lab in %s: %s %s at %s\n", dir, st.EmulatorName(), state, st.Endpoint)
	return nil
}

// interruptible claims the signals and cancels ctx on the first: cancelled, Up removes what it
// had started, and execute waits for that instead of abandoning the verb.
func interruptible(ctx context.Context, a *app) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	if !a.signals.claim() {
		cancel() // a signal already stopped the verb
		return ctx, cancel
	}
	go func() {
		select {
		case <-a.interrupts:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

func shortErr(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer (timeout)"
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
