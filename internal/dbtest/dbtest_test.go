package dbtest

import (
	"context"
	"os"
	"path/filepath"
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
