package dbtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/drillhq/drill/backends/sqlenv"
)

func query(db *sqlenv.DB, q string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return db.Query(ctx, q)
}

// Each server starts, answers, stops (refusing connections), restarts on the same data, and
// leaves no directory behind.
func TestServersStartStopRestart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *Server
	}{
		{"postgres", func(t testing.TB) *Server { return Postgres(t, PostgresOptions{}) }},
		{"mariadb", MariaDB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var dir string
			t.Run("lifecycle", func(t *testing.T) {
				s := tc.start(t)
				dir = s.Dir
				db := s.Open(t)
				if err := query(db, "SELECT 1"); err != nil {
					t.Fatalf("fresh server: %v", err)
				}
				s.Stop(t)
				if err := query(db, "SELECT 1"); err == nil {
					t.Fatal("query succeeded against a stopped server")
				}
				s.Start(t)
				if err := query(db, "SELECT 1"); err != nil {
					// One stale pooled connection may fail; the next query must not.
					if err := query(db, "SELECT 1"); err != nil {
						t.Fatalf("restarted server: %v", err)
					}
				}
			})
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("%s still exists after cleanup (err %v)", dir, err)
			}
			if dir == "" || !filepath.IsAbs(dir) {
				t.Errorf("server dir %q", dir)
			}
		})
	}
}

// recorder stands in for a test so need's Skip and Fatal can be observed.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Skip(args ...any)          { r.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Fatal(args ...any)         { r.failed = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Skipf(f string, a ...any)  { r.Skip(fmt.Sprintf(f, a...)) }
func (r *recorder) Fatalf(f string, a ...any) { r.Fatal(fmt.Sprintf(f, a...)) }

// Missing server binaries skip the test with the reason, except under CI=true, where they fail
// it: CI installs them, and a skip there would hide a broken setup.
func TestMissingBinariesSkipOrFailUnderCI(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			r := &recorder{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				need(r, "PostgreSQL server", "/nonexistent/postgres", "no-such-binary-on-path")
			}()
			<-done
			switch {
			case ci == "true" && (r.failed == "" || r.skipped != ""):
				t.Errorf("CI=true: failed %q skipped %q, want a failure", r.failed, r.skipped)
			case ci == "" && (r.skipped == "" || r.failed != ""):
				t.Errorf("no CI: failed %q skipped %q, want a skip", r.failed, r.skipped)
			}
			if msg := r.failed + r.skipped; !strings.Contains(msg, "PostgreSQL server not found") || !strings.Contains(msg, "ci-deps.sh") {
				t.Errorf("reason %q does not say what is missing and how to install it", msg)
			}
		})
	}
}
