package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/result"
)

// pgLabDir is --dir itself, else the default lab dir with a -postgres suffix: beside an etcd lab
// in the default place, never inside it (`lab down` removes the etcd lab's whole directory).
func pgLabDir(a *app, f labFlags) string {
	if f.dir != "" {
		return f.dir
	}
	return labDir(a, f) + "-postgres"
}

func pgLabUp(ctx context.Context, a *app, f labFlags, quiet bool) error {
	if f.standbys < 1 || f.standbys > pglab.MaxStandbys {
		return usageErrorf("--standbys must be between 1 and %d, got %d", pglab.MaxStandbys, f.standbys)
	}
	ctx, cancel := interruptible(ctx, a)
	defer cancel()
	lab, err := pglab.Start(ctx, pglab.Options{Dir: pgLabDir(a, f), Standbys: f.standbys, Synchronous: f.synchronous, Log: a.log})
	if err != nil {
		return &exitError{code: result.ExitError, msg: "lab up --postgres: " + err.Error()}
	}
	lab.Detach()
	if quiet {
		fmt.Fprintln(a.stdout, lab.DSN())
		return nil
	}
	mode := "asynchronous"
	if f.synchronous {
		mode = "synchronous"
	}
	fmt.Fprintf(a.stdout, "postgres lab up in %s (primary + %d %s standby(s), %s)\n", lab.Dir(), f.standbys, mode, lab.State().BinDir)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, m := range lab.Members() {
		fmt.Fprintf(tw, "  %s\t%s\t127.0.0.1:%d\tpid %d\n", m.Name, m.Role, m.Port, m.PID)
	}
	tw.Flush()
	fmt.Fprintf(a.stdout, "export DATABASE_URL='%s'\n", lab.DSN())
	return nil
}

func pgLabStatus(ctx context.Context, a *app, f labFlags) error {
	dir := pgLabDir(a, f)
	lab, err := pglab.Open(dir, a.log)
	if err != nil {
		msg := err.Error()
		if left := pglab.ProcessesUnder(absOr(dir)); len(left) > 0 {
			msg += fmt.Sprintf("; %d postgres processes of an earlier lab still run there ('drill lab down --postgres' kills them)", len(left))
		}
		return &exitError{code: result.ExitError, msg: msg}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sts, err := lab.Status(ctx)
	if err != nil {
		return &exitError{code: result.ExitError, msg: "lab status --postgres: " + err.Error()}
	}
	st := lab.State()
	fmt.Fprintf(a.stdout, "postgres lab in %s (synchronous: %v, promotions: %d)\n", lab.Dir(), st.Synchronous, st.Promotions)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tPROCESS\tPID\tPORT\tIN RECOVERY\tLSN\tSTANDBYS\tERROR")
	for _, s := range sts {
		pid, recovery, lsn, replicas, errText := "-", "-", "-", "-", ""
		if s.PID > 0 && s.Process != pglab.ProcExited.String() {
			pid = strconv.Itoa(s.PID)
		}
		switch {
		case s.Err != nil:
			errText = shortErr(s.Err)
		case s.Process == pglab.ProcRunning.String():
			recovery, lsn = strconv.FormatBool(s.InRecovery), orDash(s.LSN)
			if len(s.Replicas) > 0 {
				replicas = strings.Join(s.Replicas, "; ")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", s.Name, s.Role, s.Process, pid, s.Port, recovery, lsn, replicas, errText)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "DSN: %s\n", lab.DSN())
	return nil
}

// pgLabDown removes the lab, or kills what a lab whose state file is gone left running. Nothing
// there is not an error: down is what scripts call to be sure.
func pgLabDown(ctx context.Context, a *app, f labFlags) error {
	dir := pgLabDir(a, f)
	ctx = context.WithoutCancel(ctx)
	lab, err := pglab.Open(dir, a.log)
	switch {
	case errors.Is(err, pglab.ErrNoLab):
		left := pglab.ProcessesUnder(absOr(dir))
		if len(left) == 0 {
			fmt.Fprintf(a.stdout, "no postgres lab in %s: nothing to take down\n", dir)
			return nil
		}
		if err := pglab.KillUnder(ctx, absOr(dir)); err != nil {
			return &exitError{code: result.ExitError, msg: "lab down --postgres: " + err.Error()}
		}
		fmt.Fprintf(a.stdout, "no postgres lab state in %s; killed %d leftover postgres processes\n", dir, len(left))
		return nil
	case err != nil:
		return &exitError{code: result.ExitError, msg: err.Error()}
	}
	if err := lab.Remove(ctx); err != nil {
		return &exitError{code: result.ExitError, msg: "lab down --postgres: " + err.Error()}
	}
	fmt.Fprintf(a.stdout, "postgres lab in %s is down and removed\n", lab.Dir())
	return nil
}

// absOr is dir made absolute, as the lab records it in server command lines.
func absOr(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}
