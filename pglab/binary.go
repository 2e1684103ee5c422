package pglab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EnvBinDir names a directory holding initdb, pg_basebackup and postgres, ahead of any search.
const EnvBinDir = "DRILL_PG_BINDIR"

// ErrNoBinaries is wrapped by FindBinDir when no PostgreSQL server binaries were found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries not found")

// serverBinaries are what a lab runs; a bin dir lacking any of them is skipped (Debian's
// libpq-dev ships a pg_config whose bindir may hold client tools only).
var serverBinaries = []string{"initdb", "pg_basebackup", "postgres"}

// FindBinDir locates the PostgreSQL server binaries: explicit (if given), then $DRILL_PG_BINDIR,
// then `pg_config --bindir`, then the highest version under /usr/lib/postgresql/*/bin (Debian
// keeps the server off PATH), then PATH.
func FindBinDir(ctx context.Context, explicit string) (string, error) {
	if explicit != "" {
		if err := hasServer(explicit); err != nil {
			return "", err
		}
		return filepath.Abs(explicit)
	}
	if d := os.Getenv(EnvBinDir); d != "" {
		if err := hasServer(d); err != nil {
			// Set but wrong: searching elsewhere would hide the mistake, so say how to fix it.
			return "", fmt.Errorf("%w in $%s=%s (%w): point it at the directory holding initdb, pg_basebackup and postgres, or unset it to search pg_config, /usr/lib/postgresql and PATH (`make deps` installs them)", ErrNoBinaries, EnvBinDir, d, err)
		}
		return filepath.Abs(d)
	}
	var candidates []string
	if pc, err := exec.LookPath("pg_config"); err == nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		out, err := exec.CommandContext(cctx, pc, "--bindir").Output()
		cancel()
		if err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
	}
	candidates = append(candidates, debianBinDirs()...)
	if p, err := exec.LookPath("postgres"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, c := range candidates {
		if hasServer(c) == nil {
			return filepath.Abs(c)
		}
	}
	return "", fmt.Errorf("%w (initdb, pg_basebackup, postgres): run `make deps` or `apt-get install postgresql`, or set $%s", ErrNoBinaries, EnvBinDir)
}

// debianBinDirs lists /usr/lib/postgresql/<version>/bin, highest version first.
func debianBinDirs() []string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		return v
	}
	sort.SliceStable(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	return dirs
}

func hasServer(dir string) error {
	for _, b := range serverBinaries {
		fi, err := os.Stat(filepath.Join(dir, b))
		if err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("%s is not executable", filepath.Join(dir, b))
		}
	}
	return nil
}
