package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAfterGraceCancelsAfterSignal: the DynamoDB writes' context outlives a signal by the
// grace, then is cancelled, and stderr names 'drill results flush'.
func TestAfterGraceCancelsAfterSignal(t *testing.T) {
	t.Parallel()
	sigs := make(chan os.Signal, 1)
	var errb bytes.Buffer
	a := &app{stderr: &errb, interrupts: sigs}
	ctx, cancel := afterGrace(context.Background(), a, 300*time.Millisecond)
	defer cancel()
	sigs <- syscall.SIGTERM
	select {
	case <-ctx.Done():
		t.Fatal("cancelled before the grace ran out")
	case <-time.After(100 * time.Millisecond):
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not cancelled after the grace")
	}
	if !strings.Contains(errb.String(), "drill results flush") {
		t.Errorf("stderr does not name 'drill results flush': %q", errb.String())
	}
}
