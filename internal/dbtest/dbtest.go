// Package dbtest starts throwaway PostgreSQL and MariaDB servers for tests: loopback only, a
// free port, data in a fresh temp dir, stopped and removed in t.Cleanup. Both servers refuse to
// run as root, so under root (CI) they run as the postgres / mysql system user.
//
// A test skips when the server binaries are missing, except under CI=true, where it fails: CI
// installs them (scripts/ci-deps.sh) and a silent skip there would hide a broken setup.
package dbtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drillhq/drill/backends/sqlenv"
	"github.com/drillhq/drill/internal/labproc"
)

// Password is the password of the test servers' superuser, so tests can check it never shows.
const Password = "s3cret-Dr1ll-pw"

// Server is one running throwaway database server.
type Server struct {
	Driver sqlenv.Driver
	Port   int
	Dir    string // owned by the server's user; removed in t.Cleanup

	user    string // superuser name in DSNs
	dbname  string
	argv    []string
	cred    *syscall.SysProcAttr
	logPath string
	sp      *labproc.Spawner
	proc    *os.Process
	exited  chan struct{}
}

// DSN connects as the superuser over loopback TCP, with Password.
func (s *Server) DSN() string { return s.DSNWithPassword(Password) }

// DSNWithPassword is DSN with another password, e.g. a wrong one.
func (s *Server) DSNWithPassword(pw string) string {
	if s.Driver == sqlenv.Postgres {
		return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=5", s.user, pw, s.Port, s.dbname)
	}
	return fmt.Sprintf("%s:%s@tcp(127.0.0.1:%d)/%s?timeout=5s", s.user, pw, s.Port, s.dbname)
}

// Open returns a pool to the server as superuser, closed in t.Cleanup.
func (s *Server) Open(t testing.TB) *sqlenv.DB {
	t.Helper()
	db, err := sqlenv.Open(s.Driver, s.DSN(), sqlenv.DefaultPool())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Exec runs statements as superuser on a fresh connection, failing the test on error.
func (s *Server) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	db, err := sqlenv.Open(s.Driver, s.DSN(), sqlenv.Pool{MaxOpen: 1, MaxIdle: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, q := range stmts {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, db.Err("exec", err))
		}
	}
}

// need returns path if it exists, or skips (fails under CI=true) naming what is missing.
func need(t testing.TB, what string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			if lp, err := exec.LookPath(p); err == nil {
				return lp
			}
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found (looked for %s); install it with scripts/ci-deps.sh", what, strings.Join(paths, ", "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: not skipping)")
	}
	t.Skip(msg)
	return ""
}

// runAs returns process attributes that drop root to the named system user, or plain ones
// when not root. The servers refuse to run as root.
func runAs(t testing.TB, name string) (*syscall.SysProcAttr, int, int) {
	t.Helper()
	if os.Getuid() != 0 {
		return &syscall.SysProcAttr{}, os.Getuid(), os.Getgid()
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("running as root, and the %s system user to run the server as is missing: %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}}, uid, gid
}

// tempDir makes a directory the server's user owns. t.TempDir cannot be used: its parent is
// private to root, so a dropped-privilege server could not reach it.
func tempDir(t testing.TB, uid, gid int) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "drill-dbtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// run runs a setup command (initdb, install-db) as the server's user, with its output in the
// failure message.
func run(t testing.TB, attr *syscall.SysProcAttr, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = attr
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// newSpawner starts servers from one locked OS thread (labproc.Spawner says why), ended with
// the test.
func newSpawner(t testing.TB) *labproc.Spawner {
	sp := labproc.NewSpawner()
	t.Cleanup(sp.Stop)
	return sp
}

// Start (re)starts the server process on its data dir and waits until it accepts queries.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if s.proc != nil {
		t.Fatal("dbtest: server already running")
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	attr := *s.cred
	attr.Setsid = true
	attr.Pdeathsig = syscall.SIGKILL // a crashed test leaves no server behind
	cmd.SysProcAttr = &attr
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	err = s.start(cmd)
	if err != nil {
		t.Fatalf("start %s: %v", s.argv[0], err)
	}
	s.proc = cmd.Process
	s.exited = make(chan struct{})
	exited := s.exited
	go func() { cmd.Wait(); close(exited) }()
	if err := s.waitReady(exited); err != nil {
		s.Stop(t)
		t.Fatalf("%s did not become ready: %v\n--- server log ---\n%s", s.Driver, err, tail(s.logPath))
	}
}

func (s *Server) waitReady(exited <-chan struct{}) error {
	db, err := sqlenv.Open(s.Driver, s.DSN(), sqlenv.Pool{MaxOpen: 1})
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.Query(ctx, "SELECT 1")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("server exited")
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts the server down cleanly, killing it if it takes over 20 s. PostgreSQL gets
// SIGINT (fast shutdown: SIGTERM would wait for every client to disconnect), MariaDB SIGTERM.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.proc == nil {
		return
	}
	s.signal(syscall.SIGCONT) // a frozen server cannot act on a shutdown signal
	if s.Driver == sqlenv.Postgres {
		_ = s.proc.Signal(syscall.SIGINT)
	} else {
		_ = s.proc.Signal(syscall.SIGTERM)
	}
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		s.signal(syscall.SIGKILL)
		<-s.exited
		t.Errorf("%s did not stop within 20s; killed", s.Driver)
	}
	// PostgreSQL backends may outlive the postmaster for a moment; none may linger.
	s.signal(syscall.SIGKILL)
	s.proc = nil
}

// Freeze stops the server process (SIGSTOP): connections stay open but nothing answers, the
// way a hung host looks. Thaw resumes it.
func (s *Server) Freeze() { s.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server.
func (s *Server) Thaw() { s.signal(syscall.SIGCONT) }

// signal signals the server and all its child processes. PostgreSQL serves each connection
// from a child that calls setsid, so neither the process nor its group reaches them.
func (s *Server) signal(sig syscall.Signal) {
	if s.proc == nil {
		return
	}
	_ = syscall.Kill(s.proc.Pid, sig)
	for _, pid := range children(s.proc.Pid) {
		_ = syscall.Kill(pid, sig)
	}
}

// CPUTime is the CPU (user+system) the server has used so far: its main process, its live
// children and the children it has reaped. Sampled before and after a load, the difference is
// what the load cost the server. Assumes the usual 100 clock ticks per second.
func (s *Server) CPUTime() time.Duration {
	if s.proc == nil {
		return 0
	}
	ticks := procTicks(s.proc.Pid, true)
	for _, pid := range children(s.proc.Pid) {
		ticks += procTicks(pid, true)
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// procTicks reads utime+stime (and, with reaped, cutime+cstime) from /proc/pid/stat.
func procTicks(pid int, reaped bool) int64 {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return 0
	}
	// After "comm)": state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 15 {
		return 0
	}
	var sum int64
	fields := []int{11, 12}
	if reaped {
		fields = append(fields, 13, 14)
	}
	for _, k := range fields {
		n, _ := strconv.ParseInt(f[k], 10, 64)
		sum += n
	}
	return sum
}

// children lists the direct children of pid from /proc (PostgreSQL backends are never nested).
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may contain spaces and parentheses.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// Pid is the server's process id (0 when stopped), e.g. to read its CPU time.
func (s *Server) Pid() int {
	if s.proc == nil {
		return 0
	}
	return s.proc.Pid
}

// start starts cmd on the server's spawner thread.
func (s *Server) start(cmd *exec.Cmd) error {
	var err error
	if !s.sp.Do(func() { err = cmd.Start() }) {
		return labproc.ErrStopped
	}
	return err
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// PostgresOptions tunes a throwaway PostgreSQL server.
type PostgresOptions struct {
	// Fsync keeps fsync and synchronous_commit on, as in production; off by default so tests
	// are not bound by the disk.
	Fsync bool
}

// Postgres starts a single PostgreSQL server (superuser "postgres", database "postgres").
func Postgres(t testing.TB, opts PostgresOptions) *Server {
	t.Helper()
	bindir := pgBinDir()
	initdb := need(t, "PostgreSQL initdb", filepath.Join(bindir, "initdb"))
	postgres := need(t, "PostgreSQL server", filepath.Join(bindir, "postgres"))
	attr, uid, gid := runAs(t, "postgres")
	dir := tempDir(t, uid, gid)
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(pwfile, uid, gid); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	run(t, attr, initdb, "-D", data, "-U", "postgres", "--pwfile="+pwfile, "--auth=scram-sha-256", "-E", "UTF8", "--no-sync", "--no-instructions")
	s := &Server{Driver: sqlenv.Postgres, Dir: dir, Port: freePort(t), user: "postgres", dbname: "postgres", cred: attr, logPath: filepath.Join(dir, "server.log"), sp: newSpawner(t)}
	s.argv = []string{postgres, "-D", data, "-p", strconv.Itoa(s.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + dir,
		"-c", "max_connections=100", "-c", "shared_buffers=16MB"}
	if !opts.Fsync {
		s.argv = append(s.argv, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	t.Cleanup(func() { s.Stop(t) })
	s.Start(t)
	return s
}

// RestartAsStandby restarts a PostgreSQL server in standby mode (standby.signal, no primary):
// it comes up in recovery, read-only, which is what a replica looks like to a client.
func (s *Server) RestartAsStandby(t testing.TB) {
	t.Helper()
	s.Stop(t)
	sig := filepath.Join(s.Dir, "data", "standby.signal")
	if err := os.WriteFile(sig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, uid, gid := runAs(t, "postgres")
	if err := os.Chown(sig, uid, gid); err != nil {
		t.Fatal(err)
	}
	s.Start(t)
}

// pgBinDir asks pg_config, then falls back to Debian's versioned directories, newest first.
func pgBinDir() string {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); d != "" {
			if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
				return d
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestV := "", -1
	for _, d := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err == nil && v > bestV {
			best, bestV = d, v
		}
	}
	if best == "" {
		return "/usr/lib/postgresql/bin"
	}
	return best
}

// MariaDB starts a MariaDB server with a superuser "drill" (password Password) and an empty
// database "drill".
func MariaDB(t testing.TB) *Server {
	t.Helper()
	mariadbd := need(t, "MariaDB server", "mariadbd", "/usr/sbin/mariadbd", "mysqld", "/usr/sbin/mysqld")
	install := need(t, "mariadb-install-db", "mariadb-install-db", "/usr/bin/mariadb-install-db", "mysql_install_db")
	attr, uid, gid := runAs(t, "mysql")
	dir := tempDir(t, uid, gid)
	data := filepath.Join(dir, "data")
	// root@localhost without a password, reachable only over the unix socket: used once to
	// create the TCP superuser the tests use.
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, uid, gid); err != nil {
		t.Fatal(err)
	}
	installDB(t, attr, install, data, tmp)
	s := &Server{Driver: sqlenv.MySQL, Dir: dir, Port: freePort(t), user: "drill", dbname: "drill", cred: attr, logPath: filepath.Join(dir, "server.log"), sp: newSpawner(t)}
	sock := filepath.Join(dir, "sock")
	s.argv = []string{mariadbd, "--no-defaults", "--datadir=" + data, "--port=" + strconv.Itoa(s.Port),
		"--bind-address=127.0.0.1", "--socket=" + sock, "--pid-file=" + filepath.Join(dir, "pid"),
		"--skip-name-resolve", "--innodb-buffer-pool-size=16M", "--max-connections=200", "--tmpdir=" + tmp,
		"--log-error=" + s.logPath}
	t.Cleanup(func() { s.Stop(t) })
	if err := s.bootstrap(t, sock); err != nil {
		t.Fatalf("mariadb: %v\n--- server log ---\n%s", err, tail(s.logPath))
	}
	return s
}

// installDB creates the system tables. The Debian 10.11 bootstrap has been seen to segfault
// now and then while creating the sys schema's views (in an Aria temporary table, with
// several servers bootstrapping at once on two cores), so a failed install is retried once on
// a clean data dir before the test fails.
func installDB(t testing.TB, attr *syscall.SysProcAttr, install, data, tmp string) {
	t.Helper()
	args := []string{"--no-defaults", "--datadir=" + data, "--tmpdir=" + tmp, "--auth-root-authentication-method=normal", "--skip-test-db"}
	var out []byte
	var err error
	for attempt := 1; attempt <= 2; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, install, args...)
		cmd.SysProcAttr = attr
		cmd.Dir = "/"
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		out, err = cmd.CombinedOutput()
		cancel()
		if err == nil {
			return
		}
		t.Logf("mariadb-install-db attempt %d failed: %v", attempt, err)
		if rerr := os.RemoveAll(data); rerr != nil {
			t.Fatal(rerr)
		}
	}
	t.Fatalf("%s %s: %v\n%s", install, strings.Join(args, " "), err, out)
}

// bootstrap starts the server and creates the drill user and database over the socket.
func (s *Server) bootstrap(t testing.TB, sock string) error {
	t.Helper()
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	logf.Close()
	uid, gid := 0, 0
	if c := s.cred.Credential; c != nil {
		uid, gid = int(c.Uid), int(c.Gid)
	}
	if os.Getuid() == 0 {
		if err := os.Chown(s.logPath, uid, gid); err != nil {
			return err
		}
	}
	// Start without waiting for the drill user (Start's readiness check logs in as it).
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	attr := *s.cred
	attr.Setsid = true
	attr.Pdeathsig = syscall.SIGKILL
	cmd.SysProcAttr = &attr
	cmd.Dir = "/"
	err = s.start(cmd)
	if err != nil {
		return fmt.Errorf("start %s: %w", s.argv[0], err)
	}
	s.proc = cmd.Process
	s.exited = make(chan struct{})
	exited := s.exited
	go func() { cmd.Wait(); close(exited) }()

	rootDB, err := sqlenv.Open(sqlenv.MySQL, "root@unix("+sock+")/", sqlenv.Pool{MaxOpen: 1})
	if err != nil {
		return err
	}
	defer rootDB.Close()
	root := rootDB.SQL()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = root.PingContext(ctx)
		cancel()
		if err == nil {
			break
		}
		select {
		case <-exited:
			return errors.New("server exited during start")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after 60s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, q := range []string{
		"CREATE USER 'drill'@'127.0.0.1' IDENTIFIED BY '" + Password + "'",
		"GRANT ALL PRIVILEGES ON *.* TO 'drill'@'127.0.0.1' WITH GRANT OPTION",
		"CREATE DATABASE drill",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := root.ExecContext(ctx, q)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return s.waitReady(exited)
}
