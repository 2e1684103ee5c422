// Package labdir creates lab directories (etcd, PostgreSQL) and finds and removes those left
// behind by a drill process that died without cleaning up: the lab managers share the rules,
// each removes its own kind of lab.
package labdir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// Make creates a lab directory: a new one in os.TempDir() named by pattern (os.MkdirTemp) when
// dir is empty, else dir itself, created when missing. It refuses a directory that already
// holds stateFile (taken says so in the lab's own words) or any other file. created reports
// whether Make created the directory, so that taking the lab down removes it too.
func Make(dir, pattern, stateFile string, taken func(abs string) error) (abs string, created bool, err error) {
	if dir == "" {
		d, err := os.MkdirTemp("", pattern)
		if err != nil {
			return "", false, fmt.Errorf("create lab dir: %w", err)
		}
		return d, true, nil
	}
	if abs, err = filepath.Abs(dir); err != nil {
		return "", false, err
	}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return "", false, fmt.Errorf("create lab dir: %w", err)
		}
		return abs, true, nil
	case err != nil:
		return "", false, fmt.Errorf("lab dir: %w", err)
	}
	for _, e := range entries {
		if e.Name() == stateFile {
			return "", false, taken(abs)
		}
	}
	if len(entries) > 0 {
		return "", false, fmt.Errorf("lab dir %s is not empty; use a new or empty directory", abs)
	}
	return abs, false, nil
}

// RemoveFiles removes a lab's files: the whole directory when the lab created it (own), else
// only the entries named in files, and then the directory itself if nothing else was put
// there (it was the user's, and it is kept with what they added, logged on log).
func RemoveFiles(dir string, own bool, files []string, log *slog.Logger) error {
	if own {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove lab dir: %w", err)
		}
		return nil
	}
	var errs []error
	for _, f := range files {
		if err := os.RemoveAll(filepath.Join(dir, f)); err != nil {
			errs = append(errs, fmt.Errorf("remove lab files: %w", err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Warn("lab dir kept: not empty", "dir", dir)
	}
	return nil
}

// Reap removes the labs Orphans finds: open attaches to one and returns how to take it down. A
// lab that cannot be opened is skipped (it was being removed meanwhile); kind names the lab in
// errors. It returns the directories removed.
func Reap(ctx context.Context, root, pattern, kind string, owner func(dir string) (pid int, err error), open func(dir string) (remove func(context.Context) error, err error)) ([]string, error) {
	dirs, err := Orphans(root, pattern, owner)
	if err != nil {
		return nil, err
	}
	var reaped []string
	var errs []error
	for _, d := range dirs {
		remove, err := open(d)
		if err != nil {
			continue
		}
		if err := remove(ctx); err != nil {
			errs = append(errs, fmt.Errorf("remove orphaned %s %s: %w", kind, d, err))
			continue
		}
		reaped = append(reaped, d)
	}
	return reaped, errors.Join(errs...)
}

// Orphans lists the directories in root (os.TempDir() when empty) matching pattern whose
// owning process, as owner reads it from the directory, has died. A directory whose owner
// cannot be read, is unrecorded (0), is this process or is still alive is left alone.
func Orphans(root, pattern string, owner func(dir string) (pid int, err error)) ([]string, error) {
	if root == "" {
		root = os.TempDir()
	}
	dirs, err := filepath.Glob(filepath.Join(root, pattern))
	if err != nil {
		return nil, err
	}
	var orphans []string
	for _, d := range dirs {
		pid, err := owner(d)
		if err != nil || pid == 0 || pid == os.Getpid() || ProcessExists(pid) {
			continue
		}
		orphans = append(orphans, d)
	}
	return orphans, nil
}

// ProcessExists reports whether pid names a live process (one owned by another user counts).
func ProcessExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// RemoveUnstarted removes a lab directory whose state file was never written, what a drill
// killed while its lab manager was still creating it leaves: the entries made (the names the
// manager creates before its state file), then dir itself, which must then be empty. Anything
// else in dir is not the lab's to delete, so it stays and the error names the directory. A dir
// already gone is a no-op.
func RemoveUnstarted(dir string, made []string) error {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for _, name := range made {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("remove unstarted lab %s: %w", dir, err)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove unstarted lab %s: it holds files the lab did not make: %w", dir, err)
	}
	return nil
}

// FreshName returns a new, unused directory name under root (the system's temporary directory
// when root is ""), starting with prefix. The directory does not exist: a lab manager creates
// and owns it, with the mode its servers need.
func FreshName(root, prefix string) (string, error) {
	dir, err := os.MkdirTemp(root, prefix)
	if err != nil {
		return "", fmt.Errorf("create lab dir: %w", err)
	}
	if err := os.Remove(dir); err != nil {
		return "", fmt.Errorf("create lab dir: %w", err)
	}
	return dir, nil
}
