// Package lstest gives integration tests an AWS emulator. DRILL_TEST_EMULATOR chooses one:
// "moto" (a moto server from .venv) or "localstack" (LocalStack's community runtime from
// .venv-localstack, on the host), each on a free loopback port; a chosen emulator that cannot
// start fails the test rather than skipping it. Unset, it is the endpoint in AWS_ENDPOINT_URL
// when set, else LocalStack in a container where a Docker engine answers, else moto; tests
// skip, saying why, only when none of these can start. It lives apart from package localstack
// so the drill binary does not link testcontainers.
package lstest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tclocalstack "github.com/testcontainers/testcontainers-go/modules/localstack"

	"github.com/drillhq/drill/localstack"
)

// LocalStackImage is the LocalStack image used where Docker exists.
const LocalStackImage = "localstack/localstack:4.4"

// EnvEmulator chooses the emulator: EmulatorMoto or EmulatorLocalStack.
const EnvEmulator = "DRILL_TEST_EMULATOR"

// Kinds of emulator.
const (
	KindExternal       = "external" // AWS_ENDPOINT_URL
	KindLocalStack     = "localstack-docker"
	KindLocalStackHost = localstack.EmulatorLocalStack // community runtime on the host
	KindMoto           = localstack.EmulatorMoto
)

// Emulator is a running AWS emulator.
type Emulator struct {
	Endpoint string
	Kind     string

	server    *localstack.Server // moto or LocalStack on the host
	container *tclocalstack.LocalStackContainer
	served    map[string]bool // LocalStack's services; nil: serves all the drills use
}

// Chosen is the emulator DRILL_TEST_EMULATOR names, or "" when unset.
func Chosen() (string, error) {
	switch v := os.Getenv(EnvEmulator); v {
	case "", KindMoto, KindLocalStackHost:
		return v, nil
	default:
		return "", fmt.Errorf("%s=%q: want %s or %s", EnvEmulator, v, KindMoto, KindLocalStackHost)
	}
}

// Start starts (or finds) an emulator.
func Start(ctx context.Context) (*Emulator, error) {
	chosen, err := Chosen()
	if err != nil {
		return nil, err
	}
	switch chosen {
	case KindMoto:
		return StartMoto(ctx)
	case KindLocalStackHost:
		return StartLocalStackHost(ctx)
	}
	if ep := os.Getenv("AWS_ENDPOINT_URL"); ep != "" {
		return &Emulator{Endpoint: ep, Kind: KindExternal}, nil
	}
	var reasons []string
	if err := DockerAvailable(ctx); err == nil {
		e, err := startLocalStack(ctx)
		if err == nil {
			return e, nil
		}
		reasons = append(reasons, "LocalStack: "+err.Error())
	} else {
		reasons = append(reasons, "LocalStack: "+err.Error())
	}
	e, err := StartMoto(ctx)
	if err == nil {
		return e, nil
	}
	reasons = append(reasons, "moto: "+err.Error())
	return nil, errors.New(strings.Join(reasons, "; "))
}

// StartOwn starts an emulator of the test's own (tests that stop and restart it, or need a
// fresh one): the chosen one, moto by default.
func StartOwn(ctx context.Context) (*Emulator, error) {
	chosen, err := Chosen()
	if err != nil {
		return nil, err
	}
	if chosen == KindLocalStackHost {
		return StartLocalStackHost(ctx)
	}
	return StartMoto(ctx)
}

// StartLocalStackHost starts LocalStack's community runtime of its own on the host.
func StartLocalStackHost(ctx context.Context) (*Emulator, error) {
	var last error
	for range 3 { // the free port may be taken between choosing and binding it
		s, err := localstack.StartLocalStack(ctx, localstack.LocalStackOptions{Log: logWriter()})
		if err == nil {
			served, err := localstack.Services(ctx, s.Endpoint)
			if err != nil {
				_ = s.Stop()
				return nil, err
			}
			return &Emulator{Endpoint: s.Endpoint, Kind: KindLocalStackHost, server: s, served: served}, nil
		}
		if !errors.Is(err, localstack.ErrExitedEarly) || ctx.Err() != nil {
			return nil, err // only a lost port race is worth another slow start
		}
		last = err
	}
	return nil, last
}

// logWriter is where a host LocalStack's output goes: DRILL_TEST_EMULATOR_LOG names a file to
// append to (for debugging a failing run), else it is discarded.
func logWriter() io.Writer {
	if p := os.Getenv("DRILL_TEST_EMULATOR_LOG"); p != "" {
		if f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
			return f // closed at process exit: tests start few emulators
		}
	}
	return nil
}

// Serves reports whether the emulator serves service (LocalStack's name for it, as in
// Require); moto and external endpoints are taken to serve everything the drills use.
func (e *Emulator) Serves(service string) bool { return e.served == nil || e.served[service] }

// Require skips the test when the emulator does not serve service (LocalStack's service
// name, as its health endpoint lists it: "autoscaling", "rds", "dynamodb", ...).
func (e *Emulator) Require(t testing.TB, services ...string) {
	t.Helper()
	if e.served == nil {
		return
	}
	for _, s := range services {
		if !e.Serves(s) {
			t.Skipf("%s does not serve %s", e.Name(), s)
		}
	}
}

// BugRoute53FalseFlags is LocalStack's: its GetHealthCheck reads back an explicit
// Inverted=false or Disabled=false (from Create- or UpdateHealthCheck) as true. Its Route 53 is
// moto's, which keeps the request's string "false"; LocalStack serializes that non-empty
// string as the boolean true.
const BugRoute53FalseFlags = "Route 53 GetHealthCheck reports an explicit Inverted=false or Disabled=false as true"

// KnownBug skips the test when DRILL_TEST_EMULATOR chose the emulator kind whose bug it
// names, before any emulator starts.
func KnownBug(t testing.TB, kind, bug string) {
	t.Helper()
	if chosen, _ := Chosen(); chosen == kind {
		t.Skipf("known %s bug: %s", (&Emulator{Kind: kind}).Name(), bug)
	}
}

// SkipUnserved skips the test, before any emulator starts, when DRILL_TEST_EMULATOR chose
// LocalStack's host runtime and services are not among those it is started with (so a test
// that would only skip after a start of a minute or more on a busy machine does not pay for
// it). Emulator.Require asks the running emulator itself.
func SkipUnserved(t testing.TB, services ...string) {
	t.Helper()
	if chosen, _ := Chosen(); chosen != KindLocalStackHost {
		return
	}
	served := strings.Split(localstack.LocalStackServices, ",")
	for _, s := range services {
		if !slices.Contains(served, s) {
			t.Skipf("%s does not serve %s", (&Emulator{Kind: KindLocalStackHost}).Name(), s)
		}
	}
}

// Name describes the emulator for skip messages.
func (e *Emulator) Name() string {
	switch e.Kind {
	case KindLocalStackHost:
		return "LocalStack's community runtime (host)"
	case KindLocalStack:
		return "LocalStack (Docker)"
	}
	return e.Kind
}

// StartMoto starts a moto server of its own.
func StartMoto(ctx context.Context) (*Emulator, error) {
	var last error
	for range 3 { // the free port may be taken between choosing and binding it
		s, err := localstack.StartMoto(ctx, localstack.MotoOptions{})
		if err == nil {
			return &Emulator{Endpoint: s.Endpoint, Kind: KindMoto, server: s}, nil
		}
		if errors.Is(err, localstack.ErrNoMoto) {
			return nil, err
		}
		last = err
	}
	return nil, last
}

func startLocalStack(ctx context.Context) (*Emulator, error) {
	c, err := tclocalstack.Run(ctx, LocalStackImage)
	if err != nil {
		if c != nil {
			_ = testcontainers.TerminateContainer(c)
		}
		return nil, err
	}
	ep, err := c.PortEndpoint(ctx, "4566/tcp", "http")
	if err != nil {
		_ = testcontainers.TerminateContainer(c)
		return nil, err
	}
	return &Emulator{Endpoint: ep, Kind: KindLocalStack, container: c}, nil
}

// Stop stops an emulator this package started; an external one is left alone.
func (e *Emulator) Stop() error {
	switch {
	case e.server != nil:
		return e.server.Stop()
	case e.container != nil:
		return testcontainers.TerminateContainer(e.container)
	}
	return nil
}

// Pause makes the endpoint unreachable; Resume brings it back on the same endpoint. Both
// emulators keep no state across the pause (moto's state is in memory), like a fresh region.
func (e *Emulator) Pause(ctx context.Context) error {
	switch {
	case e.server != nil && e.Kind == KindLocalStackHost:
		return errors.New("LocalStack's host runtime is not paused: a restart takes it longer than the tests wait")
	case e.server != nil:
		return e.server.Stop()
	case e.container != nil:
		d := 10 * time.Second
		return e.container.Stop(ctx, &d)
	}
	return errors.New("cannot stop an external emulator (AWS_ENDPOINT_URL)")
}

// Resume restarts a paused emulator on the same endpoint.
func (e *Emulator) Resume(ctx context.Context) error {
	switch {
	case e.server != nil && e.Kind == KindLocalStackHost:
		return errors.New("LocalStack's host runtime is never paused")
	case e.server != nil:
		s, err := localstack.StartMoto(ctx, localstack.MotoOptions{Port: e.server.Port})
		if err != nil {
			return err
		}
		e.server = s
		return nil
	case e.container != nil:
		if err := e.container.Start(ctx); err != nil {
			return err
		}
		ep, err := e.container.PortEndpoint(ctx, "4566/tcp", "http")
		if err != nil {
			return err
		}
		if ep != e.Endpoint {
			return fmt.Errorf("LocalStack came back on %s, not %s", ep, e.Endpoint)
		}
		return nil
	}
	return errors.New("cannot restart an external emulator (AWS_ENDPOINT_URL)")
}

// DockerAvailable reports whether a Docker engine answers on DOCKER_HOST or the default socket.
func DockerAvailable(ctx context.Context) error {
	network, addr := "unix", "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		u, err := url.Parse(h)
		if err != nil {
			return fmt.Errorf("DOCKER_HOST %q: %w", h, err)
		}
		switch u.Scheme {
		case "unix":
			addr = u.Path
		case "tcp":
			network, addr = "tcp", u.Host
		default:
			return fmt.Errorf("DOCKER_HOST %q: unsupported scheme", h)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("no Docker engine at %s %s", network, addr)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("docker engine at %s answered %s", addr, resp.Status)
	}
	return nil
}

// ForTest starts an emulator of the test's own with start (Start or StartOwn) and stops it
// when the test ends. One that cannot start fails the test when DRILL_TEST_EMULATOR chose it
// (a CI run against that emulator must not pass by skipping), and skips it otherwise.
func ForTest(t testing.TB, start func(context.Context) (*Emulator, error)) *Emulator {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e, err := start(ctx)
	if err != nil {
		if chosen, _ := Chosen(); chosen != "" {
			t.Fatalf("%s=%s could not start: %v", EnvEmulator, chosen, err)
		}
		t.Skipf("no AWS emulator could start (run `make moto`): %v", err)
	}
	t.Cleanup(func() { _ = e.Stop() })
	return e
}

// Shared starts one emulator for a test package on first use and stops it from TestMain.
//
//	var emu lstest.Shared
//	func TestMain(m *testing.M) { code := m.Run(); emu.Close(); os.Exit(code) }
//	func TestX(t *testing.T) { e := emu.Get(t) ... }
type Shared struct {
	once sync.Once
	emu  *Emulator
	err  error
}

// Get returns the package's emulator, or skips the test with the reason none could start.
func (s *Shared) Get(t testing.TB) *Emulator {
	t.Helper()
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		s.emu, s.err = Start(ctx)
	})
	if s.err != nil {
		if chosen, _ := Chosen(); chosen != "" {
			t.Fatalf("%s=%s could not start: %v", EnvEmulator, chosen, s.err)
		}
		t.Skipf("no AWS emulator could start (%v)", s.err)
	}
	return s.emu
}

// Close stops the emulator if one was started.
func (s *Shared) Close() {
	if s.emu != nil {
		_ = s.emu.Stop()
	}
}
