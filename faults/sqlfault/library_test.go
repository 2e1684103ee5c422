package sqlfault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/drillhq/drill/backends/sqlenv"
	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/pglab/pglabtest"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

const library = "../../scenarios/library/postgres"

// registry holds what cmd/drill's registerPostgres adds, plus stand-ins for the `sql` and
// `sql-writes` probes (probes/sqlprobe, built on another branch) with the same `with:` keys.
// Once that package is merged, register sqlprobe.SQLType() and sqlprobe.WritesType() here
// instead and delete the stand-ins.
func registry(opts sqlenv.PostgresConnectorOptions) *runner.Registry {
	r := runner.NewRegistry()
	r.AddEnvironment(sqlenv.PostgresEnvironmentType())
	r.AddConnector(sqlenv.NewPostgresConnector(opts))
	r.AddFault(KillPrimaryType())
	r.AddFault(StallReplicationType())
	r.AddStep(PromoteType())
	r.AddProbe(runner.NewProbeType("sql", "stand-in", func() *standInSQLConfig { return &standInSQLConfig{Query: "SELECT 1"} },
		func(cfg *standInSQLConfig, _ scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			t, err := sqlenv.PostgresTargetFrom(env)
			if err != nil {
				return nil, err
			}
			return &standInSQL{pool: &connPool{dsn: t.DSN}, cfg: *cfg}, nil
		}))
	r.AddProbe(runner.NewProbeType("sql-writes", "stand-in", func() *standInWritesConfig { return &standInWritesConfig{Table: "drill_writes"} },
		func(cfg *standInWritesConfig, _ scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			t, err := sqlenv.PostgresTargetFrom(env)
			if err != nil {
				return nil, err
			}
			return newStandInWrites(t.DSN, cfg.Table, env.Clock)
		}))
	return r
}

type standInSQLConfig struct {
	Driver   string `yaml:"driver"`
	DSN      string `yaml:"dsn"`
	Query    string `yaml:"query"`
	Writable bool   `yaml:"writable"`
}

type standInWritesConfig struct {
	Driver      string `yaml:"driver"`
	DSN         string `yaml:"dsn"`
	Table       string `yaml:"table"`
	ReadBackDSN string `yaml:"readBackDsn"`
}

// connPool hands out connections to the DSN; samples overlap when the interval is shorter than
// a slow write, so each needs its own.
type connPool struct {
	dsn  string
	mu   sync.Mutex
	free []*pgx.Conn
}

func (p *connPool) get(ctx context.Context) (*pgx.Conn, error) {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		c := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	return pgx.Connect(ctx, p.dsn)
}

// put returns a connection that worked; one that failed is closed, as it may be half-dead.
func (p *connPool) put(c *pgx.Conn, err error) {
	if err != nil || c.IsClosed() {
		c.Close(context.Background())
		return
	}
	p.mu.Lock()
	p.free = append(p.free, c)
	p.mu.Unlock()
}

func (p *connPool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.free {
		c.Close(context.Background())
	}
	p.free = nil
	return nil
}

type standInSQL struct {
	pool *connPool
	cfg  standInSQLConfig
}

func (p *standInSQL) Check(ctx context.Context) (err error) {
	c, err := p.pool.get(ctx)
	if err != nil {
		return err
	}
	defer func() { p.pool.put(c, err) }()
	if _, err := c.Exec(ctx, p.cfg.Query); err != nil {
		return err
	}
	var inRecovery bool
	if err := c.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
		return err
	}
	if p.cfg.Writable && inRecovery {
		return errors.New("in recovery")
	}
	return nil
}

func (p *standInSQL) Close() error { return p.pool.Close() }

type standInWrites struct {
	pool  *connPool
	table string
	clock *runner.Clock

	mu     sync.Mutex
	seq    uint64
	writes []measure.Write
}

func newStandInWrites(dsn, table string, clock *runner.Clock) (*standInWrites, error) {
	w := &standInWrites{pool: &connPool{dsn: dsn}, table: table, clock: clock}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := w.pool.get(ctx)
	if err != nil {
		return nil, err
	}
	_, err = c.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+table+" (seq bigint PRIMARY KEY)")
	w.pool.put(c, err)
	return w, err
}

func (w *standInWrites) Check(ctx context.Context) (err error) {
	w.mu.Lock()
	w.seq++
	i := len(w.writes)
	w.writes = append(w.writes, measure.Write{Seq: w.seq, Invoke: w.clock.Now(), Outcome: measure.WriteFailed})
	seq := w.seq
	w.mu.Unlock()
	c, err := w.pool.get(ctx)
	if err != nil {
		return err
	}
	defer func() { w.pool.put(c, err) }()
	if _, err := c.Exec(ctx, "INSERT INTO "+w.table+" VALUES ($1)", seq); err != nil {
		if ctx.Err() != nil {
			w.mu.Lock()
			w.writes[i].Outcome = measure.WriteTimedOut
			w.mu.Unlock()
		}
		return err
	}
	w.mu.Lock()
	w.writes[i].Ack, w.writes[i].Outcome = w.clock.Now(), measure.WriteOK
	w.mu.Unlock()
	return nil
}

func (w *standInWrites) Writes() []measure.Write {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.writes)
}

func (w *standInWrites) ReadBack(ctx context.Context) (map[uint64]bool, error) {
	c, err := w.pool.get(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := c.Query(ctx, "SELECT seq FROM "+w.table)
	if err != nil {
		w.pool.put(c, err)
		return nil, err
	}
	present := map[uint64]bool{}
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			w.pool.put(c, err)
			return nil, err
		}
		present[uint64(seq)] = true
	}
	err = rows.Err()
	w.pool.put(c, err)
	return present, err
}

func (w *standInWrites) Close() error { return w.pool.Close() }

func TestShippedDrillsLoad(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(library, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		s, err := scenarios.Load(f, registry(sqlenv.PostgresConnectorOptions{}))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		names = append(names, s.Name)
		if e := sqlenv.PostgresOf(s); e == nil || e.Lab == nil || e.Lab.Standbys != 1 {
			t.Errorf("%s: shipped drills run on a lab with one standby, got %+v", f, e)
		}
	}
	want := []string{"postgres-async-failover", "postgres-sync-failover"}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Errorf("shipped drills %v, want %v", names, want)
	}
}

// TestShippedDrillsRun runs both failover drills through the real runner (with the probe
// stand-ins): asynchronous replication loses the writes acknowledged during the stall,
// synchronous loses none, both pass, the promotion evidence is on the timeline, and no server
// process or lab directory is left behind. One after the other: two labs plus 20 ms write
// probes at once on two cores would measure the machine.
func TestShippedDrillsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two full drills (about 30 s)")
	}
	pglabtest.BinDir(t)
	for _, tt := range []struct {
		file     string
		wantLoss bool
	}{
		{"async-failover.yaml", true},
		{"sync-failover.yaml", false},
	} {
		t.Run(tt.file, func(t *testing.T) {
			root := t.TempDir()
			// The servers' user (postgres, under root) must reach the labs created in root.
			if err := chmodReachable(root); err != nil {
				t.Fatal(err)
			}
			reg := registry(sqlenv.PostgresConnectorOptions{LabRoot: root})
			s, err := scenarios.Load(filepath.Join(library, tt.file), reg)
			if err != nil {
				t.Fatal(err)
			}
			res := runner.Run(context.Background(), s, runner.Options{Registry: reg})
			if left := pglab.ProcessesUnder(root); len(left) > 0 {
				t.Errorf("postgres processes left behind: %v", left)
			}
			if left, _ := filepath.Glob(filepath.Join(root, "*")); len(left) != 0 {
				t.Errorf("lab files left behind: %v", left)
			}
			rpo, rto := res.Objectives.RPO, res.Objectives.RTO
			if res.Verdict != result.VerdictPass {
				t.Fatalf("verdict %s (%s); rto %+v rpo %+v; events: %+v", res.Verdict, res.Reason, rto, rpo, res.Events)
			}
			if rpo.AcknowledgedTotal == 0 || rpo.MeasuredMs == nil || rto.MeasuredMs == nil || !res.Rollback.Clean {
				t.Fatalf("rto %+v rpo %+v rollback %+v", rto, rpo, res.Rollback)
			}
			if tt.wantLoss != (rpo.LostWrites > 0) {
				t.Errorf("lost %d writes; want loss: %v", rpo.LostWrites, tt.wantLoss)
			}
			i := slices.IndexFunc(res.Events, func(e result.Event) bool {
				return strings.Contains(e.Message, "promoted standby pg2 (replay LSN ")
			})
			if i < 0 {
				t.Errorf("no timeline event records the promotion; events: %+v", res.Events)
			} else {
				t.Logf("evidence at %d ms: %s", res.Events[i].AtMs, res.Events[i].Message)
			}
			t.Logf("%s: RTO %d ms, RPO %d ms, %d of %d acknowledged writes lost", s.Name, *rto.MeasuredMs, *rpo.MeasuredMs, rpo.LostWrites, rpo.AcknowledgedTotal)
		})
	}
}

// chmodReachable opens a test's temp dir (and its 0700 parent) to other users' traversal.
func chmodReachable(dir string) error {
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := chmod(d); err != nil {
			return fmt.Errorf("make %s reachable: %w", d, err)
		}
	}
	return nil
}

func chmod(d string) error { return os.Chmod(d, 0o755) }
