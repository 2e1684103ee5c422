// Package etcdlab runs a local etcd cluster of real, upstream etcd server processes on loopback
// ports (the "lab" drills run against when no other cluster is given). It is a process manager
// and knows nothing of drills: backends/etcdenv connects scenarios to a lab or to external
// endpoints. Every operation that waits takes a ctx and stops waiting when it ends.
//
// A lab lives in one directory:
//
//	lab.json            state file: members, ports, pids, cluster token (any later drill finds it)
//	members/<name>/     each member's data dir
//	logs/<name>.log     each member's stdout and stderr
//	snapshots/          periodic and saved snapshots (*.db)
package etcdlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/drillhq/drill/internal/labdir"
	"github.com/drillhq/drill/internal/labproc"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// StateFile is the name of the state file inside a lab directory.
const StateFile = "lab.json"

const stateVersion = 1

// DefaultMembers is the cluster size when none is asked for.
const DefaultMembers = 3

// DefaultStartTimeout bounds how long starting members may take to join a cluster with a leader.
const DefaultStartTimeout = 30 * time.Second

// State is the lab.json document.
type State struct {
	Version int    `json:"version"`
	Binary  string `json:"binary"`
	Etcdutl string `json:"etcdutl,omitempty"`
	// Token is the --initial-cluster-token of the current cluster; a restore starts a new one.
	Token     string    `json:"clusterToken"`
	CreatedAt time.Time `json:"createdAt"`
	// OwnDir records that the lab created its directory, so taking it down removes the directory
	// itself and not only what the lab put in it.
	OwnDir bool `json:"ownDir"`
	// OwnerPID is the drill process a lab with DieWithParent belongs to: its members die with
	// it, and a later drill removes the directory it left behind (ReapOrphans).
	OwnerPID int      `json:"ownerPid,omitempty"`
	Members  []Member `json:"members"`
	// Fsync records Options.Fsync, so members restarted later run the same way.
	Fsync bool `json:"fsync,omitempty"`
}

// Member is one etcd server of the lab.
type Member struct {
	Name      string `json:"name"`
	ID        string `json:"id,omitempty"` // hex, as etcdctl prints it; changes on replace and restore
	ClientURL string `json:"clientURL"`
	PeerURL   string `json:"peerURL"`
	PID       int    `json:"pid,omitempty"` // 0 when not running
	// Wiped is set when the member's data dir was deleted while it was down: it can only come
	// back as a new member (Replace) or from a snapshot (Restore).
	Wiped bool `json:"wiped,omitempty"`
	// The bootstrap flags the member was created with; etcd ignores them once the data dir exists.
	InitialCluster      string `json:"initialCluster"`
	InitialClusterState string `json:"initialClusterState"`
}

// Options configure Up.
type Options struct {
	// Dir is the lab directory. It must not already hold a lab. Empty: a new temporary directory.
	Dir     string
	Members int    // default DefaultMembers
	Binary  string // etcd server; empty: FindEtcd("")
	Etcdutl string // empty: FindEtcdutl("", Binary) when a restore needs it
	// DieWithParent ties member processes to this process (Linux): if drill dies, even by
	// SIGKILL, the kernel kills the members too. `drill lab up` leaves it off so the lab
	// outlives the command; drills that own their lab turn it on.
	DieWithParent bool
	// SnapshotEvery > 0 takes a snapshot into snapshots/ at that period while the cluster has
	// quorum, keeping the newest SnapshotKeep (default 5), the way an operator's backup job would.
	SnapshotEvery time.Duration
	SnapshotKeep  int
	StartTimeout  time.Duration // default DefaultStartTimeout
	// Now is the clock snapshot times are read from (default time.Now). A drill passes its run
	// clock, so that snapshot times and t0 compare on one timeline whatever the wall clock does.
	Now func() time.Time
	// Fsync makes members fsync their WAL and database as production does. Off by default
	// (members run with --unsafe-no-fsync): every fault the lab injects is a process failure
	// (kill, freeze, lost data dir), after which the page cache still holds what was written,
	// so fsync changes no outcome; on a shared or virtual disk it only adds stalls of hundreds
	// of milliseconds every few seconds that would be measured as outages.
	Fsync bool
	Log   *slog.Logger
}

// Lab is a running (or stopped) local cluster. Its methods are safe for concurrent use;
// operations that change members are serialised.
type Lab struct {
	dir          string
	log          *slog.Logger
	startTimeout time.Duration
	now          func() time.Time
	spawn        *labproc.Spawner // nil when members must outlive this process

	ops sync.Mutex // serialises member operations (kill, start, replace, restore, down)

	mu     sync.Mutex // guards the fields below
	state  State
	procs  map[string]*labproc.Proc
	client *clientv3.Client
	snaps  *snapshotter
	closed bool
}

// Up creates a lab directory, starts opts.Members etcd processes as a new cluster and waits until
// every member answers and agrees on a leader. On error nothing is left behind.
func Up(ctx context.Context, opts Options) (lab *Lab, err error) {
	if opts.Members == 0 {
		opts.Members = DefaultMembers
	}
	if opts.Members < 1 || opts.Members > 9 {
		return nil, fmt.Errorf("lab members must be between 1 and 9, got %d", opts.Members)
	}
	if opts.Binary == "" {
		if opts.Binary, err = FindEtcd(""); err != nil {
			return nil, err
		}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	// Ports are picked free but released before etcd binds them, so another process can take
	// one in between; start again on new ports rather than fail the drill.
	for attempt := 1; ; attempt++ {
		lab, err = up(ctx, opts)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") || ctx.Err() != nil {
			return lab, err
		}
		opts.Log.Warn("etcd lab: a port was taken before etcd could bind it; retrying on new ports", "attempt", attempt)
	}
}

func up(ctx context.Context, opts Options) (lab *Lab, err error) {
	dir, own, err := makeDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	l := newLab(dir, opts.Log, opts.StartTimeout, opts.DieWithParent)
	if opts.Now != nil {
		l.now = opts.Now
	}
	defer func() {
		if err != nil {
			if derr := l.Down(context.WithoutCancel(ctx)); derr != nil {
				err = errors.Join(err, fmt.Errorf("clean up failed lab: %w", derr))
			}
		}
	}()
	l.state = State{
		Version:   stateVersion,
		Binary:    opts.Binary,
		Etcdutl:   opts.Etcdutl,
		Token:     newToken(filepath.Base(dir)),
		CreatedAt: time.Now().UTC(),
		OwnDir:    own,
		Fsync:     opts.Fsync,
	}
	if opts.DieWithParent {
		l.state.OwnerPID = os.Getpid()
	}
	ports, err := labproc.FreePorts(2 * opts.Members)
	if err != nil {
		return nil, err
	}
	var initial []string
	for i := range opts.Members {
		m := Member{
			Name:      fmt.Sprintf("m%d", i+1),
			ClientURL: "http://127.0.0.1:" + strconv.Itoa(ports[2*i]),
			PeerURL:   "http://127.0.0.1:" + strconv.Itoa(ports[2*i+1]),
		}
		initial = append(initial, m.Name+"="+m.PeerURL)
		l.state.Members = append(l.state.Members, m)
	}
	for i := range l.state.Members {
		l.state.Members[i].InitialCluster = strings.Join(initial, ",")
		l.state.Members[i].InitialClusterState = "new"
	}
	for _, sub := range []string{"members", "logs", "snapshots"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("create lab dir: %w", err)
		}
	}
	l.mu.Lock()
	err = l.saveLocked()
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	l.ops.Lock()
	err = l.startLocked(ctx, l.Names()...)
	l.ops.Unlock()
	if err != nil {
		return nil, err
	}
	if err := l.refreshIDs(ctx); err != nil {
		return nil, err
	}
	if opts.SnapshotEvery > 0 {
		keep := opts.SnapshotKeep
		if keep <= 0 {
			keep = 5
		}
		snaps := newSnapshotter(l, opts.SnapshotEvery, keep)
		fctx, cancel := context.WithTimeout(ctx, l.startTimeout)
		err := snaps.first(fctx)
		cancel()
		if err != nil {
			return nil, err
		}
		snaps.start()
		l.mu.Lock()
		l.snaps = snaps
		l.mu.Unlock()
	}
	l.log.Info("etcd lab up", "dir", dir, "endpoints", strings.Join(l.Endpoints(), ","))
	return l, nil
}

// Open attaches to the lab whose state file is in dir, e.g. for `drill lab status` or `down`.
// Members it starts are not tied to this process.
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
	l := newLab(abs, log, 0, false)
	l.state = st
	return l, nil
}

// NoLabError reports a directory that holds no lab. It matches fs.ErrNotExist, so that callers
// for whom no lab is as good as a removed one (`drill lab down`) can tell it from a lab they
// failed to read.
type NoLabError struct{ Dir string }

func (e *NoLabError) Error() string {
	return fmt.Sprintf("no etcd lab in %s (start one with `drill lab up --dir %s`)", e.Dir, e.Dir)
}

// Unwrap makes errors.Is(err, fs.ErrNotExist) hold.
func (e *NoLabError) Unwrap() error { return fs.ErrNotExist }

// ReadState reads dir/lab.json; without one it returns a *NoLabError.
func ReadState(dir string) (State, error) {
	var st State
	found, err := labproc.ReadState(filepath.Join(dir, StateFile), stateVersion, &st)
	if !found {
		return st, &NoLabError{Dir: dir}
	}
	return st, err
}

// ReapOrphans takes down the labs in root (directories named drill-lab-*) whose owning drill
// process has died without cleaning up (killed with SIGKILL, say): their members died with it,
// their directories remain. It returns the directories removed.
func ReapOrphans(ctx context.Context, root string, log *slog.Logger) ([]string, error) {
	return labdir.Reap(ctx, root, "drill-lab-*", "lab", func(d string) (int, error) {
		st, err := ReadState(d)
		return st.OwnerPID, err
	}, func(d string) (func(context.Context) error, error) {
		l, err := Open(d, log)
		if err != nil {
			return nil, err
		}
		return l.Down, nil
	})
}

// RemoveUnstarted removes the directory of a lab that never got its state file (its drill was
// killed while Up was creating it): nothing was started, so there is nothing to kill. A
// directory already gone is a no-op; one holding anything Up does not make stays (error).
func RemoveUnstarted(dir string) error {
	return labdir.RemoveUnstarted(dir, []string{"members", "logs", "snapshots", StateFile + ".tmp"})
}

func newLab(dir string, log *slog.Logger, startTimeout time.Duration, dieWithParent bool) *Lab {
	if startTimeout <= 0 {
		startTimeout = DefaultStartTimeout
	}
	l := &Lab{dir: dir, log: log, startTimeout: startTimeout, now: time.Now, procs: map[string]*labproc.Proc{}}
	if dieWithParent {
		l.spawn = labproc.NewSpawner()
	}
	return l
}

// makeDir creates the lab directory, refusing one that already holds a lab or other files.
func makeDir(dir string) (abs string, created bool, err error) {
	return labdir.Make(dir, "drill-lab-", StateFile, func(abs string) error {
		return fmt.Errorf("a lab already exists in %s (take it down first: drill lab down --dir %s)", abs, abs)
	})
}

func newToken(base string) string {
	return fmt.Sprintf("drill-%s-%d", base, time.Now().UnixNano())
}

// Dir is the lab directory.
func (l *Lab) Dir() string { return l.dir }

// Now reads the clock the lab names snapshots by (Options.Now), so that times compared with
// snapshot times come from the same clock.
func (l *Lab) Now() time.Time { return l.now() }

// SnapshotDir is where periodic and saved snapshots go.
func (l *Lab) SnapshotDir() string { return filepath.Join(l.dir, "snapshots") }

// DataDir is the data dir of the named member.
func (l *Lab) DataDir(name string) string { return filepath.Join(l.dir, "members", name) }

// LogFile is the log of the named member.
func (l *Lab) LogFile(name string) string { return filepath.Join(l.dir, "logs", name+".log") }

// State returns a copy of the lab's state.
func (l *Lab) State() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state
	st.Members = slices.Clone(st.Members)
	return st
}

// Members returns a copy of the member list.
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

// Names lists the member names in order.
func (l *Lab) Names() []string {
	var out []string
	for _, m := range l.Members() {
		out = append(out, m.Name)
	}
	return out
}

// Endpoints lists the members' client URLs in order.
func (l *Lab) Endpoints() []string {
	var out []string
	for _, m := range l.Members() {
		out = append(out, m.ClientURL)
	}
	return out
}

// ProcessState reports whether the named member's process is running, stopped or gone.
func (l *Lab) ProcessState(name string) ProcState {
	l.mu.Lock()
	m, i := l.memberLocked(name)
	p := l.procs[name]
	l.mu.Unlock()
	switch {
	case i < 0:
		return ProcExited
	case p != nil:
		return p.State()
	default:
		return inspect(m.PID, l.DataDir(name))
	}
}

// Running reports whether the member's process exists and is not stopped.
func (l *Lab) Running(name string) bool { return l.ProcessState(name) == ProcRunning }

// Stopped reports whether the member's process is frozen by SIGSTOP.
func (l *Lab) Stopped(name string) bool { return l.ProcessState(name) == ProcStopped }

func (l *Lab) memberLocked(name string) (Member, int) {
	for i, m := range l.state.Members {
		if m.Name == name {
			return m, i
		}
	}
	return Member{}, -1
}

func (l *Lab) update(name string, f func(*Member)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, i := l.memberLocked(name)
	if i < 0 {
		return fmt.Errorf("no lab member %q", name)
	}
	f(&l.state.Members[i])
	return l.saveLocked()
}

// saveLocked writes the state file atomically so a concurrent reader never sees half of it.
func (l *Lab) saveLocked() error {
	b, err := json.MarshalIndent(l.state, "", "  ")
	if err != nil {
		return err
	}
	if _, err := os.Stat(l.dir); errors.Is(err, fs.ErrNotExist) {
		// The lab was taken down by another handle (`drill lab down`, ReapOrphans): there is
		// no state left to keep.
		return nil
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

// Client returns the lab's shared client over every member endpoint.
func (l *Lab) Client() (*clientv3.Client, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errors.New("etcd lab is closed")
	}
	if l.client == nil {
		var eps []string
		for _, m := range l.state.Members {
			eps = append(eps, m.ClientURL)
		}
		c, err := NewClient(eps)
		if err != nil {
			return nil, err
		}
		l.client = c
	}
	return l.client, nil
}

// Detach stops the lab's background work and releases its clients but leaves the members
// running (--keep-lab). The lab is found again with Open.
func (l *Lab) Detach() error {
	l.mu.Lock()
	snaps, client := l.snaps, l.client
	l.snaps, l.client, l.closed = nil, nil, true
	l.mu.Unlock()
	if snaps != nil {
		snaps.stop()
	}
	var err error
	if client != nil {
		err = client.Close()
	}
	if l.spawn != nil {
		// Members started with Pdeathsig would die with the spawner thread; a lab that must
		// outlive drill is started without one (Options.DieWithParent false).
		l.log.Warn("etcd lab detached while tied to this process; members stop when drill exits", "dir", l.dir)
	}
	return err
}

// Down kills every member (checking each pid still belongs to this lab), then removes what the
// lab created in its directory, and the directory itself if the lab created it. It is safe to
// call on a partly started or already stopped lab. If ctx ends while a member is still dying,
// Down stops and keeps the state file so that a later Down can finish; cleanup paths pass
// context.WithoutCancel so that an interrupted drill still removes its lab.
func (l *Lab) Down(ctx context.Context) error {
	l.mu.Lock()
	snaps, client := l.snaps, l.client
	l.snaps, l.client, l.closed = nil, nil, true
	l.mu.Unlock()
	if snaps != nil {
		snaps.stop()
	}
	if client != nil {
		client.Close()
	}
	l.ops.Lock()
	defer l.ops.Unlock()
	var errs []error
	for _, name := range l.Names() {
		if err := l.killLocked(ctx, name, syscall.SIGKILL); err != nil {
			errs = append(errs, err)
		}
	}
	if l.spawn != nil {
		l.spawn.Stop()
	}
	if len(errs) > 0 {
		// Keep the directory and state file so a later `drill lab down` can retry.
		return errors.Join(errs...)
	}
	if err := l.removeFiles(); err != nil {
		return err
	}
	l.log.Info("etcd lab down", "dir", l.dir)
	return nil
}

func (l *Lab) removeFiles() error {
	return labdir.RemoveFiles(l.dir, l.State().OwnDir, []string{"members", "logs", "snapshots", StateFile, StateFile + ".tmp"}, l.log)
}
