package probes

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

func TestTCPProbe(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	closed := closedPort(t)
	expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	t.Cleanup(cancel)

	tests := []struct {
		name    string
		addr    string
		ctx     context.Context
		wantErr string
	}{
		{name: "listening", addr: l.Addr().String(), ctx: t.Context()},
		{name: "closed port", addr: closed, ctx: t.Context(), wantErr: "dial tcp " + closed + ": connection refused"},
		{name: "deadline passed", addr: l.Addr().String(), ctx: expired, wantErr: "dial tcp " + l.Addr().String() + ": timed out after 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			typ := TCPType()
			cfg := typ.NewConfig().(*TCPConfig)
			cfg.Address = tt.addr
			p, err := typ.New(scenarios.ProbeSpec{Name: "port", Timeout: time.Second, With: cfg}, runner.NewEnv(nil, nil))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			err = p.Check(tt.ctx)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Check error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
