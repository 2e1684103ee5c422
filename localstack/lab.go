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
	Emulator  string    `json:"emulator,omitempty"` // EmulatorMoto when empty (older state files)
	PID       int       `json:"pid"`
	Port      int       `json:"port"`
	Endpoint  string    `json:"endpoint"`
	StartedAt time.Time `json:"startedAt"`
	Log       string    `json:"log"`
	Topology  *Topology `json:"topology,omitempty"`
}

// LabOptions configure LabUp.
type LabOptions struct {
	// Emulator is EmulatorMoto (the default) or EmulatorLocalStack.
	Emulator string
	// CreateTable makes the fixture's results tables with the results store's schema.
	CreateTable CreateTable
}

// LabUp starts an emulator that outlives this process, seeds the two-region DR topology into
// it and records it in dir/aws-lab.json. Parts of the topology the emulator does not serve are
// skipped and listed in the state's Topology.Skipped. If the recorded emulator still answers,
// it is reused and nothing is seeded again. The state's Endpoint is what AWS_ENDPOINT_URL (or
// environment.aws.endpoint) should be set to.
func LabUp(ctx context.Context, dir string, o LabOptions) (*LabState, error) {
	emulator := o.Emulator
	if emulator == "" {
		emulator = EmulatorMoto
	}
	if emulator != EmulatorMoto && emulator != EmulatorLocalStack {
		return nil, fmt.Errorf("lab up: unknown emulator %q (want %s or %s)", emulator, EmulatorMoto, EmulatorLocalStack)
	}
	if st, ok, _ := LabStatus(ctx, dir); ok {
		if st.EmulatorName() != emulator {
			return nil, fmt.Errorf("lab up: %s already runs in %s at %s; take it down first ('drill lab down --aws')", st.EmulatorName(), dir, st.Endpoint)
		}
		return st, nil
	}
	f, err := DefaultFixture()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create lab directory: %w", err)
	}
	logPath := labLog(dir, emulator)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", logPath, err)
	}
	defer logFile.Close()
	var srv *Server
	for range 3 { // the free port may be taken between choosing and binding it
		if emulator == EmulatorLocalStack {
			// Its files live in the lab directory, so lab down leaves nothing elsewhere.
			srv, err = StartLocalStack(ctx, LocalStackOptions{Log: logFile, Detach: true, Dir: filepath.Join(dir, "localstack")})
		} else {
			srv, err = StartMoto(ctx, MotoOptions{Log: logFile, Detach: true})
		}
		if err == nil || !errors.Is(err, ErrExitedEarly) || ctx.Err() != nil {
			break // only a lost port race is worth another start
		}
	}
	if err != nil {
		return nil, fmt.Errorf("start the AWS emulator (%s, log: %s): %w", emulator, logPath, err)
	}
	cfg, err := ClientConfig(ctx, LabRegion, srv.Endpoint)
	if err != nil {
		_ = srv.Stop()
		return nil, err
	}
	top, err := Seed(ctx, cfg, f, o.CreateTable)
	if err != nil {
		_ = srv.Stop()
		return nil, fmt.Errorf("seed the DR topology (%s log: %s): %w", emulator, logPath, err)
	}
	st := LabState{Emulator: emulator, PID: srv.PID(), Port: srv.Port, Endpoint: srv.Endpoint, StartedAt: time.Now().UTC(), Log: logPath, Topology: top}
	if err := writeLabState(dir, st); err != nil {
		_ = srv.Stop()
		return nil, err
	}
	return &st, nil
}

// EmulatorName is the emulator the state records (moto for state files older than the field).
func (st *LabState) EmulatorName() string {
	if st.Emulator == "" {
		return EmulatorMoto
	}
	return st.Emulator
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
	return &st, isEmulator(st.PID) && Ready(ctx, st.Endpoint) == nil, nil
}

// LabDown stops the lab's emulator and everything it started (its state is lost: both keep it
// in memory), and removes what LabUp created: the state file, LocalStack's files, the emulator
// logs and the directory once that leaves it empty (a directory holding anything else is kept).
// up reports whether a lab was recorded; without one, a log a failed LabUp left is removed.
func LabDown(ctx context.Context, dir string) (up bool, err error) {
	st, _, err := LabStatus(ctx, dir)
	if err != nil {
		return false, err
	}
	if st != nil {
		if err := stopLab(ctx, dir, st); err != nil {
			return true, err
		}
	}
	for _, name := range []string{EmulatorMoto, EmulatorLocalStack} {
		if err := os.Remove(labLog(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return st != nil, fmt.Errorf("remove the emulator log: %w", err)
		}
	}
	// Remove fails on a directory with anything else in it, which is then not ours to delete.
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
		return st != nil, fmt.Errorf("remove the lab directory: %w", err)
	}
	return st != nil, nil
}

// labLog is where LabUp sends an emulator's output.
func labLog(dir, emulator string) string { return filepath.Join(dir, "aws-"+emulator+".log") }

// stopLab stops a recorded lab's emulator and removes its state file and LocalStack's files.
func stopLab(ctx context.Context, dir string, st *LabState) error {
	path := filepath.Join(dir, LabStateFile)
	if isEmulator(st.PID) {
		// The server leads its own session: signal the whole group so worker processes (and
		// any Java a LocalStack service started) go too.
		_ = syscall.Kill(-st.PID, syscall.SIGTERM)
		grace := 10 * time.Second
		if st.EmulatorName() == EmulatorLocalStack {
			grace = 2 * time.Second // its SIGTERM shutdown hangs; see Server.Stop
		}
		deadline := time.Now().Add(grace)
		for isEmulator(st.PID) && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
		}
		_ = syscall.Kill(-st.PID, syscall.SIGKILL) // stragglers of the group; ESRCH when none
		// A killed process holding much memory takes a moment to go; return once it has.
		for deadline := time.Now().Add(5 * time.Second); isEmulator(st.PID) && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove lab state: %w", err)
	}
	if st.EmulatorName() == EmulatorLocalStack {
		if err := os.RemoveAll(filepath.Join(dir, "localstack")); err != nil {
			return fmt.Errorf("remove LocalStack's files: %w", err)
		}
	}
	return nil
}

// isEmulator reports whether pid is alive and is an emulator this package starts, so a stale
// state file whose pid was reused by another process never gets that process killed.
func isEmulator(pid int) bool {
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
	return isEmulatorCmdline(string(b))
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
