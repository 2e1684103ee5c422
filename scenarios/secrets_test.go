package scenarios

import (
	"errors"
	"strings"
	"testing"
)

func TestIsSecretValue(t *testing.T) {
	tests := []struct {
		name, value string
		want        bool
	}{
		{"API_TOKEN", "abcd", true},
		{"db_password", "1234", true}, // a numeric password is still one
		{"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI", true},
		{"PGPASS", "abc", false},
		{"OAUTH_ENABLED", "true", false}, // a setting, not a credential
		{"AUTH_SCHEME", "HTTPS", false},  // too short to redact without blanking ordinary words
		{"DATABASE_DSN", "app:pw@tcp(db)/x", true},
		{"GITHUB_PAT", "ghp_0123456789abcdef", true}, // long enough whatever its name
		{"SLACK_HOOK", "https://hooks.slack.com/services/T0/B0/x", true},
		{"REGION", "eu-west-1", true},
		{"SYSTEM", "payments", true},
		{"MODE", "fast", false},
		{"PORT", "18080", false},
		{"ADDR", "127.0.0.1:18080", false},
		{"LAB_SIZE", "12345678901", false},
		{"PWD", "/tmp", false},
		{"EMPTY", "", false},
	}
	for _, tt := range tests {
		if got := isSecretValue(tt.name, tt.value); got != tt.want {
			t.Errorf("isSecretValue(%q, %q) = %v, want %v", tt.name, tt.value, got, tt.want)
		}
	}
}

func TestParseRecordsSecrets(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"API_TOKEN": "tok-0123456789",
		"PORT":      "18080",
		"MODE":      "fast",
		"ENDPOINT":  "db.internal.example",
	}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	src := minimalYAML + `recovery:
  - name: fix
    type: command
    with: {run: "curl -H 'Authorization: Bearer ${API_TOKEN}' http://${ENDPOINT}:${PORT}/${MODE}?d=${DEF:-default-value}"}
`
	sc, err := Parse("s.yaml", []byte(src), testCatalog(), WithLookupEnv(lookup))
	if err != nil {
		t.Fatal(err)
	}
	got := sc.Secrets.Apply("tok-0123456789 db.internal.example 18080 fast default-value")
	want := "[REDACTED] [REDACTED] 18080 fast default-value"
	if got != want {
		t.Errorf("Secrets.Apply = %q, want %q", got, want)
	}
}

func TestLoadErrorsRedacted(t *testing.T) {
	t.Parallel()
	const tok = "SIG-topsecret-42"
	lookup := func(n string) (string, bool) { return tok, n == "KILL_TOKEN" }
	src := strings.Replace(minimalYAML, "faults: [{name: stop, type: command, with: {run: x}}]",
		"faults: [{name: stop, type: etcd-kill-member, with: {member: leader, signal: \"${KILL_TOKEN}\"}}]", 1)
	_, err := Parse("e.yaml", []byte(src), testCatalog(), WithLookupEnv(lookup))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want *Errors, got %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, tok) || !strings.Contains(msg, `got "[REDACTED]"`) {
		t.Errorf("load error not redacted: %s", msg)
	}
}

func TestParseRecordsShellReferences(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"DB_PASSWORD": "hunter2-db",
		"GH_TOKEN":    "ghp_abcdef",
		"HOME":        "/home/operator",
		"RUN_ID":      "run-0123456789",
	}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	src := minimalYAML + `recovery:
  - name: fix
    type: command
    with: {run: "PGPASSWORD=$DB_PASSWORD psql -f $HOME/fix.sql; gh auth --with-token $${GH_TOKEN} $RUN_ID $UNSET_KEY"}
`
	sc, err := Parse("s.yaml", []byte(src), testCatalog(), WithLookupEnv(lookup))
	if err != nil {
		t.Fatal(err)
	}
	got := sc.Secrets.Apply("hunter2-db ghp_abcdef /home/operator run-0123456789")
	// $HOME and $RUN_ID are left to the shell but their names say nothing secret.
	want := "[REDACTED] [REDACTED] /home/operator run-0123456789"
	if got != want {
		t.Errorf("Secrets.Apply = %q, want %q", got, want)
	}
}

func TestPublicVarsAreNotRedacted(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		EnvPublicVars:    "DRS_SERVER_ID, SNS_TOPIC API_TOKEN",
		"DRS_SERVER_ID":  "s-1234567890abcdef0",
		"SNS_TOPIC":      "arn:aws:sns:us-east-1:123456789012:dr",
		"API_TOKEN":      "tok-0123456789",
		"OTHER_ENDPOINT": "db.internal.example",
	}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	src := minimalYAML + `recovery:
  - name: fix
    type: command
    with: {run: "fix ${DRS_SERVER_ID} ${SNS_TOPIC} ${API_TOKEN} ${OTHER_ENDPOINT}"}
`
	sc, err := Parse("s.yaml", []byte(src), testCatalog(), WithLookupEnv(lookup))
	if err != nil {
		t.Fatal(err)
	}
	got := sc.Secrets.Apply("s-1234567890abcdef0 arn:aws:sns:us-east-1:123456789012:dr tok-0123456789 db.internal.example")
	// API_TOKEN looks secret, so listing it changes nothing.
	want := "s-1234567890abcdef0 arn:aws:sns:us-east-1:123456789012:dr [REDACTED] [REDACTED]"
	if got != want {
		t.Errorf("Secrets.Apply = %q, want %q", got, want)
	}
}

// TestSourceKeepsReferencesNotValues: the source the history keeps is the file as written,
// and is dropped when the file holds a secret value literally (it would be kept unredacted).
func TestSourceKeepsReferencesNotValues(t *testing.T) {
	t.Parallel()
	env := map[string]string{"API_TOKEN": "tok-0123456789", "PORT": "18080"}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	withRecovery := func(run string) string {
		return minimalYAML + "recovery: [{name: fix, type: command, with: {run: \"" + run + "\"}}]\n"
	}
	tests := []struct {
		name, src string
		kept      bool
	}{
		{"no variables", minimalYAML, true},
		{"a secret by reference", withRecovery("curl -H 'Authorization: Bearer ${API_TOKEN}' http://127.0.0.1:${PORT}/"), true},
		{"a URL query written in the file", withRecovery("curl http://127.0.0.1:${PORT}/x?token=${API_TOKEN}"), true},
		{"the secret value written literally", withRecovery("curl -H 'Authorization: Bearer ${API_TOKEN}' # was tok-0123456789"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc, err := Parse("s.yaml", []byte(tt.src), testCatalog(), WithLookupEnv(lookup))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case !tt.kept && sc.Source != nil:
				t.Errorf("Source kept although it holds the secret value:\n%s", sc.Source)
			case tt.kept && string(sc.Source) != tt.src:
				t.Errorf("Source = %q, want the file as written %q", sc.Source, tt.src)
			}
		})
	}
}
