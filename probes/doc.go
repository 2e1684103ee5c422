// Package probes holds the generic probe types every build has (docs/DESIGN.md §2): http, tcp and
// command. Each file exposes a constructor of its runner.ProbeType; cmd/drill registers them.
//
// A probe's Check takes one sample and may be called concurrently (the runner samples open-loop),
// so probes keep no per-sample state. The sample's deadline comes from ctx.
package probes

import (
	"errors"
	"net"
	"os"
)

// trimNetError drops the syscall layer from dial errors so "dial tcp 127.0.0.1:8080: connect:
// connection refused" reads "dial tcp 127.0.0.1:8080: connection refused"; other errors pass
// through unchanged.
func trimNetError(err error) error {
	var op *net.OpError
	if !errors.As(err, &op) {
		return err
	}
	var sys *os.SyscallError
	if !errors.As(op.Err, &sys) {
		return err
	}
	short := *op
	short.Err = sys.Err
	return &short
}
