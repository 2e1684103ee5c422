package sqlenv

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/pglab/pglabtest"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

func defaultLab() *PostgresLab {
	l := &PostgresLab{}
	l.SetDefaults()
	return l
}

func TestPostgresEnvValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  PostgresEnv
		want string // "" for valid
	}{
		{"lab with defaults", PostgresEnv{Lab: defaultLab()}, ""},
		{"sync lab", PostgresEnv{Lab: &PostgresLab{Standbys: 2, Synchronous: true}}, ""},
		{"dsn url", PostgresEnv{DSN: "postgres://app@db.example:5432/app?sslmode=require"}, ""},
		{"dsn key=value", PostgresEnv{DSN: "host=db.example user=app"}, ""},
		{"neither", PostgresEnv{}, "set lab"},
		{"zero standbys", PostgresEnv{Lab: &PostgresLab{}}, "lab.standbys: must be between 1 and 5, got 0"},
		{"both", PostgresEnv{Lab: defaultLab(), DSN: "host=x"}, "dsn: set either lab"},
		{"too many standbys", PostgresEnv{Lab: &PostgresLab{Standbys: 6}}, "lab.standbys: must be between 1 and 5"},
		{"negative standbys", PostgresEnv{Lab: &PostgresLab{Standbys: -1}}, "lab.standbys"},
		{"bad dsn", PostgresEnv{DSN: "postgres://a:secret@db.example:notaport/x"}, "dsn: not a connection string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.env.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want it to contain %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "secret"):
				t.Errorf("Validate() leaks the password: %v", err)
			}
		})
	}
}

// The block decodes through the scenario loader as the registry declares it: `lab:` alone means
// a lab with defaults, and Validate's errors point into the block.
func TestEnvironmentBlockLoads(t *testing.T) {
	t.Parallel()
	r := runner.NewRegistry()
	r.AddEnvironment(PostgresEnvironmentType())
	r.AddProbe(runner.NewProbeType[struct{}]("noop", "", nil, func(*struct{}, scenarios.ProbeSpec, *runner.Env) (runner.Probe, error) { return nil, nil }))
	r.AddFault(runner.NewFaultType[struct{}]("noop", "", nil, func(*struct{}, *runner.Env) (runner.Fault, error) { return nil, nil }))
	const head = "version: 1\nname: pg\nsystem: db\nobjectives: {rto: 10s}\nprobes: [{name: p, type: noop}]\nfaults: [{name: f, type: noop}]\n"
	tests := []struct {
		name, env string
		want      *PostgresEnv
		wantErr   string
	}{
		{"lab alone", "environment:\n  postgres:\n    lab:\n", &PostgresEnv{Lab: &PostgresLab{Standbys: 1}}, ""},
		{"sync lab", "environment:\n  postgres:\n    lab: {standbys: 2, synchronous: true}\n", &PostgresEnv{Lab: &PostgresLab{Standbys: 2, Synchronous: true}}, ""},
		{"dsn", "environment:\n  postgres:\n    dsn: host=db.example user=app\n", &PostgresEnv{DSN: "host=db.example user=app"}, ""},
		{"too many standbys", "environment:\n  postgres:\n    lab: {standbys: 9}\n", nil, "environment.postgres.lab.standbys"},
		{"unknown key", "environment:\n  postgres:\n    lab: {replicas: 2}\n", nil, "replicas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := scenarios.Parse("pg.yaml", []byte(head+tt.env), r)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse: %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := PostgresOf(s)
			if got == nil || (got.Lab == nil) != (tt.want.Lab == nil) || got.DSN != tt.want.DSN || (got.Lab != nil && *got.Lab != *tt.want.Lab) {
				t.Errorf("PostgresOf = %+v (lab %+v), want %+v (lab %+v)", got, got.Lab, tt.want, tt.want.Lab)
			}
			if !NewPostgresConnector(PostgresConnectorOptions{}).Wants(s) {
				t.Error("connector does not want a scenario with environment.postgres")
			}
		})
	}
}

func TestConnectorDSN(t *testing.T) {
	t.Parallel()
	c := NewPostgresConnector(PostgresConnectorOptions{})
	if c.Wants(&scenarios.Scenario{Name: "x"}) {
		t.Error("Wants a scenario without environment.postgres")
	}
	env := runner.NewEnv(&scenarios.Scenario{Name: "x"}, nil)
	cleanup, err := c.connect(context.Background(), env, &PostgresEnv{DSN: "host=db.example user=app"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := PostgresTargetFrom(env)
	if err != nil || p.DSN != "host=db.example user=app" || p.Lab != nil {
		t.Fatalf("PostgresFrom = %+v, %v", p, err)
	}
	if d, ok := DefaultDSN(env); !ok || d != p.DSN {
		t.Errorf("DefaultDSN = %q, %v; want the configured dsn for the sql probes", d, ok)
	}
	if _, err := p.NeedLab("postgres-kill-primary"); err == nil {
		t.Error("NeedLab without a lab succeeded")
	}
	if err := cleanup(context.Background()); err != nil {
		t.Error(err)
	}
	if _, err := c.connect(context.Background(), env, &PostgresEnv{}); err == nil {
		t.Error("connect with an empty block succeeded")
	}
}

func TestConnectorStartsAndRemovesLab(t *testing.T) {
	t.Parallel()
	bin := pglabtest.BinDir(t)
	root, err := os.MkdirTemp("", "drill-sqlenv-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil { // the servers' user must reach the labs in it
		t.Fatal(err)
	}
	c := NewPostgresConnector(PostgresConnectorOptions{LabRoot: root, BinDir: bin})
	env := runner.NewEnv(&scenarios.Scenario{Name: "postgres/async failover"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cleanup, err := c.connect(ctx, env, &PostgresEnv{Lab: &PostgresLab{Standbys: 2, Synchronous: true}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := PostgresTargetFrom(env)
	if err != nil {
		t.Fatal(err)
	}
	lab, err := p.NeedLab("test")
	if err != nil {
		t.Fatal(err)
	}
	dir := lab.Dir()
	t.Cleanup(func() {
		_ = pglab.KillUnder(context.Background(), dir)
	})
	if !strings.HasPrefix(dir, root+"/drill-pglab-postgres_async_failover-") {
		t.Errorf("lab dir %s: want it under %s named after the scenario", dir, root)
	}
	if st := lab.State(); len(st.Members) != 3 || !st.Synchronous || st.OwnerPID != os.Getpid() {
		t.Errorf("lab state %+v: want 3 members, synchronous, tied to this process", st)
	}
	if d, ok := DefaultDSN(env); !ok || d != lab.DSN() {
		t.Errorf("DefaultDSN = %q, %v; want the lab's DSN for the sql probes", d, ok)
	}
	conn, err := pgx.Connect(ctx, p.DSN)
	if err != nil {
		t.Fatal(err)
	}
	var inRecovery bool
	err = conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery)
	conn.Close(ctx)
	if err != nil || inRecovery {
		t.Errorf("DSN reached a member in recovery (%v, %v); want the primary", inRecovery, err)
	}
	if err := cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	pglabtest.AssertRemoved(t, dir)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lab dir remains: %v", err)
	}
}
