package etcdlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/drillhq/drill/internal/labproc"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// statusTimeout bounds the Status calls of Leader and Status: etcd's client waits for a dead
// member's connection until the context ends.
const statusTimeout = 2 * time.Second

// How long a signalled member may take to exit before drill escalates or gives up.
const (
	termGrace = 10 * time.Second
	killGrace = 5 * time.Second
)

// Kill sends SIGKILL or SIGTERM to the named member and waits until the process has exited
// (escalating to SIGKILL if SIGTERM is not enough), or until ctx ends. A member that is not
// running is left alone.
func (l *Lab) Kill(ctx context.Context, name string, sig syscall.Signal) error {
	if sig == syscall.SIGSTOP || sig == syscall.SIGCONT {
		return fmt.Errorf("kill member %s: use Freeze or Resume for %v", name, sig)
	}
	l.ops.Lock()
	defer l.ops.Unlock()
	return l.killLocked(ctx, name, sig)
}

func (l *Lab) killLocked(ctx context.Context, name string, sig syscall.Signal) error {
	l.mu.Lock()
	m, i := l.memberLocked(name)
	p := l.procs[name]
	l.mu.Unlock()
	if i < 0 {
		return fmt.Errorf("kill member: no lab member %q", name)
	}
	dd := l.DataDir(name)
	if state := l.ProcessState(name); state != ProcExited {
		err := sendSignal(m.PID, sig)
		if err != nil && !errors.Is(err, errGone) {
			return fmt.Errorf("kill member %s (pid %d): %w", name, m.PID, err)
		}
		if state == ProcStopped && sig != syscall.SIGKILL {
			// A stopped process only acts on SIGTERM once it runs again.
			_ = sendSignal(m.PID, syscall.SIGCONT)
		}
		grace := killGrace
		if sig != syscall.SIGKILL {
			grace = termGrace
		}
		err = waitGone(ctx, p, m.PID, dd, grace)
		if err != nil && sig != syscall.SIGKILL && ctx.Err() == nil {
			l.log.Warn("member ignored signal; sending SIGKILL", "member", name, "signal", sig)
			_ = sendSignal(m.PID, syscall.SIGKILL)
			err = waitGone(ctx, p, m.PID, dd, killGrace)
		}
		if err != nil {
			return fmt.Errorf("kill member %s (pid %d) with signal %d (%v): %w", name, m.PID, int(sig), sig, err)
		}
	}
	l.mu.Lock()
	delete(l.procs, name)
	l.mu.Unlock()
	if m.PID == 0 {
		return nil
	}
	return l.update(name, func(m *Member) { m.PID = 0 })
}

// Freeze sends SIGSTOP to the named member: the process keeps its sockets but answers nothing,
// like a hung member.
func (l *Lab) Freeze(ctx context.Context, name string) error {
	l.ops.Lock()
	defer l.ops.Unlock()
	m, ok := l.Member(name)
	if !ok {
		return fmt.Errorf("freeze member: no lab member %q", name)
	}
	if l.ProcessState(name) == ProcExited {
		return fmt.Errorf("freeze member %s: %w", name, errGone)
	}
	if err := sendSignal(m.PID, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("freeze member %s: %w", name, err)
	}
	// Signal delivery is asynchronous; return once the kernel shows the process stopped, so a
	// probe sample started after Freeze sees a frozen member.
	if err := l.waitProcess(ctx, name, func(st ProcState) bool { return st == ProcStopped }); err != nil {
		return fmt.Errorf("freeze member %s: process %d not stopped: %w", name, m.PID, err)
	}
	return nil
}

// waitProcess polls a member's process state until done holds, for at most killGrace or until
// ctx ends: signal delivery is asynchronous, and callers must not return before the kernel
// shows its effect. The kernel offers no notification of a stop or continue that a process
// other than the parent's reaper could wait on, hence the polling.
func (l *Lab) waitProcess(ctx context.Context, name string, done func(ProcState) bool) error {
	ctx, cancel := context.WithTimeout(ctx, killGrace)
	defer cancel()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !done(l.ProcessState(name)) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// Resume sends SIGCONT to a frozen member.
func (l *Lab) Resume(ctx context.Context, name string) error {
	l.ops.Lock()
	defer l.ops.Unlock()
	return l.resumeLocked(ctx, name)
}

func (l *Lab) resumeLocked(ctx context.Context, name string) error {
	m, ok := l.Member(name)
	if !ok {
		return fmt.Errorf("resume member: no lab member %q", name)
	}
	if l.ProcessState(name) == ProcExited {
		return fmt.Errorf("resume member %s: %w", name, errGone)
	}
	if err := sendSignal(m.PID, syscall.SIGCONT); err != nil {
		return fmt.Errorf("resume member %s: %w", name, err)
	}
	if err := l.waitProcess(ctx, name, func(st ProcState) bool { return st != ProcStopped }); err != nil {
		return fmt.Errorf("resume member %s: process %d still stopped: %w", name, m.PID, err)
	}
	return nil
}

// Wipe deletes the data dir of a member that is not running. The member can then only return as
// a new member (Replace) or from a snapshot (Restore).
func (l *Lab) Wipe(name string) error {
	l.ops.Lock()
	defer l.ops.Unlock()
	if _, ok := l.Member(name); !ok {
		return fmt.Errorf("wipe member: no lab member %q", name)
	}
	if st := l.ProcessState(name); st != ProcExited {
		return fmt.Errorf("wipe member %s: process is %v; kill it first", name, st)
	}
	if err := os.RemoveAll(l.DataDir(name)); err != nil {
		return fmt.Errorf("wipe member %s: %w", name, err)
	}
	return l.update(name, func(m *Member) { m.Wiped = true })
}

// Start brings the named members back: a frozen one is resumed, a dead one is started again
// from its data dir. It returns once every named member answers and knows a leader, so starting
// a majority that lost quorum must name them all in one call.
func (l *Lab) Start(ctx context.Context, names ...string) error {
	l.ops.Lock()
	defer l.ops.Unlock()
	return l.startLocked(ctx, names...)
}

func (l *Lab) startLocked(ctx context.Context, names ...string) error {
	for _, name := range names {
		m, ok := l.Member(name)
		if !ok {
			return fmt.Errorf("start member: no lab member %q", name)
		}
		switch l.ProcessState(name) {
		case ProcRunning:
			continue
		case ProcStopped:
			if err := l.resumeLocked(ctx, name); err != nil {
				return err
			}
			continue
		}
		if m.Wiped {
			return fmt.Errorf("start member %s: its data was wiped; it can only rejoin as a new member (etcd-replace-member) or from a snapshot (etcd-restore-cluster)", name)
		}
		if err := l.spawnLocked(m); err != nil {
			return err
		}
	}
	return l.waitReady(ctx, names)
}

func (l *Lab) spawnLocked(m Member) error {
	st := l.State()
	args := []string{
		"--name", m.Name,
		"--data-dir", l.DataDir(m.Name),
		"--listen-client-urls", m.ClientURL,
		"--advertise-client-urls", m.ClientURL,
		"--listen-peer-urls", m.PeerURL,
		"--initial-advertise-peer-urls", m.PeerURL,
		"--initial-cluster", m.InitialCluster,
		"--initial-cluster-state", m.InitialClusterState,
		"--initial-cluster-token", st.Token,
	}
	if !st.Fsync {
		args = append(args, "--unsafe-no-fsync")
	}
	p, err := startProcess(l.spawn, st.Binary, args, l.LogFile(m.Name))
	if err != nil {
		return fmt.Errorf("start member %s: %w", m.Name, err)
	}
	l.mu.Lock()
	l.procs[m.Name] = p
	l.mu.Unlock()
	l.log.Debug("etcd member started", "member", m.Name, "pid", p.Pid())
	return l.update(m.Name, func(mm *Member) { mm.PID = p.Pid() })
}

// waitReady polls until every named member answers Status and reports a leader.
func (l *Lab) waitReady(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.startTimeout)
	defer cancel()
	c, err := l.Client()
	if err != nil {
		return err
	}
	pending := slices.Clone(names)
	var lastErr error
	for {
		var still []string
		for _, name := range pending {
			m, _ := l.Member(name)
			if l.ProcessState(name) == ProcExited {
				return fmt.Errorf("member %s exited while starting (%s):\n%s", name, l.exitStatus(name), labproc.Tail(l.LogFile(name), 15))
			}
			cctx, ccancel := context.WithTimeout(ctx, time.Second)
			resp, err := Status(cctx, c, m.ClientURL)
			ccancel()
			switch {
			case err != nil:
				lastErr = fmt.Errorf("member %s: %w", name, err)
				still = append(still, name)
			case resp.Leader == 0:
				lastErr = fmt.Errorf("member %s: no leader yet", name)
				still = append(still, name)
			}
		}
		if pending = still; len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for members %v to join a cluster with a leader: %w (last: %v)", pending, ctx.Err(), lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// exitStatus describes how a member process this Lab started has ended.
func (l *Lab) exitStatus(name string) string {
	l.mu.Lock()
	p := l.procs[name]
	l.mu.Unlock()
	if p == nil {
		return "not started by this drill"
	}
	select {
	case <-p.Done():
		if p.Err() == nil {
			return "exit status 0"
		}
		return p.Err().Error()
	default:
		return fmt.Sprintf("pid %d no longer looks like this member", p.Pid())
	}
}

// refreshIDs records each member's ID from the cluster's member list.
func (l *Lab) refreshIDs(ctx context.Context) error {
	c, err := l.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := c.MemberList(ctx)
	if err != nil {
		return fmt.Errorf("list members: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, m := range l.state.Members {
		for _, cm := range resp.Members {
			if cm.Name == m.Name || slices.Contains(cm.PeerURLs, m.PeerURL) {
				l.state.Members[i].ID = FormatID(cm.ID)
			}
		}
	}
	return l.saveLocked()
}

// Replace is the rejoin path an operator takes for a member whose data is gone or suspect: stop
// it, remove it from the cluster, wipe its data, add it back (the cluster gives it a new member
// ID) and start it empty, to catch up from the leader. The cluster needs quorum without it.
// It returns the new member ID.
func (l *Lab) Replace(ctx context.Context, name string) (uint64, error) {
	l.ops.Lock()
	defer l.ops.Unlock()
	m, ok := l.Member(name)
	if !ok {
		return 0, fmt.Errorf("replace member: no lab member %q", name)
	}
	if err := l.killLocked(ctx, name, syscall.SIGKILL); err != nil {
		return 0, fmt.Errorf("replace member %s: %w", name, err)
	}
	c, err := l.Client()
	if err != nil {
		return 0, err
	}
	// etcd's strict reconfiguration check refuses membership changes until the leader has
	// been connected to a quorum for its health interval (5s), which right after a restart or
	// a lab start it may not be yet: an operator retries, and so does this.
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	list, err := retryReconfig(rctx, l.log, func(ctx context.Context) (*clientv3.MemberListResponse, error) { return c.MemberList(ctx) })
	if err != nil {
		return 0, fmt.Errorf("replace member %s: list members: %w", name, err)
	}
	for _, cm := range list.Members {
		if slices.Contains(cm.PeerURLs, m.PeerURL) {
			_, err := retryReconfig(rctx, l.log, func(ctx context.Context) (*clientv3.MemberRemoveResponse, error) { return c.MemberRemove(ctx, cm.ID) })
			if err != nil && !errors.Is(err, rpctypes.ErrMemberNotFound) {
				return 0, fmt.Errorf("replace member %s: remove member %x: %w", name, cm.ID, err)
			}
			l.log.Info("etcd member removed", "member", name, "id", FormatID(cm.ID))
		}
	}
	if err := os.RemoveAll(l.DataDir(name)); err != nil {
		return 0, fmt.Errorf("replace member %s: wipe: %w", name, err)
	}
	if err := l.update(name, func(m *Member) { m.Wiped, m.ID = true, "" }); err != nil {
		return 0, err
	}
	added, err := retryReconfig(rctx, l.log, func(ctx context.Context) (*clientv3.MemberAddResponse, error) {
		resp, err := c.MemberAdd(ctx, []string{m.PeerURL})
		if errors.Is(err, rpctypes.ErrPeerURLExist) {
			// An earlier attempt that timed out on our side went through.
			return addedEarlier(ctx, c, m.PeerURL)
		}
		return resp, err
	})
	if err != nil {
		return 0, fmt.Errorf("replace member %s: add member: %w", name, err)
	}
	l.log.Info("etcd member added", "member", name, "id", FormatID(added.Member.ID))
	var initial []string
	for _, cm := range added.Members {
		n := cm.Name
		if cm.ID == added.Member.ID {
			n = name // not started yet, so the cluster does not know its name
		}
		for _, u := range cm.PeerURLs {
			initial = append(initial, n+"="+u)
		}
	}
	newID := added.Member.ID
	if err := l.update(name, func(m *Member) {
		m.ID, m.Wiped = FormatID(newID), false
		m.InitialCluster, m.InitialClusterState = strings.Join(initial, ","), "existing"
	}); err != nil {
		return 0, err
	}
	m, _ = l.Member(name)
	if err := l.spawnLocked(m); err != nil {
		return 0, err
	}
	if err := l.waitReady(ctx, []string{name}); err != nil {
		return 0, err
	}
	l.log.Info("etcd member replaced", "member", name, "id", FormatID(newID))
	return newID, nil
}

// retryReconfig retries a membership call while etcd reports it unsafe for now (not enough
// members connected long enough) or the request timed out, until ctx expires.
func retryReconfig[T any](ctx context.Context, log *slog.Logger, call func(context.Context) (T, error)) (T, error) {
	for {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		resp, err := call(cctx)
		cancel()
		retry := errors.Is(err, rpctypes.ErrUnhealthy) || errors.Is(err, rpctypes.ErrMemberNotEnoughStarted) ||
			errors.Is(err, rpctypes.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
		if err == nil || !retry {
			return resp, err
		}
		log.Debug("etcd membership change refused for now; retrying", "err", err)
		select {
		case <-ctx.Done():
			return resp, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// addedEarlier rebuilds a MemberAdd answer for the unstarted member with peerURL.
func addedEarlier(ctx context.Context, c *clientv3.Client, peerURL string) (*clientv3.MemberAddResponse, error) {
	list, err := c.MemberList(ctx)
	if err != nil {
		return nil, err
	}
	for _, cm := range list.Members {
		if cm.Name == "" && slices.Contains(cm.PeerURLs, peerURL) {
			return &clientv3.MemberAddResponse{Header: list.Header, Member: cm, Members: list.Members}, nil
		}
	}
	return nil, fmt.Errorf("peer URL %s is taken by a started member", peerURL)
}

// Restore is the disaster-recovery path for a cluster that lost quorum or data: stop every
// member that is left, restore each member's data dir from the same snapshot with
// `etcdutl snapshot restore` under a new cluster token, start them all and wait for a leader.
func (l *Lab) Restore(ctx context.Context, snapshot string) error {
	l.ops.Lock()
	defer l.ops.Unlock()
	if _, err := os.Stat(snapshot); err != nil {
		return fmt.Errorf("restore cluster: snapshot: %w", err)
	}
	st := l.State()
	etcdutl := st.Etcdutl
	if etcdutl == "" {
		var err error
		if etcdutl, err = FindEtcdutl("", st.Binary); err != nil {
			return fmt.Errorf("restore cluster: %w", err)
		}
	}
	for _, m := range st.Members {
		if err := l.killLocked(ctx, m.Name, syscall.SIGKILL); err != nil {
			return fmt.Errorf("restore cluster: %w", err)
		}
	}
	token := newToken(filepath.Base(l.dir))
	var initial []string
	for _, m := range st.Members {
		initial = append(initial, m.Name+"="+m.PeerURL)
	}
	for _, m := range st.Members {
		dd := l.DataDir(m.Name)
		if err := os.RemoveAll(dd); err != nil {
			return fmt.Errorf("restore cluster: clear %s: %w", dd, err)
		}
		cmd := exec.CommandContext(ctx, etcdutl, "snapshot", "restore", snapshot,
			"--name", m.Name,
			"--data-dir", dd,
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-token", token,
			"--initial-advertise-peer-urls", m.PeerURL,
		)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("restore cluster: etcdutl snapshot restore for %s: %w\n%s", m.Name, err, labproc.LastLines(out, 15))
		}
		if err := l.update(m.Name, func(mm *Member) {
			mm.ID, mm.Wiped = "", false
			mm.InitialCluster, mm.InitialClusterState = strings.Join(initial, ","), "new"
		}); err != nil {
			return err
		}
	}
	l.mu.Lock()
	l.state.Token = token
	err := l.saveLocked()
	l.mu.Unlock()
	if err != nil {
		return err
	}
	for _, m := range l.Members() {
		if err := l.spawnLocked(m); err != nil {
			return fmt.Errorf("restore cluster: %w", err)
		}
	}
	if err := l.waitReady(ctx, l.Names()); err != nil {
		return fmt.Errorf("restore cluster: %w", err)
	}
	if err := l.refreshIDs(ctx); err != nil {
		return fmt.Errorf("restore cluster: %w", err)
	}
	l.log.Info("etcd cluster restored", "snapshot", snapshot, "token", token)
	return nil
}

// MemberStatus is what `drill lab status` shows for one member.
type MemberStatus struct {
	Member
	Process string                   // running, stopped or exited
	Status  *clientv3.StatusResponse // nil when the member did not answer
	Err     error
}

// Status reports every member's process state and, for running members, its etcd status.
func (l *Lab) Status(ctx context.Context) ([]MemberStatus, error) {
	c, err := l.Client()
	if err != nil {
		return nil, err
	}
	ms := l.Members()
	eps := make([]string, len(ms))
	for i, m := range ms {
		eps[i] = m.ClientURL
	}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	sts := StatusAll(ctx, c, eps)
	out := make([]MemberStatus, len(ms))
	for i, m := range ms {
		out[i] = MemberStatus{Member: m, Process: l.ProcessState(m.Name).String(), Status: sts[i].Resp, Err: sts[i].Err}
	}
	return out, nil
}

// Leader returns the name of the member the answering members agree is the leader. It fails
// when they disagree or the leader itself does not answer (an election is under way).
func (l *Lab) Leader(ctx context.Context) (string, error) {
	c, err := l.Client()
	if err != nil {
		return "", err
	}
	ms := l.Members()
	eps := make([]string, len(ms))
	for i, m := range ms {
		eps[i] = m.ClientURL
	}
	// A dead member's Status waits for the connection until the deadline: bound it.
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	_, ep, err := AgreedLeader(StatusAll(ctx, c, eps))
	if err != nil {
		return "", fmt.Errorf("find leader: %w", err)
	}
	for _, m := range ms {
		if m.ClientURL == ep {
			return m.Name, nil
		}
	}
	return "", errors.New("find leader: the leader did not answer")
}
