package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// TCPConfig is the `with:` block of a tcp probe.
type TCPConfig struct {
	Address string `yaml:"address" doc:"host:port to connect to (required)"`
}

// Validate implements scenarios.Validator.
func (c *TCPConfig) Validate() error {
	if c.Address == "" {
		return scenarios.FieldErrorf("address", "required (host:port)")
	}
	host, port, err := net.SplitHostPort(c.Address)
	if err != nil {
		return scenarios.FieldErrorf("address", "want host:port, got %q", c.Address)
	}
	if host == "" {
		return scenarios.FieldErrorf("address", "%q has no host", c.Address)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return scenarios.FieldErrorf("address", "port must be a number from 1 to 65535, got %q", port)
	}
	return nil
}

// TCPType is the `tcp` probe: healthy when a TCP connection can be opened.
func TCPType() runner.ProbeType {
	return runner.NewProbeType("tcp", "TCP connect; healthy when the connection is accepted",
		func() *TCPConfig { return &TCPConfig{} },
		func(cfg *TCPConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			return &tcpProbe{address: cfg.Address, timeout: spec.Timeout}, nil
		})
}

type tcpProbe struct {
	address string
	timeout time.Duration
	dialer  net.Dialer
}

// Check opens and immediately closes one connection.
func (p *tcpProbe) Check(ctx context.Context) error {
	conn, err := p.dialer.DialContext(ctx, "tcp", p.address)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && p.timeout > 0 {
			return fmt.Errorf("dial tcp %s: timed out after %v", p.address, p.timeout)
		}
		return trimNetError(err)
	}
	return conn.Close()
}
