// Package lstest gives integration tests an AWS emulator: the endpoint in AWS_ENDPOINT_URL
// when set, else LocalStack in a container where a Docker engine answers, else a moto server
// from the project venv on a free loopback port. Tests skip, saying why, only when none of
// these can start. It lives apart from package localstack so the drill binary does not link
// testcontainers.
package lstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
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

// Kinds of emulator.
const (
	KindExternal   = "external" // AWS_ENDPOINT_URL
	KindLocalStack = "localstack"
	KindMoto       = "moto"
)

// Emulator is a running AWS emulator.
type Emulator struct {
	Endpoint string
	Kind     string

	moto      *localstack.Server
	container *tclocalstack.LocalStackContainer
}

// Start starts (or finds) an emulator.
func Start(ctx context.Context) (*Emulator, error) {
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

// StartMoto starts a moto server of its own (tests that stop and restart the emulator).
func StartMoto(ctx context.Context) (*Emulator, error) {
	var last error
	for range 3 { // the free port may be taken between choosing and binding it
		s, err := localstack.StartMoto(ctx, localstack.MotoOptions{})
		if err == nil {
			return &Emulator{Endpoint: s.Endpoint, Kind: KindMoto, moto: s}, nil
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
	case e.moto != nil:
		return e.moto.Stop()
	case e.container != nil:
		return testcontainers.TerminateContainer(e.container)
	}
	return nil
}

// Pause makes the endpoint unreachable; Resume brings it back on the same endpoint. Both
// emulators keep no state across the pause (moto's state is in memory), like a fresh region.
func (e *Emulator) Pause(ctx context.Context) error {
	switch {
	case e.moto != nil:
		return e.moto.Stop()
	case e.container != nil:
		d := 10 * time.Second
		return e.container.Stop(ctx, &d)
	}
	return errors.New("cannot stop an external emulator (AWS_ENDPOINT_URL)")
}

// Resume restarts a paused emulator on the same endpoint.
func (e *Emulator) Resume(ctx context.Context) error {
	switch {
	case e.moto != nil:
		s, err := localstack.StartMoto(ctx, localstack.MotoOptions{Port: e.moto.Port})
		if err != nil {
			return err
		}
		e.moto = s
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
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		s.emu, s.err = Start(ctx)
	})
	if s.err != nil {
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
