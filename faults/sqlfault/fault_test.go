package sqlfault

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drillhq/drill/backends/sqlenv"
	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/pglab/pglabtest"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// labEnv returns an Env holding the lab as the postgres connector would, and the log that
// Env.Note writes to outside a run.
func labEnv(t *testing.T, l *pglab.Lab) (*runner.Env, *syncBuffer) {
	t.Helper()
	var logs syncBuffer
	env := runner.NewEnv(&scenarios.Scenario{Name: "sqlfault-test"}, slog.New(slog.NewTextHandler(&logs, nil)))
	sqlenv.WithPostgresTarget(env, &sqlenv.PostgresTarget{DSN: l.DSN(), Lab: l})
	return env, &logs
}

func TestLabOnlyTypesRefuseOtherEnvironments(t *testing.T) {
	t.Parallel()
	external := runner.NewEnv(&scenarios.Scenario{Name: "x"}, nil)
	sqlenv.WithPostgresTarget(external, &sqlenv.PostgresTarget{DSN: "postgres://db.example/app"})
	none := runner.NewEnv(&scenarios.Scenario{Name: "x"}, nil)
	build := map[string]func(*runner.Env) error{
		"postgres-kill-primary":      func(e *runner.Env) error { _, err := KillPrimaryType().New(nil, e); return err },
		"postgres-stall-replication": func(e *runner.Env) error { _, err := StallReplicationType().New(nil, e); return err },
		"postgres-promote":           func(e *runner.Env) error { _, err := PromoteType().New(nil, e); return err },
	}
	for name, newType := range build {
		if err := newType(external); err == nil || !strings.Contains(err.Error(), name+" needs the local lab") {
			t.Errorf("%s against a dsn: %v, want 'needs the local lab'", name, err)
		}
		if err := newType(none); err == nil || !strings.Contains(err.Error(), "environment.postgres") {
			t.Errorf("%s without environment.postgres: %v", name, err)
		}
	}
}

func inject(t *testing.T, env *runner.Env, typ runner.FaultType) runner.Injection {
	t.Helper()
	f, err := typ.New(nil, env)
	if err != nil {
		t.Fatalf("new %s: %v", typ.Name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inj, err := f.Inject(ctx)
	if err != nil {
		t.Fatalf("inject %s: %v", typ.Name, err)
	}
	return inj
}

func revert(t *testing.T, inj runner.Injection) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := inj.Revert(ctx); err != nil {
		t.Fatalf("revert: %v", err)
	}
}

func runPromote(t *testing.T, env *runner.Env) {
	t.Helper()
	s, err := PromoteType().New(nil, env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatalf("promote: %v", err)
	}
}

// The kill fault's revert restarts the old primary only if nobody promoted a standby: after a
// promotion it would be a second primary.
func TestKillPrimaryRevert(t *testing.T) {
	t.Parallel()
	for _, promoted := range []bool{false, true} {
		t.Run(fmt.Sprintf("promoted=%v", promoted), func(t *testing.T) {
			t.Parallel()
			l := pglabtest.Start(t, pglab.Options{})
			env, logs := labEnv(t, l)
			inj := inject(t, env, KillPrimaryType())
			if !slices.Equal(inj.Targets, []string{"pg1"}) || l.ProcessState("pg1") != pglab.ProcExited {
				t.Fatalf("targets %v, pg1 %v: want pg1 killed", inj.Targets, l.ProcessState("pg1"))
			}
			if !strings.Contains(logs.String(), "killed primary pg1") {
				t.Errorf("no kill evidence in the log:\n%s", logs)
			}
			if promoted {
				runPromote(t, env)
			}
			revert(t, inj)
			revert(t, inj) // idempotent
			wantPrimary, pg1Running := "pg1", true
			if promoted {
				wantPrimary, pg1Running = "pg2", false
			}
			if l.Primary().Name != wantPrimary || l.Running("pg1") != pg1Running || !l.Running(wantPrimary) {
				t.Errorf("after revert: primary %s, pg1 %v; want primary %s, pg1 running %v", l.Primary().Name, l.ProcessState("pg1"), wantPrimary, pg1Running)
			}
			// Either way the database takes writes through the lab's DSN.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := pgx.Connect(ctx, l.DSN())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			if _, err := c.Exec(ctx, "CREATE TABLE after_revert (n int)"); err != nil {
				t.Errorf("write after revert: %v", err)
			}
		})
	}
}

// The failover the shipped drills run, without the probe: stall the stream, write, kill the
// primary, promote. Asynchronously acknowledged writes made during the stall are lost;
// synchronous ones cannot be acknowledged during it, so nothing acknowledged is lost.
func TestFailoverLosesOnlyUnreplicatedWrites(t *testing.T) {
	t.Parallel()
	tests := []struct {
		synchronous bool
		wantLost    bool
	}{
		{synchronous: false, wantLost: true},
		{synchronous: true, wantLost: false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("synchronous=%v", tt.synchronous), func(t *testing.T) {
			t.Parallel()
			l := pglabtest.Start(t, pglab.Options{Synchronous: tt.synchronous})
			env, logs := labEnv(t, l)
			ctx := context.Background()
			dsn, _ := l.MemberDSN("pg1")
			c, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			// Row 0 is written before the stall: every mode must keep it.
			if _, err := c.Exec(ctx, "CREATE TABLE w (n int PRIMARY KEY); INSERT INTO w VALUES (0)"); err != nil {
				t.Fatal(err)
			}
			// Dry-run plans name the targets without touching anything.
			for _, typ := range []runner.FaultType{StallReplicationType(), KillPrimaryType()} {
				f, err := typ.New(nil, env)
				if err != nil {
					t.Fatal(err)
				}
				targets, err := f.(runner.Planner).Plan(ctx)
				if want := map[string]string{"postgres-stall-replication": "pg2", "postgres-kill-primary": "pg1"}[typ.Name]; err != nil || !slices.Equal(targets, []string{want}) {
					t.Errorf("%s plan: %v, %v; want [%s]", typ.Name, targets, err, want)
				}
			}
			stall := inject(t, env, StallReplicationType())
			if !slices.Equal(stall.Targets, []string{"pg2"}) {
				t.Errorf("stalled %v, want [pg2]", stall.Targets)
			}
			var acked []int
			for n := 1; n <= 5; n++ {
				wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				_, err := c.Exec(wctx, "INSERT INTO w VALUES ($1)", n)
				cancel()
				if err != nil {
					// A synchronous commit waits; pgx gives up the connection with it.
					if c.IsClosed() {
						if c, err = pgx.Connect(ctx, dsn); err != nil {
							t.Fatal(err)
						}
					}
					continue
				}
				acked = append(acked, n)
			}
			kill := inject(t, env, KillPrimaryType())
			runPromote(t, env)
			revert(t, kill)
			revert(t, stall)
			if !strings.Contains(logs.String(), "promoted standby pg2 (replay LSN ") {
				t.Errorf("no promotion evidence in the log:\n%s", logs)
			}

			nc, err := pgx.Connect(ctx, l.DSN())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close(ctx)
			// The new primary takes writes: a synchronous one must not wait for a standby it
			// no longer has.
			wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			if _, err := nc.Exec(wctx, "INSERT INTO w VALUES (100)"); err != nil {
				t.Errorf("write after failover: %v", err)
			}
			lost := 0
			for _, n := range append([]int{0}, acked...) {
				var found bool
				if err := nc.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM w WHERE n = $1)", n).Scan(&found); err != nil {
					t.Fatal(err)
				}
				if !found {
					lost++
				}
			}
			t.Logf("acknowledged %d writes during the stall, lost %d", len(acked), lost)
			if tt.wantLost && (len(acked) == 0 || lost != len(acked)) { // row 0 must not be among them
				t.Errorf("async: acknowledged %v, lost %d; want every write acknowledged during the stall lost", acked, lost)
			}
			if !tt.wantLost && lost != 0 {
				t.Errorf("sync: lost %d of the acknowledged writes %v; want none", lost, acked)
			}
		})
	}
}
