package etcdlab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Environment variables that point at the binaries when no flag does.
const (
	EnvEtcdBinary    = "DRILL_ETCD_BINARY"
	EnvEtcdutlBinary = "DRILL_ETCDUTL_BINARY"
)

// ErrNoBinary is wrapped by FindEtcd and FindEtcdutl when nothing was found.
var ErrNoBinary = errors.New("binary not found")

// FindEtcd locates the etcd server binary: the explicit path (--etcd-binary) if given, then
// $DRILL_ETCD_BINARY, then bin/etcd in the working directory or in the enclosing Go module's root
// (where `make etcd` puts it), then PATH.
func FindEtcd(explicit string) (string, error) {
	return find("etcd", explicit, EnvEtcdBinary, "")
}

// FindEtcdutl locates etcdutl, which restores snapshots: the explicit path, then
// $DRILL_ETCDUTL_BINARY, then next to the etcd binary (`make etcd` builds both), then bin/ as for
// etcd, then PATH.
func FindEtcdutl(explicit, etcdBinary string) (string, error) {
	sibling := ""
	if etcdBinary != "" {
		sibling = filepath.Join(filepath.Dir(etcdBinary), "etcdutl")
	}
	return find("etcdutl", explicit, EnvEtcdutlBinary, sibling)
}

func find(name, explicit, envVar, sibling string) (string, error) {
	if explicit != "" {
		return executable(explicit)
	}
	if p := os.Getenv(envVar); p != "" {
		path, err := executable(p)
		if err != nil {
			return "", fmt.Errorf("$%s: %w", envVar, err)
		}
		return path, nil
	}
	var candidates []string
	if sibling != "" {
		candidates = append(candidates, sibling)
	}
	if wd, err := os.Getwd(); err == nil {
		candidates = append(candidates, filepath.Join(wd, "bin", name))
		if root := moduleRoot(wd); root != "" && root != wd {
			candidates = append(candidates, filepath.Join(root, "bin", name))
		}
	}
	for _, c := range candidates {
		if p, err := executable(c); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	return "", fmt.Errorf("%s %w: build it with `make etcd` (writes ./bin/%s), put it on PATH, or pass --etcd-binary", name, ErrNoBinary, name)
}

func executable(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file", abs)
	}
	return abs, nil
}

// moduleRoot returns the nearest directory at or above dir holding a go.mod, or "".
func moduleRoot(dir string) string {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
