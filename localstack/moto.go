package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// EnvMotoServer names the moto_server executable explicitly; otherwise FindMotoServer looks in
// the project venv (.venv/bin/moto_server in this or a parent directory) and then on PATH.
const EnvMotoServer = "DRILL_MOTO_SERVER"

// ErrNoMoto means no moto_server executable was found.
var ErrNoMoto = errors.New("moto_server not found: run localstack/install-moto.sh (creates .venv) or set " + EnvMotoServer)

// ErrExitedEarly means the emulator exited before it answered: most often its port was taken
// between choosing and binding it, so a start on another port may succeed.
var ErrExitedEarly = errors.New("exited before it was ready")

// FindMotoServer locates the moto_server executable.
func FindMotoServer(getenv func(string) string) (string, error) {
	p, err := findExecutable(getenv, EnvMotoServer, filepath.Join(".venv", "bin", "moto_server"))
	if p != "" || err != nil {
		return p, err
	}
	if p, err := exec.LookPath("moto_server"); err == nil {
		return p, nil
	}
	return "", ErrNoMoto
}

// findExecutable returns the file the environment variable env names, which must be
// executable, or else the executable rel (a path in a project venv) under the working
// directory or the nearest parent that has it; "" when there is none.
func findExecutable(getenv func(string) string, env, rel string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if p := getenv(env); p != "" {
		if isExecutable(p) {
			return p, nil
		}
		return "", fmt.Errorf("%s=%s: not an executable file", env, p)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", nil
	}
	for range 64 { // bounded: a path has far fewer levels
		p := filepath.Join(dir, rel)
		if isExecutable(p) {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// MotoOptions configure StartMoto.
type MotoOptions struct {
	// Path to moto_server; FindMotoServer when empty.
	Path string
	// Port to listen on (127.0.0.1); a free port when zero.
	Port int
	// Log receives the server's output (discarded when nil).
	Log io.Writer
	// Detach starts the server in its own session so it outlives this process (the lab).
	Detach bool
	// ReadyTimeout bounds the wait for the first answer (default 60s: moto imports a lot of
	// Python on a cold start, slowly on a busy 2-core machine).
	ReadyTimeout time.Duration
}

// Server is a running emulator: a moto server or LocalStack's host runtime.
type Server struct {
	Endpoint string
	Port     int
	Name     string // EmulatorMoto or EmulatorLocalStack
	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
	tmpDir   string // removed by Stop
}

// StartMoto starts moto_server on 127.0.0.1 and waits until it answers.
func StartMoto(ctx context.Context, o MotoOptions) (*Server, error) {
	path := o.Path
	if path == "" {
		var err error
		if path, err = FindMotoServer(nil); err != nil {
			return nil, err
		}
	}
	timeout := o.ReadyTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	return startEmulator(ctx, emulatorStart{name: EmulatorMoto, what: path, port: o.Port, log: o.Log, detach: o.Detach, readyTimeout: timeout},
		func(port int) *exec.Cmd {
			return exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		})
}

// emulatorStart is what starting either emulator takes besides its command.
type emulatorStart struct {
	name         string // EmulatorMoto or EmulatorLocalStack
	what         string // the program, as start errors name it
	port         int    // 127.0.0.1 port; a free one when zero
	log          io.Writer
	detach       bool
	readyTimeout time.Duration
	tmpDir       string // removed by Stop, or at once if the start fails
}

// startEmulator picks the port, starts the command made for it and waits until the emulator
// answers HTTP; on failure nothing is left running.
func startEmulator(ctx context.Context, e emulatorStart, command func(port int) *exec.Cmd) (_ *Server, err error) {
	defer func() {
		if err != nil && e.tmpDir != "" {
			_ = os.RemoveAll(e.tmpDir)
		}
	}()
	port := e.port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	cmd := command(port)
	out := e.log
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	// A process group of its own lets Stop reach the server's worker processes too; Setsid
	// additionally detaches a lab server from the terminal that started it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: !e.detach, Setsid: e.detach}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", e.what, err)
	}
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port, Name: e.name,
		cmd: cmd, exited: make(chan struct{}), tmpDir: e.tmpDir}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, e.readyTimeout); err != nil {
		_ = s.Stop() // removes tmpDir
		return nil, err
	}
	return s, nil
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("%s on port %d: %w: %v", s.Name, s.Port, ErrExitedEarly, s.waitErr)
		default:
		}
		if Ready(ctx, s.Endpoint) == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s on port %d not ready after %v", s.Name, s.Port, timeout)
		case <-s.exited:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Ready reports whether an emulator answers HTTP at endpoint. Any HTTP answer counts: moto and
// LocalStack both answer unsigned requests with some status once they are up.
func Ready(ctx context.Context, endpoint string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/moto-api/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// Stop terminates the server and waits for it, killing it if SIGTERM is not enough.
func (s *Server) Stop() error {
	if s.tmpDir != "" {
		defer os.RemoveAll(s.tmpDir)
	}
	select {
	case <-s.exited:
		return nil
	default:
	}
	pid := s.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	grace := 5 * time.Second
	if s.Name == EmulatorLocalStack {
		// LocalStack's runtime answers SIGTERM with a shutdown that hangs at "Stopping all
		// services" (seen for minutes); it keeps nothing worth a clean exit.
		grace = 2 * time.Second
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-s.exited:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("%s pid %d did not exit", s.Name, pid)
	}
}

// FreePort asks the kernel for a free loopback TCP port. Another process may take it before
// it is used; callers starting a server on it retry on failure.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
