// Package labdir finds lab directories (etcd, PostgreSQL) left behind by a drill process that
// died without cleaning up: the lab managers share the rule, each removes its own kind of lab.
package labdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

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
