package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Holder says who holds a system's lock, for the message the second drill prints.
type Holder struct {
	Host     string    `json:"host"`
	PID      int       `json:"pid"`
	RunID    string    `json:"runId,omitempty"`
	Scenario string    `json:"scenario,omitempty"`
	Since    time.Time `json:"since"`
}

func (h Holder) String() string {
	if h.PID == 0 {
		return "an unknown drill (its lock file names no holder yet)"
	}
	s := fmt.Sprintf("pid %d on %s", h.PID, h.Host)
	if h.RunID != "" {
		s += ", run " + h.RunID
	}
	if h.Scenario != "" {
		s += " (" + h.Scenario + ")"
	}
	if !h.Since.IsZero() {
		s += " since " + h.Since.UTC().Format(time.RFC3339)
	}
	return s
}

// HeldError is returned when another process holds a system's lock.
type HeldError struct {
	System string
	Holder Holder
	Path   string
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("system %s is already being drilled by %s (lock %s)", e.System, e.Holder, e.Path)
}

// Lock is an exclusive flock on <state>/locks/<system>.lock: the kernel drops it when the holder
// dies, however it dies, so a killed drill never leaves a stale lock behind (its journal is what
// records that it was killed).
type Lock struct {
	f    *os.File
	path string
}

// LockDir is where system locks live under drill's state directory.
func LockDir(stateDir string) string { return filepath.Join(stateDir, "locks") }

// LockSystem takes the system's lock without waiting; when another process holds it, the error
// is a *HeldError naming that process.
func LockSystem(stateDir, system string, h Holder) (*Lock, error) {
	dir := LockDir(stateDir)
	if err := ensureDir(dir); err != nil {
		return nil, fmt.Errorf("lock system %s: %w", system, err)
	}
	path := filepath.Join(dir, lockName(system))
	// O_RDWR without O_TRUNC: truncating before holding the lock would erase the holder's name.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return nil, fmt.Errorf("lock system %s: %w", system, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &HeldError{System: system, Holder: readHolder(path), Path: path}
		}
		return nil, fmt.Errorf("lock system %s: flock %s: %w", system, path, err)
	}
	l := &Lock{f: f, path: path}
	if err := l.SetHolder(h); err != nil {
		l.Release()
		return nil, fmt.Errorf("lock system %s: %w", system, err)
	}
	return l, nil
}

// SetHolder rewrites who holds the lock (a new run id when one invocation runs several drills).
func (l *Lock) SetHolder(h Holder) error {
	if h.Host == "" {
		h.Host, _ = os.Hostname()
	}
	if h.PID == 0 {
		h.PID = os.Getpid()
	}
	if h.Since.IsZero() {
		h.Since = time.Now().UTC()
	}
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("write lock holder %s: %w", l.path, err)
	}
	if _, err := l.f.WriteAt(append(b, '\n'), 0); err != nil {
		return fmt.Errorf("write lock holder %s: %w", l.path, err)
	}
	return nil
}

// Release drops the lock. The file stays: removing it would let a third process lock a new
// inode while a second still waits on the old one.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}

// Held reports who holds system's lock, without taking it; ok is false when nobody does.
func Held(stateDir, system string) (h Holder, ok bool) {
	path := filepath.Join(LockDir(stateDir), lockName(system))
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return Holder{}, false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return Holder{}, false
	}
	return readHolder(path), true
}

func readHolder(path string) Holder {
	var h Holder
	b, err := os.ReadFile(path)
	if err == nil {
		_ = json.Unmarshal(b, &h) // a holder mid-write reads as unknown, which String says
	}
	return h
}

// lockName keeps the system name readable in the file name, with a hash so that names that
// sanitize alike ("a/b", "a_b") never share a lock.
func lockName(system string) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			return r
		}
		return '_'
	}, system)
	if len(safe) > 64 {
		safe = safe[:64]
	}
	sum := sha256.Sum256([]byte(system))
	return safe + "-" + hex.EncodeToString(sum[:4]) + ".lock"
}
