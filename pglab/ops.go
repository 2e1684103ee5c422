package pglab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/drillhq/drill/internal/labproc"
)

// RoleRetired marks a primary that a promotion replaced: it must not come back as a second
// primary, and rejoining as a standby would need pg_rewind, which the lab does not do.
const RoleRetired = "retired"

// labConfig is appended to the primary's postgresql.conf; base backups copy it to the standbys.
const labConfig = `
# --- drill pglab ---
listen_addresses = '127.0.0.1'
# The lab injects process failures only; the page cache survives them (see package doc).
fsync = off
wal_level = replica
max_wal_senders = 10
# Keep WAL for a standby whose stream was stalled, so it catches up once resumed.
wal_keep_size = '256MB'
hot_standby = on
# A stalled stream must stay stalled until resumed, as over a congested link: with a receiver
# timeout the standby would reconnect and get a fresh, running walsender.
wal_receiver_timeout = 0
wal_retrieve_retry_interval = '200ms'
shared_buffers = '16MB'
# A stalled synchronous primary keeps every backend whose client gave up on a commit waiting
# for the standby; clients that retry need room beside them.
max_connections = 100
log_line_prefix = '%m [%p] %q%a '
`

// syncWait bounds waiting for standbys to stream from a new primary and be counted as
// synchronous: seconds on loopback, unless something is wrong.
const syncWait = 30 * time.Second

// maxSocketPath is the usable length of a unix socket path (sun_path less its NUL).
const maxSocketPath = 107

// postgresArgs are the per-member server options: on the command line, they cannot be
// overridden by a data dir copied from another member.
func (l *Lab) postgresArgs(m Member) []string {
	sock := l.socketDir()
	if len(sock)+len("/.s.PGSQL.65535.lock") > maxSocketPath {
		// A long lab path cannot hold a socket: TCP on loopback is all the lab needs.
		l.log.Warn("postgres lab: directory path too long for unix sockets; TCP only", "dir", l.dir)
		sock = ""
	}
	return []string{
		"-D", l.DataDir(m.Name),
		"-c", "port=" + strconv.Itoa(m.Port),
		"-c", "unix_socket_directories=" + sock,
		"-c", "cluster_name=" + m.Name,
	}
}

func (l *Lab) binary(name string) string { return filepath.Join(l.State().BinDir, name) }

// runTool runs initdb or pg_basebackup as the server account, returning its output in errors.
func (l *Lab) runTool(ctx context.Context, tool string, args ...string) error {
	cmd := command(ctx, l.State().RunAs, l.dir, l.binary(tool), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", tool, err, labproc.LastLines(out, 15))
	}
	return nil
}

func (l *Lab) initPrimary(ctx context.Context) error {
	m := l.state.Members[0]
	dd := l.DataDir(m.Name)
	if err := l.runTool(ctx, "initdb", "-D", dd, "--username", SuperUser, "--auth", "trust",
		"--encoding", "UTF8", "--locale", "C", "--no-sync", "--no-instructions"); err != nil {
		return fmt.Errorf("init primary %s: %w", m.Name, err)
	}
	if err := appendFile(filepath.Join(dd, "postgresql.conf"), labConfig); err != nil {
		return fmt.Errorf("init primary %s: %w", m.Name, err)
	}
	return nil
}

// initStandby clones the primary with a base backup and makes the copy a standby streaming
// from it under its own application_name, which synchronous_standby_names refers to.
func (l *Lab) initStandby(ctx context.Context, m, primary Member) error {
	dd := l.DataDir(m.Name)
	if err := l.runTool(ctx, "pg_basebackup", "-D", dd, "-h", "127.0.0.1", "-p", strconv.Itoa(primary.Port),
		"-U", SuperUser, "-X", "stream", "--checkpoint", "fast", "--no-sync"); err != nil {
		return fmt.Errorf("base backup for standby %s: %w", m.Name, err)
	}
	if err := os.WriteFile(filepath.Join(dd, "standby.signal"), nil, 0o600); err != nil {
		return fmt.Errorf("init standby %s: %w", m.Name, err)
	}
	if err := l.State().RunAs.chown(filepath.Join(dd, "standby.signal")); err != nil {
		return err
	}
	conf := "primary_conninfo = " + quoteLiteral(primaryConninfo(m.Name, primary.Port)) + "\n"
	if err := appendFile(filepath.Join(dd, "postgresql.auto.conf"), conf); err != nil {
		return fmt.Errorf("init standby %s: %w", m.Name, err)
	}
	return nil
}

func primaryConninfo(appName string, port int) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s application_name=%s connect_timeout=2", port, SuperUser, appName)
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// spawnLocked starts a member's postmaster and waits until it accepts connections.
func (l *Lab) spawnLocked(ctx context.Context, name string) error {
	m, ok := l.Member(name)
	if !ok {
		return fmt.Errorf("start server: no lab member %q", name)
	}
	st := l.State()
	// A postmaster killed with SIGKILL leaves postmaster.pid; postgres checks the pid in it and
	// starts anyway when that process is gone, so nothing to clean here.
	p, err := startPostmaster(l.spawn, st.RunAs, l.dir, l.binary("postgres"), l.postgresArgs(m), l.LogFile(name))
	if err != nil {
		return fmt.Errorf("start server %s: %w", name, err)
	}
	l.mu.Lock()
	l.procs[name] = p
	l.mu.Unlock()
	if err := l.updateMember(name, func(m *Member) { m.PID = p.Pid() }); err != nil {
		return err
	}
	l.log.Debug("postgres server started", "member", name, "pid", p.Pid(), "port", m.Port)
	return l.waitAccepting(ctx, name, p)
}

// waitAccepting polls until the member answers a query, failing fast if the server exits.
func (l *Lab) waitAccepting(ctx context.Context, name string, p *labproc.Proc) error {
	var lastErr error
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.Done():
			return fmt.Errorf("server %s exited while starting (%v):\n%s", name, p.Err(), labproc.Tail(l.LogFile(name), 15))
		default:
		}
		var one int
		if lastErr = l.query(ctx, name, "SELECT 1", &one); lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for server %s to accept connections: %w (last: %v)\n%s", name, ctx.Err(), lastErr, labproc.Tail(l.LogFile(name), 10))
		case <-p.Done():
		case <-tick.C:
		}
	}
}

// waitStreaming polls the primary's pg_stat_replication until every named standby streams.
func (l *Lab) waitStreaming(ctx context.Context, primary Member, standbys []string) error {
	var lastErr error
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var streaming []string
		lastErr = l.query(ctx, primary.Name,
			"SELECT coalesce(array_agg(application_name::text), '{}') FROM pg_stat_replication WHERE state = 'streaming'", &streaming)
		missing := slices.DeleteFunc(slices.Clone(standbys), func(n string) bool { return slices.Contains(streaming, n) })
		if lastErr == nil && len(missing) == 0 {
			return nil
		}
		if lastErr == nil {
			lastErr = fmt.Errorf("not streaming yet: %s", strings.Join(missing, ", "))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for standbys %v to stream from %s: %w (last: %v)", standbys, primary.Name, ctx.Err(), lastErr)
		case <-tick.C:
		}
	}
}

// setSyncStandbys makes primary's commits wait until any one of standbys has flushed them
// (none: commits do not wait), then waits until the primary counts one as synchronous.
func (l *Lab) setSyncStandbys(ctx context.Context, primary Member, standbys []string) error {
	names := ""
	if len(standbys) > 0 {
		names = "ANY 1 (" + strings.Join(standbys, ", ") + ")"
	}
	if err := l.exec(ctx, primary.Name, "ALTER SYSTEM SET synchronous_standby_names = "+quoteLiteral(names), "SELECT pg_reload_conf()"); err != nil {
		return fmt.Errorf("set synchronous standbys on %s: %w", primary.Name, err)
	}
	if len(standbys) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, syncWait)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var n int
		err := l.query(ctx, primary.Name, "SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')", &n)
		if err == nil && n > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to count a standby as synchronous: %w (last: %v)", primary.Name, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// killLocked SIGKILLs a member's postmaster and every child, and waits until all are gone. The
// postmaster is stopped (SIGSTOP) first so it cannot fork while its children are listed: once it
// dies they are re-parented and can no longer be told apart by parent.
func (l *Lab) killLocked(ctx context.Context, name string) ([]int, error) {
	m, ok := l.Member(name)
	if !ok {
		return nil, fmt.Errorf("kill server: no lab member %q", name)
	}
	if l.ProcessState(name) == ProcExited {
		return nil, l.updateMember(name, func(m *Member) { m.PID = 0 })
	}
	ctx, cancel := context.WithTimeout(ctx, killGrace)
	defer cancel()
	if err := signal(m.PID, syscall.SIGSTOP); err != nil {
		return nil, fmt.Errorf("kill server %s: %w", name, err)
	}
	if err := waitFor(ctx, "postmaster to stop", func() bool { return l.ProcessState(name) != ProcRunning }); err != nil {
		return nil, fmt.Errorf("kill server %s (pid %d): %w", name, m.PID, err)
	}
	pids := []int{m.PID}
	for _, c := range childrenOf(m.PID) {
		pids = append(pids, c.PID)
	}
	for _, pid := range pids {
		if err := signal(pid, syscall.SIGKILL); err != nil {
			return pids, fmt.Errorf("kill server %s: %w", name, err)
		}
	}
	if err := waitFor(ctx, "server processes to exit", func() bool { return gone(pids) && l.ProcessState(name) == ProcExited }); err != nil {
		return pids, fmt.Errorf("kill server %s (pids %v): %w", name, pids, err)
	}
	l.mu.Lock()
	delete(l.procs, name)
	l.mu.Unlock()
	return pids, l.updateMember(name, func(m *Member) { m.PID = 0 })
}

// KillResult is what KillPrimary did.
type KillResult struct {
	Member string
	PIDs   []int // the postmaster first, then its children; empty when it was already down
	// LSN is the primary's pg_current_wal_lsn() read just before the kill ("" if it did not
	// answer): the end of the WAL the standbys could at best have.
	LSN string
}

// KillPrimary SIGKILLs the primary's postmaster and all its children (backends, walsenders,
// checkpointer) at once, as a crashed host would. A primary already down is left alone.
func (l *Lab) KillPrimary(ctx context.Context) (KillResult, error) {
	l.ops.Lock()
	defer l.ops.Unlock()
	p := l.Primary()
	res := KillResult{Member: p.Name}
	if l.ProcessState(p.Name) == ProcExited {
		return res, nil
	}
	res.LSN = l.recordPrimaryLSN(ctx, p.Name)
	pids, err := l.killLocked(ctx, p.Name)
	res.PIDs = pids
	if err != nil {
		return res, fmt.Errorf("kill primary: %w", err)
	}
	// Walsenders it had stalled died with it.
	return res, l.update(func(st *State) { st.Stalled = nil })
}

// recordPrimaryLSN reads the primary's current WAL LSN into the state, best-effort: it returns
// "" and keeps the last known one when the primary does not answer.
func (l *Lab) recordPrimaryLSN(ctx context.Context, name string) string {
	var lsn string
	if err := l.query(ctx, name, "SELECT pg_current_wal_lsn()::text", &lsn); err != nil {
		l.log.Debug("postgres primary did not report its LSN", "member", name, "err", err)
		return ""
	}
	if err := l.update(func(st *State) { st.LastPrimaryLSN = lsn }); err != nil {
		l.log.Warn("record primary LSN", "err", err)
	}
	return lsn
}

// RestartPrimary starts the primary again from its data dir if it is down (crash recovery
// replays its WAL) and waits until the running standbys stream from it again. After a
// promotion the primary is the promoted member, so the member that was killed stays down.
func (l *Lab) RestartPrimary(ctx context.Context) (string, error) {
	l.ops.Lock()
	defer l.ops.Unlock()
	p := l.Primary()
	switch l.ProcessState(p.Name) {
	case ProcRunning:
		return p.Name, nil
	case ProcStopped:
		if err := signal(p.PID, syscall.SIGCONT); err != nil {
			return p.Name, fmt.Errorf("restart primary %s: %w", p.Name, err)
		}
		return p.Name, nil
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultStartTimeout)
	defer cancel()
	if err := l.spawnLocked(ctx, p.Name); err != nil {
		return p.Name, fmt.Errorf("restart primary: %w", err)
	}
	var standbys []string
	for _, m := range l.Members() {
		if m.Role == RoleStandby && l.Running(m.Name) {
			standbys = append(standbys, m.Name)
		}
	}
	if err := l.waitStreaming(ctx, p, standbys); err != nil {
		return p.Name, fmt.Errorf("restart primary: %w", err)
	}
	return p.Name, nil
}

// walsenders lists the primary's walsender processes with the standby each serves (from
// pg_stat_replication; "walsender <pid>" when the primary does not say).
func (l *Lab) walsenders(ctx context.Context, p Member) ([]int, []string) {
	var appPIDs []int32
	var apps []string
	_ = l.query(ctx, p.Name, "SELECT coalesce(array_agg(pid ORDER BY pid), '{}'), coalesce(array_agg(application_name::text ORDER BY pid), '{}') FROM pg_stat_replication", &appPIDs, &apps)
	var pids []int
	var names []string
	for _, c := range childrenOf(p.PID) {
		if !strings.Contains(c.Title(), "walsender") {
			continue
		}
		pids = append(pids, c.PID)
		name := "walsender " + strconv.Itoa(c.PID)
		if i := slices.Index(appPIDs, int32(c.PID)); i >= 0 && i < len(apps) {
			name = apps[i]
		}
		names = append(names, name)
	}
	return pids, names
}

// StallReplication stops (SIGSTOP) the primary's walsenders: standbys keep their connections but
// receive nothing, as over a congested cross-region link, and a synchronous primary's commits
// wait. It returns the standbys whose streams it stalled.
func (l *Lab) StallReplication(ctx context.Context) ([]string, error) {
	l.ops.Lock()
	defer l.ops.Unlock()
	p := l.Primary()
	if l.ProcessState(p.Name) != ProcRunning {
		return nil, fmt.Errorf("stall replication: primary %s is %v", p.Name, l.ProcessState(p.Name))
	}
	pids, names := l.walsenders(ctx, p)
	if len(pids) == 0 {
		return nil, fmt.Errorf("stall replication: primary %s has no walsender (no standby is streaming)", p.Name)
	}
	// Recorded now as well as before a kill: a stalled synchronous primary can run out of
	// connections (every writer waits), and the LSN read before the kill then fails.
	l.recordPrimaryLSN(ctx, p.Name)
	// Record before signalling, so a resume from another process finds them even if this fails.
	if err := l.update(func(st *State) { st.Stalled = append(st.Stalled, pids...) }); err != nil {
		return nil, err
	}
	for _, pid := range pids {
		if err := signal(pid, syscall.SIGSTOP); err != nil {
			return names, fmt.Errorf("stall replication: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, killGrace)
	defer cancel()
	err := waitFor(ctx, "walsenders to stop", func() bool {
		for _, pid := range pids {
			if pi, ok := labproc.Read(pid); ok && pi.State() == ProcRunning {
				return false
			}
		}
		return true
	})
	if err != nil {
		return names, fmt.Errorf("stall replication: %w", err)
	}
	return names, nil
}

// ResumeReplication continues (SIGCONT) the walsenders StallReplication stopped. Walsenders that
// are gone (the primary was killed) are skipped: there is nothing left to resume.
func (l *Lab) ResumeReplication(ctx context.Context) error {
	l.ops.Lock()
	defer l.ops.Unlock()
	var resumed []int
	for _, pid := range l.State().Stalled {
		pi, ok := labproc.Read(pid)
		if !ok || !pi.Alive() || !strings.Contains(pi.Title(), "walsender") {
			continue
		}
		if err := signal(pid, syscall.SIGCONT); err != nil {
			return fmt.Errorf("resume replication: %w", err)
		}
		resumed = append(resumed, pid)
	}
	ctx, cancel := context.WithTimeout(ctx, killGrace)
	defer cancel()
	err := waitFor(ctx, "walsenders to run", func() bool {
		for _, pid := range resumed {
			if pi, ok := labproc.Read(pid); ok && pi.State() == ProcStopped {
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("resume replication: %w", err)
	}
	return l.update(func(st *State) { st.Stalled = nil })
}

// Candidate is a standby considered for promotion.
type Candidate struct {
	Member     string
	ReplayLSN  string // pg_last_wal_replay_lsn(): what it has applied
	ReceiveLSN string // pg_last_wal_receive_lsn(): what it has received and flushed
	Err        error  // it did not answer
}

// PromoteResult is what Promote did.
type PromoteResult struct {
	Member     string // the promoted standby, now the primary
	Previous   string // the primary it replaced
	ReplayLSN  string // the promoted standby's replay LSN when chosen
	PrimaryLSN string // the old primary's last known LSN ("" when never seen)
	// Unreplicated is PrimaryLSN - ReplayLSN in bytes of WAL (0 when either is unknown): WAL the
	// old primary had that the new one never got.
	Unreplicated uint64
	Candidates   []Candidate
	Took         time.Duration // from the pg_promote call until the member took writes
	// Following lists the other standbys re-pointed at the new primary.
	Following []string
}

// Promote makes the most advanced standby (highest replay LSN) the primary, as a failover
// runbook would, and re-points the other standbys at it. It refuses while the old primary
// still runs: two writable members would split the data.
func (l *Lab) Promote(ctx context.Context) (PromoteResult, error) {
	l.ops.Lock()
	defer l.ops.Unlock()
	old := l.Primary()
	res := PromoteResult{Previous: old.Name}
	if st := l.ProcessState(old.Name); st != ProcExited {
		return res, fmt.Errorf("promote: primary %s is still %v; kill it first (postgres-kill-primary), or two members would take writes", old.Name, st)
	}
	res.PrimaryLSN = l.State().LastPrimaryLSN
	best, bestLSN := -1, uint64(0)
	for _, m := range l.Members() {
		if m.Role != RoleStandby || !l.Running(m.Name) {
			continue
		}
		c := Candidate{Member: m.Name}
		c.Err = l.query(ctx, m.Name, "SELECT coalesce(pg_last_wal_replay_lsn()::text, ''), coalesce(pg_last_wal_receive_lsn()::text, '')", &c.ReplayLSN, &c.ReceiveLSN)
		res.Candidates = append(res.Candidates, c)
		if c.Err != nil {
			continue
		}
		lsn, err := ParseLSN(c.ReplayLSN)
		if err != nil {
			continue
		}
		if best < 0 || lsn > bestLSN {
			best, bestLSN = len(res.Candidates)-1, lsn
		}
	}
	if best < 0 {
		return res, fmt.Errorf("promote: no running standby answered (%s)", candidateErrs(res.Candidates))
	}
	chosen := res.Candidates[best]
	res.Member, res.ReplayLSN = chosen.Member, chosen.ReplayLSN
	if p, err := ParseLSN(res.PrimaryLSN); err == nil && p > bestLSN {
		res.Unreplicated = p - bestLSN
	}
	began := time.Now()
	var promoted bool
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	err := l.queryNoTimeout(pctx, chosen.Member, "SELECT pg_promote(true, 60)", &promoted)
	cancel()
	if err != nil {
		return res, fmt.Errorf("promote standby %s: %w", chosen.Member, err)
	}
	if !promoted {
		return res, fmt.Errorf("promote standby %s: pg_promote did not finish within 60s:\n%s", chosen.Member, labproc.Tail(l.LogFile(chosen.Member), 10))
	}
	res.Took = time.Since(began)
	newPrimary, _ := l.Member(chosen.Member)
	if err := l.update(func(st *State) {
		st.Primary = chosen.Member
		st.Promotions++
		for i := range st.Members {
			switch st.Members[i].Name {
			case chosen.Member:
				st.Members[i].Role = RolePrimary
			case old.Name:
				st.Members[i].Role = RoleRetired
			}
		}
	}); err != nil {
		return res, err
	}
	res.Following, err = l.follow(ctx, newPrimary)
	if err != nil {
		return res, fmt.Errorf("promote standby %s: %w", chosen.Member, err)
	}
	l.log.Info("postgres standby promoted", "member", chosen.Member, "replayLSN", res.ReplayLSN, "primaryLSN", res.PrimaryLSN, "took", res.Took)
	return res, nil
}

// follow re-points the other running standbys at the new primary (primary_conninfo is reloadable
// and recovery_target_timeline defaults to latest, so they switch timelines) and, in a
// synchronous lab, makes the new primary's commits wait for one of them; with none left it
// commits alone, like a Multi-AZ database that lost its standby.
func (l *Lab) follow(ctx context.Context, p Member) ([]string, error) {
	var others []string
	for _, m := range l.Members() {
		if m.Role != RoleStandby || !l.Running(m.Name) {
			continue
		}
		if err := l.exec(ctx, m.Name, "ALTER SYSTEM SET primary_conninfo = "+quoteLiteral(primaryConninfo(m.Name, p.Port)), "SELECT pg_reload_conf()"); err != nil {
			return others, fmt.Errorf("re-point standby %s: %w", m.Name, err)
		}
		others = append(others, m.Name)
	}
	if !l.State().Synchronous {
		return others, l.setSyncStandbys(ctx, p, nil)
	}
	if len(others) > 0 {
		wctx, cancel := context.WithTimeout(ctx, syncWait)
		err := l.waitStreaming(wctx, p, others)
		cancel()
		if err != nil {
			return others, err
		}
	}
	return others, l.setSyncStandbys(ctx, p, others)
}

// queryNoTimeout is query bounded by ctx alone, for statements that wait on purpose.
func (l *Lab) queryNoTimeout(ctx context.Context, name, sql string, dest ...any) error {
	c, err := l.connect(ctx, name)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	return c.QueryRow(ctx, sql).Scan(dest...)
}

func candidateErrs(cs []Candidate) string {
	if len(cs) == 0 {
		return "no standby is running"
	}
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s: %v", c.Member, c.Err))
	}
	return strings.Join(parts, "; ")
}

// MemberStatus is what `drill lab status --postgres` shows for one member.
type MemberStatus struct {
	Member
	Process    string // running, stopped or exited
	InRecovery bool   // a standby still replaying (valid when Err is nil and Process is running)
	// LSN is pg_current_wal_lsn() on a primary, pg_last_wal_replay_lsn() on a standby.
	LSN string
	// Replicas are the primary's pg_stat_replication rows, "name state sync_state".
	Replicas []string
	Err      error
}

// Status reports every member's process state and, for running members, its role and position.
func (l *Lab) Status(ctx context.Context) ([]MemberStatus, error) {
	var out []MemberStatus
	for _, m := range l.Members() {
		s := MemberStatus{Member: m, Process: l.ProcessState(m.Name).String()}
		if s.Process == ProcRunning.String() {
			s.Err = l.query(ctx, m.Name, `SELECT pg_is_in_recovery(),
				CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_replay_lsn()::text, '') ELSE pg_current_wal_lsn()::text END,
				coalesce((SELECT array_agg(application_name || ' ' || state || ' ' || sync_state ORDER BY application_name) FROM pg_stat_replication), '{}')`,
				&s.InRecovery, &s.LSN, &s.Replicas)
			if s.Err == nil && !s.InRecovery && m.Name == l.State().Primary {
				lsn := s.LSN
				if err := l.update(func(st *State) { st.LastPrimaryLSN = lsn }); err != nil {
					return out, err
				}
			}
		}
		out = append(out, s)
	}
	return out, nil
}
