package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// LabStateFile is the file in the lab directory that records the running AWS emulator.
const LabStateFile = "aws-lab.json"

// LabRegion is the region the lab's clients default to (the fixture's primary region).
const LabRegion = "us-east-1"

// LabState is the content of the state file.
type LabState struct {
	PID       int       `json:"pid"`
	Port      int       `json:"port"`
	Endpoint  string    `json:"endpoint"`
	StartedAt time.Time `json:"startedAt"`
	Log       string    `json:"log"`
	Topology  *Topology `json:"topology,omitempty"`
}

// LabUp starts a moto server that outlives this process, seeds the two-region DR topology
// into it (results tables made with createTable) and records it in dir/aws-lab.json. If the
// recorded server still answers, it is reused and nothing is seeded again. The returned
// endpoint is what AWS_ENDPOINT_URL (or environment.aws.endpoint) should be set to.
func LabUp(ctx context.Context, dir string, createTable CreateTable) (endpoint string, err error) {
	if st, ok, _ := LabStatus(ctx, dir); ok {
		return st.Endpoint, nil
	}
	f, err := DefaultFixture()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create lab directory: %w", err)
	}
	logPath := filepath.Join(dir, "aws-moto.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", logPath, err)
	}
	defer logFile.Close()
	var srv *Server
	for range 3 { // the free port may be taken between choosing and binding it
		srv, err = StartMoto(ctx, MotoOptions{Log: logFile, Detach: true})
		if err == nil || errors.Is(err, ErrNoMoto) {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("start the AWS emulator: %w", err)
	}
	cfg, err := ClientConfig(ctx, LabRegion, srv.Endpoint)
	if err != nil {
		_ = srv.Stop()
		return "", err
	}
	top, err := Seed(ctx, cfg, f, createTable)
	if err != nil {
		_ = srv.Stop()
		return "", fmt.Errorf("seed the DR topology (moto log: %s): %w", logPath, err)
	}
	st := LabState{PID: srv.PID(), Port: srv.Port, Endpoint: srv.Endpoint, StartedAt: time.Now().UTC(), Log: logPath, Topology: top}
	if err := writeLabState(dir, st); err != nil {
		_ = srv.Stop()
		return "", err
	}
	return srv.Endpoint, nil
}

// LabStatus reads the state file and reports whether its emulator is running and answering.
// A missing state file is (nil, false, nil).
func LabStatus(ctx context.Context, dir string) (*LabState, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, LabStateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read lab state: %w", err)
	}
	var st LabState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, false, fmt.Errorf("lab state %s is corrupt: %w", filepath.Join(dir, LabStateFile), err)
	}
	return &st, isMoto(st.PID) && Ready(ctx, st.Endpoint) == nil, nil
}

// LabDown stops the lab's emulator (its state is lost: moto keeps it in memory) and removes
// the state file. Without a state file there is nothing to do.
func LabDown(dir string) error {
	path := filepath.Join(dir, LabStateFile)
	st, _, err := LabStatus(context.Background(), dir)
	if err != nil || st == nil {
		return err
	}
	if isMoto(st.PID) {
		// The server leads its own session: signal the whole group so worker processes go too.
		_ = syscall.Kill(-st.PID, syscall.SIGTERM)
		deadline := time.Now().Add(10 * time.Second)
		for isMoto(st.PID) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if isMoto(st.PID) {
			_ = syscall.Kill(-st.PID, syscall.SIGKILL)
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove lab state: %w", err)
	}
	return nil
}

// isMoto reports whether pid is alive and is a moto server, so a stale state file whose pid
// was reused by another process never gets that process killed.
func isMoto(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// A zombie has exited; only its parent has not reaped it yet.
		if f := strings.Fields(string(stat)); len(f) > 2 && f[2] == "Z" {
			return false
		}
	}
	return strings.Contains(string(b), "moto_server")
}

func writeLabState(dir string, st LabState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+LabStateFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write lab state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, LabStateFile)); err != nil {
		return fmt.Errorf("write lab state: %w", err)
	}
	return nil
}
