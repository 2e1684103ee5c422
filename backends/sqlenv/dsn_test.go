package sqlenv

import (
	"strings"
	"testing"

	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		driver Driver
		dsn    string
		want   string
		secret string
	}{
		{Postgres, "postgres://app:hunter2@db:5432/shop?sslmode=disable", "postgres://app:xxxxx@db:5432/shop?sslmode=disable", "hunter2"},
		{Postgres, "postgresql://app:p%40ss%3Aw0rd@db/shop", "postgresql://app:xxxxx@db/shop", "p%40ss"},
		{Postgres, "postgres://app@db/shop?password=qwerty99", "postgres://app@db/shop?password=xxxxx", "qwerty99"},
		// Multi-host with target_session_attrs, as a failover lab or a client-side HA setup uses.
		{Postgres, "postgres://app:hunter2@127.0.0.1:5432,127.0.0.1:5433/postgres?target_session_attrs=read-write",
			"postgres://app:xxxxx@127.0.0.1:5432,127.0.0.1:5433/postgres?target_session_attrs=read-write", "hunter2"},
		{Postgres, "host=db user=app password=hunter2 dbname=shop", "host=db user=app password=xxxxx dbname=shop", "hunter2"},
		{Postgres, `host=db password='with space\'q' dbname=shop`, "host=db password=xxxxx dbname=shop", "with space"},
		{Postgres, "host=db user=app dbname=shop", "host=db user=app dbname=shop", ""},
		{MySQL, "app:hunter2@tcp(db:3306)/shop?timeout=5s", "app:xxxxx@tcp(db:3306)/shop?timeout=5s", "hunter2"},
		{MySQL, "app:p@ss@tcp(db:3306)/shop", "app:xxxxx@tcp(db:3306)/shop", "p@ss"},
		{MySQL, "app@tcp(db:3306)/shop", "app@tcp(db:3306)/shop", ""},
		// Unparseable: nothing of it is shown.
		{MySQL, "app:hunter2@tcp(db:3306", "<unparseable mysql DSN>", "hunter2"},
		{Postgres, "postgres://app:hunter2@db:99999999999/x", "", "hunter2"},
	} {
		got := Redact(tc.driver, tc.dsn)
		if tc.want != "" && got != tc.want {
			t.Errorf("Redact(%s, %q) = %q, want %q", tc.driver, tc.dsn, got, tc.want)
		}
		if tc.secret != "" && strings.Contains(got, tc.secret) {
			t.Errorf("Redact(%s, %q) = %q shows the password", tc.driver, tc.dsn, got)
		}
	}
}

// A DSN that does not parse must not leak its password through the parse error.
func TestCheckDSNErrorsHidePassword(t *testing.T) {
	for _, tc := range []struct {
		driver Driver
		dsn    string
	}{
		{MySQL, "app:hunter2@tcp(db:3306"},
		{MySQL, "app:hunter2@tcp(db:3306)/shop?tls=hunter2"},
		{MySQL, "app:hunter2@tcp(db:3306)/sh%zzop"},
		{Postgres, "postgres://app:hunter2@db:notaport/shop"},
		{Postgres, "host=db password=hunter2 sslmode=hunter2"},
		{Postgres, "host=db password=hunter2 bogus"},
		{Postgres, "postgres://app@db:notaport/shop?password=hunter2"},
	} {
		err := CheckDSN(tc.driver, tc.dsn)
		if err == nil {
			t.Errorf("CheckDSN(%s, %q): no error", tc.driver, tc.dsn)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("CheckDSN(%s, %q) error shows the password: %v", tc.driver, tc.dsn, err)
		}
	}
}

func TestScrubErrorKeepsChain(t *testing.T) {
	base := scenarios.FieldErrorf("x", "login as app:hunter2 failed")
	err := scrubError(base, []string{"hunter2", ""})
	if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "app:xxxxx") {
		t.Errorf("scrubbed: %q", err)
	}
	var fe scenarios.FieldError
	if !asFieldError(err, &fe) {
		t.Error("scrubbing lost the error chain")
	}
	if scrubError(nil, []string{"x"}) != nil {
		t.Error("nil error scrubbed to non-nil")
	}
}

func TestDefaultDSN(t *testing.T) {
	env := runner.NewEnv(&scenarios.Scenario{Name: "s"}, nil)
	if _, ok := DefaultDSN(env); ok {
		t.Fatal("default DSN present before any connector set one")
	}
	SetDefaultDSN(env, "postgres://lab@127.0.0.1:5432/postgres")
	if got, ok := DefaultDSN(env); !ok || got != "postgres://lab@127.0.0.1:5432/postgres" {
		t.Fatalf("DefaultDSN = %q, %v", got, ok)
	}
	if _, ok := DefaultDSN(nil); ok {
		t.Fatal("nil env has a default DSN")
	}
}
