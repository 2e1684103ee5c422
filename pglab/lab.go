// Package pglab runs a local PostgreSQL replication lab: one real primary and N streaming
// standbys from the machine's PostgreSQL server binaries, on loopback ports, for drills that
// fail over a database and measure what was lost. It is a pure process manager: it knows
// nothing of drills, scenarios or the runner.
//
// A lab lives in one directory:
//
//	pglab.json        state file: members, roles, ports, pids (a later drill process finds it)
//	members/<name>/   each server's data dir (PGDATA)
//	logs/<name>.log   each server's stderr
//	run/              the servers' unix sockets
//
// Servers listen on 127.0.0.1 only, trust every local connection (user postgres, no password)
// and run with fsync off: every failure the lab injects is a process failure, after which the
// page cache still holds what was written, so fsync changes no outcome and only slows a shared
// disk. PostgreSQL refuses to run as root; when drill runs as root (CI does), every server
// command runs as the `postgres` system user and the lab directory is handed to it.
package pglab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/drillhq/drill/internal/labdir"
	"github.com/drillhq/drill/internal/labproc"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// StateFile is the name of the state file inside a lab directory.
const StateFile = "pglab.json"

const stateVersion = 1

// SuperUser is the role every lab connection uses (initdb --username).
const SuperUser = "postgres"

// DefaultStandbys is the number of standbys when none is asked for.
const DefaultStandbys = 1

// MaxStandbys bounds a lab on a small machine.
const MaxStandbys = 5

// DefaultStartTimeout bounds starting the whole lab (initdb, base backups, streaming).
const DefaultStartTimeout = 2 * time.Minute

// How long signalled servers may take to exit before drill escalates or gives up.
const (
	quitGrace = 5 * time.Second
	killGrace = 10 * time.Second
)

// Roles of a member.
const (
	RolePrimary = "primary"
	RoleStandby = "standby"
)

// State is the pglab.json document.
type State struct {
	Version     int       `json:"version"`
	BinDir      string    `json:"binDir"`
	CreatedAt   time.Time `json:"createdAt"`
	OwnDir      bool      `json:"ownDir"`             // the lab created its directory: Remove deletes it
	OwnerPID    int       `json:"ownerPid,omitempty"` // drill process the servers die with (DieWithParent)
	RunAs       RunAs     `json:"runAs"`
	Synchronous bool      `json:"synchronous"`
	Members     []Member  `json:"members"`
	// Primary names the member that takes writes: the first one, until a promotion.
	Primary string `json:"primary"`
	// Promotions counts Promote calls that succeeded: a primary killed before one must not be
	// restarted as a second primary.
	Promotions int `json:"promotions,omitempty"`
	// LastPrimaryLSN is the newest WAL position seen on the primary (pg_current_wal_lsn):
	// checked before KillPrimary and whenever Status or Promote reach the primary.
	LastPrimaryLSN string `json:"lastPrimaryLsn,omitempty"`
	// Stalled lists the walsender pids StallReplication stopped, so a later process resumes them.
	Stalled []int `json:"stalled,omitempty"`
}

// Member is one PostgreSQL server of the lab.
type Member struct {
	Name string `json:"name"`
	Role string `json:"role"`
	Port int    `json:"port"`
	PID  int    `json:"pid,omitempty"` // the postmaster; 0 when not running
}

// Options configure Start.
type Options struct {
	// Dir is the lab directory; it must not exist or be empty. Empty: a new temporary directory.
	Dir         string
	Standbys    int  // default DefaultStandbys
	Synchronous bool // commits wait until a standby has flushed them (synchronous_standby_names)
	BinDir      string
	// DieWithParent ties the postmasters to this process (Linux): if drill dies, even by
	// SIGKILL, the kernel kills them and their children exit. `drill lab up` leaves it off so
	// the lab outlives the command; drills that own their lab turn it on.
	DieWithParent bool
	StartTimeout  time.Duration // default DefaultStartTimeout
	Log           *slog.Logger
}

// Lab is a running (or stopped) replication lab. Its methods are safe for concurrent use;
// operations that change servers are serialised.
type Lab struct {
	dir   string
	log   *slog.Logger
	spawn *labproc.Spawner // nil when servers must outlive this process

	ops sync.Mutex // serialises server operations

	mu      sync.Mutex // guards the fields below
	state   State
	procs   map[string]*labproc.Proc
	removed bool
}

// Start creates a lab: initdb a primary, start it, take a base backup per standby, start them
// streaming, and (synchronous) make commits wait for a standby. It returns once every standby
// streams. On error nothing is left behind.
func Start(ctx context.Context, opts Options) (lab *Lab, err error) {
	if opts.Standbys == 0 {
		opts.Standbys = DefaultStandbys
	}
	if opts.Standbys < 1 || opts.Standbys > MaxStandbys {
		return nil, fmt.Errorf("lab standbys must be between 1 and %d, got %d", MaxStandbys, opts.Standbys)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.BinDir, err = FindBinDir(ctx, opts.BinDir); err != nil {
		return nil, err
	}
	as, err := serverAccount()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	// Ports are picked free but released before postgres binds them, so another process can
	// take one in between; start again on new ports rather than fail the drill.
	for attempt := 1; ; attempt++ {
		lab, err = start(ctx, opts, as)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "could not bind") || ctx.Err() != nil {
			return lab, err
		}
		opts.Log.Warn("postgres lab: a port was taken before postgres could bind it; retrying on new ports", "attempt", attempt)
	}
}

func start(ctx context.Context, opts Options, as RunAs) (_ *Lab, err error) {
	dir, own, err := makeDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	l := &Lab{dir: dir, log: opts.Log, procs: map[string]*labproc.Proc{}}
	if opts.DieWithParent {
		l.spawn = labproc.NewSpawner()
	}
	defer func() {
		if err != nil {
			if rerr := l.Remove(context.WithoutCancel(ctx)); rerr != nil {
				err = errors.Join(err, fmt.Errorf("clean up failed lab: %w", rerr))
			}
		}
	}()
	l.state = State{
		Version:     stateVersion,
		BinDir:      opts.BinDir,
		CreatedAt:   time.Now().UTC(),
		OwnDir:      own,
		RunAs:       as,
		Synchronous: opts.Synchronous,
	}
	if opts.DieWithParent {
		l.state.OwnerPID = os.Getpid()
	}
	ports, err := labproc.FreePorts(opts.Standbys + 1)
	if err != nil {
		return nil, err
	}
	for i, port := range ports {
		m := Member{Name: fmt.Sprintf("pg%d", i+1), Role: RoleStandby, Port: port}
		if i == 0 {
			m.Role = RolePrimary
			l.state.Primary = m.Name
		}
		l.state.Members = append(l.state.Members, m)
	}
	for _, sub := range []string{"members", "logs", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("create lab dir: %w", err)
		}
	}
	if err := as.checkReachable(dir); err != nil {
		return nil, err
	}
	if err := as.chown(dir, filepath.Join(dir, "members"), filepath.Join(dir, "run")); err != nil {
		return nil, err
	}
	if err := l.save(); err != nil {
		return nil, err
	}
	l.ops.Lock()
	defer l.ops.Unlock()
	if err := l.initPrimary(ctx); err != nil {
		return nil, err
	}
	primary := l.state.Members[0]
	if err := l.spawnLocked(ctx, primary.Name); err != nil {
		return nil, err
	}
	var standbys []string
	for _, m := range l.state.Members[1:] {
		if err := l.initStandby(ctx, m, primary); err != nil {
			return nil, err
		}
		if err := l.spawnLocked(ctx, m.Name); err != nil {
			return nil, err
		}
		standbys = append(standbys, m.Name)
	}
	if err := l.waitStreaming(ctx, primary, standbys); err != nil {
		return nil, err
	}
	if opts.Synchronous {
		// Set only once the standbys stream: until then a synchronous primary's commits
		// would wait for a standby that is not there yet.
		if err := l.setSyncStandbys(ctx, primary, standbys); err != nil {
			return nil, err
		}
	}
	l.log.Info("postgres lab up", "dir", dir, "primary", primary.Name, "standbys", len(standbys), "synchronous", opts.Synchronous)
	return l, nil
}

// Open attaches to the lab whose state file is in dir, e.g. for `drill lab status` or `down`.
// Servers it starts are not tied to this process.
func Open(dir string, log *slog.Logger) (*Lab, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := ReadState(abs)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Lab{dir: abs, log: log, state: st, procs: map[string]*labproc.Proc{}}, nil
}

// ErrNoLab is wrapped by ReadState and Open when dir holds no lab.
var ErrNoLab = errors.New("no postgres lab")

// ReadState reads dir/pglab.json.
func ReadState(dir string) (State, error) {
	var st State
	found, err := labproc.ReadState(filepath.Join(dir, StateFile), stateVersion, &st)
	if !found {
		return st, fmt.Errorf("%w in %s", ErrNoLab, dir)
	}
	return st, err
}

// ReapOrphans removes the labs in root (directories named drill-pglab-*) whose owning drill
// process died without cleaning up: their servers died with it, their directories remain.
func ReapOrphans(ctx context.Context, root string, log *slog.Logger) ([]string, error) {
	return labdir.Reap(ctx, root, "drill-pglab-*", "postgres lab", func(d string) (int, error) {
		st, err := ReadState(d)
		return st.OwnerPID, err
	}, func(d string) (func(context.Context) error, error) {
		l, err := Open(d, log)
		if err != nil {
			return nil, err
		}
		return l.Remove, nil
	})
}

// RemoveUnstarted removes the directory of a lab that never got its state file (its drill was
// killed while Start was creating it): no server was started yet. A directory already gone is a
// no-op; one holding anything Start does not make stays (error).
func RemoveUnstarted(dir string) error {
	return labdir.RemoveUnstarted(dir, []string{"members", "logs", "run", StateFile + ".tmp"})
}

// makeDir creates the lab directory, refusing one that already holds a lab or other files.
func makeDir(dir string) (abs string, created bool, err error) {
	return labdir.Make(dir, "drill-pglab-", StateFile, func(abs string) error {
		return fmt.Errorf("a postgres lab already exists in %s (take it down first: drill lab down --postgres)", abs)
	})
}

// Dir is the lab directory.
func (l *Lab) Dir() string { return l.dir }

// DataDir is the named member's data dir.
func (l *Lab) DataDir(name string) string { return filepath.Join(l.dir, "members", name) }

// LogFile is the named member's server log.
func (l *Lab) LogFile(name string) string { return filepath.Join(l.dir, "logs", name+".log") }

func (l *Lab) socketDir() string { return filepath.Join(l.dir, "run") }

// State returns a copy of the lab's state.
func (l *Lab) State() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state
	st.Members = slices.Clone(st.Members)
	st.Stalled = slices.Clone(st.Stalled)
	return st
}

// Members returns a copy of the member list, primary first until a promotion.
func (l *Lab) Members() []Member { return l.State().Members }

// Member returns the named member.
func (l *Lab) Member(name string) (Member, bool) {
	for _, m := range l.Members() {
		if m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}

// Primary is the member that takes writes (after a promotion, the promoted standby).
func (l *Lab) Primary() Member {
	st := l.State()
	m, _ := l.Member(st.Primary)
	return m
}

// Promoted reports whether a standby has been promoted since the lab started.
func (l *Lab) Promoted() bool { return l.State().Promotions > 0 }

// ProcessState reports whether the named member's postmaster is running, stopped or gone.
func (l *Lab) ProcessState(name string) ProcState {
	l.mu.Lock()
	p := l.procs[name]
	l.mu.Unlock()
	m, ok := l.Member(name)
	if !ok {
		return ProcExited
	}
	if p != nil {
		return p.State()
	}
	return postmasterState(m.PID, l.DataDir(name))
}

// Running reports whether the member's postmaster exists and is not stopped.
func (l *Lab) Running(name string) bool { return l.ProcessState(name) == ProcRunning }

// DSN is a libpq/pgx connection string over every member with target_session_attrs=read-write:
// clients connect to whichever member takes writes, so it keeps working across a promotion the
// way a managed database's endpoint does. pgx v5 tries the hosts in order and skips read-only
// ones (pgconn.ValidateConnectTargetSessionAttrsReadWrite).
func (l *Lab) DSN() string {
	var hosts []string
	for _, m := range l.Members() {
		hosts = append(hosts, net.JoinHostPort("127.0.0.1", strconv.Itoa(m.Port)))
	}
	return dsn(strings.Join(hosts, ","), url.Values{"target_session_attrs": {"read-write"}})
}

// MemberDSN connects to one member only.
func (l *Lab) MemberDSN(name string) (string, error) {
	m, ok := l.Member(name)
	if !ok {
		return "", fmt.Errorf("no lab member %q", name)
	}
	return dsn(net.JoinHostPort("127.0.0.1", strconv.Itoa(m.Port)), nil), nil
}

func dsn(hosts string, extra url.Values) string {
	q := url.Values{"sslmode": {"disable"}, "connect_timeout": {"5"}}
	for k, v := range extra {
		q[k] = v
	}
	return (&url.URL{Scheme: "postgres", User: url.User(SuperUser), Host: hosts, Path: "/postgres", RawQuery: q.Encode()}).String()
}

func (l *Lab) memberIndexLocked(name string) int {
	return slices.IndexFunc(l.state.Members, func(m Member) bool { return m.Name == name })
}

func (l *Lab) update(f func(*State)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(&l.state)
	return l.saveLocked()
}

func (l *Lab) updateMember(name string, f func(*Member)) error {
	return l.update(func(st *State) {
		if i := l.memberIndexLocked(name); i >= 0 {
			f(&st.Members[i])
		}
	})
}

func (l *Lab) save() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.saveLocked()
}

// saveLocked writes the state file atomically so a concurrent reader never sees half of it.
func (l *Lab) saveLocked() error {
	if l.removed {
		return nil
	}
	if _, err := os.Stat(l.dir); errors.Is(err, fs.ErrNotExist) {
		// Removed by another handle (`drill lab down`, ReapOrphans): no state left to keep.
		return nil
	}
	b, err := json.MarshalIndent(l.state, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(l.dir, StateFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write lab state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(l.dir, StateFile)); err != nil {
		return fmt.Errorf("write lab state: %w", err)
	}
	return nil
}

// Detach releases the lab's spawner but leaves the servers running (`drill lab up`, --keep-lab).
// Servers started with DieWithParent still die with this process.
func (l *Lab) Detach() {
	if l.spawn != nil {
		l.log.Warn("postgres lab detached while tied to this process; its servers stop when drill exits", "dir", l.dir)
	}
}

// Remove stops every server (immediate shutdown, then SIGKILL for anything left, checking each
// pid still belongs to this lab), then deletes what the lab created, and the directory itself
// if the lab created it. It is idempotent and safe on a partly started lab.
func (l *Lab) Remove(ctx context.Context) error {
	l.ops.Lock()
	defer l.ops.Unlock()
	var errs []error
	var stopping []string
	for _, m := range l.Members() {
		if l.ProcessState(m.Name) == ProcExited {
			continue
		}
		// SIGQUIT is PostgreSQL's immediate shutdown: the postmaster kills its children and
		// releases its shared memory, which SIGKILL would leave behind. Stopped processes (a
		// stalled walsender) must run again to act on it.
		_ = signal(m.PID, syscall.SIGCONT)
		for _, c := range childrenOf(m.PID) {
			_ = signal(c.PID, syscall.SIGCONT)
		}
		if err := signal(m.PID, syscall.SIGQUIT); err != nil {
			errs = append(errs, err)
		}
		stopping = append(stopping, m.Name)
	}
	qctx, cancel := context.WithTimeout(ctx, quitGrace)
	_ = waitFor(qctx, "servers to shut down", func() bool {
		return !slices.ContainsFunc(stopping, func(n string) bool { return l.ProcessState(n) != ProcExited })
	})
	cancel()
	for _, name := range stopping {
		if _, err := l.killLocked(ctx, name); err != nil {
			errs = append(errs, err)
		}
	}
	// Whatever still runs from this directory (children of a postmaster killed earlier, a
	// server whose pid the state file lost) goes too.
	if err := KillUnder(ctx, l.dir); err != nil {
		errs = append(errs, err)
	}
	if l.spawn != nil {
		l.spawn.Stop()
	}
	if len(errs) == 0 {
		for _, m := range l.Members() {
			if err := releaseSharedMemory(l.DataDir(m.Name)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		// Keep the directory and state file so a later `drill lab down` can retry.
		return fmt.Errorf("remove postgres lab %s: %w", l.dir, errors.Join(errs...))
	}
	if err := l.removeFiles(); err != nil {
		return err
	}
	l.mu.Lock()
	l.removed = true
	l.mu.Unlock()
	l.log.Info("postgres lab removed", "dir", l.dir)
	return nil
}

func (l *Lab) removeFiles() error {
	return labdir.RemoveFiles(l.dir, l.State().OwnDir, []string{"members", "logs", "run", StateFile, StateFile + ".tmp"}, l.log)
}
