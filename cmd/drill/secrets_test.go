package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drillhq/drill/result"
)

// TestBinaryKeepsSecretsOutOfEveryOutput runs the built binary on a drill whose token, from
// ${DRILL_E2E_TOKEN}, is really used (an http probe sends it in a header and the query string;
// the server refuses anything else) and comes back in errors: the server fails while the fault
// is in, so the probe's errors carry its URL, and the fault prints the token to stderr and fails.
// No output drill writes (console, progress, JSON, JUnit, history, DynamoDB, both compliance
// reports)
// may contain the token, and each must show the marker where it was.
func TestBinaryKeepsSecretsOutOfEveryOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	token := "e2e-tok-" + hex.EncodeToString(rnd[:])

	dir := t.TempDir()
	flag := filepath.Join(dir, "broken")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token || r.URL.Query().Get("token") != token {
			// Redaction must only touch what drill prints, never what it sends.
			http.Error(w, "wrong credentials", http.StatusUnauthorized)
			return
		}
		if _, err := os.Stat(flag); err == nil {
			http.Error(w, "broken; token="+token, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	defer srv.Close()

	scn := filepath.Join(dir, "leaky.yaml")
	body := fmt.Sprintf(`version: 1
name: leaky
description: "Calls the api as e2e-bot with token ${DRILL_E2E_TOKEN}"
system: secrets
objectives: { rto: 5s }
probes:
  - name: api
    type: http
    interval: 20ms
    timeout: 1s
    with:
      url: "%s/health?token=${DRILL_E2E_TOKEN}"
      headers: { Authorization: "Bearer ${DRILL_E2E_TOKEN}" }
steadyState: [api]
faults:
  - name: break-api
    type: command
    with:
      run: "touch %s; sleep 0.4; echo \"auth failed for token ${DRILL_E2E_TOKEN}\" >&2; exit 1"
      revert: "rm -f %s"
limits: { timeout: 20s, observe: 300ms }
`, srv.URL, flag, flag)
	if err := os.WriteFile(scn, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	hist := filepath.Join(out, "history.db")
	files := map[string]string{
		"json":  filepath.Join(out, "r.json"),
		"junit": filepath.Join(out, "r.xml"),
		"html":  filepath.Join(out, "report.html"),
		"md":    filepath.Join(out, "report.md"),
	}
	// DynamoDB is unreachable (a closed loopback port), so the result it would get is spooled
	// as JSON: the spool file is what the table would hold.
	spool := filepath.Join(out, "spool")
	dynamo := "http://" + freeAddr(t)
	drill := func(args ...string) (code int, stdout, stderr string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, "drill"), args...)
		cmd.Env = append(os.Environ(), "DRILL_E2E_TOKEN="+token, "DRILL_HISTORY="+hist,
			"DRILL_SPOOL="+spool, "AWS_ENDPOINT_URL="+dynamo, "AWS_REGION=us-east-1",
			"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true")
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatalf("drill %v: %v", args, err)
		}
		return cmd.ProcessState.ExitCode(), o.String(), e.String()
	}

	outputs := map[string]string{}
	code, stdout, stderr := drill("run", "--json", files["json"], "--junit", files["junit"], "--history", hist,
		"--dynamodb-table", "DRTestResults", scn)
	if code != result.ExitError {
		t.Fatalf("run exit %d, want 3 (injection failed)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	outputs["run stdout"], outputs["run stderr"] = stdout, stderr
	code, stdout, stderr = drill("history", "--history", hist, "--json")
	if code != 0 {
		t.Fatalf("history --json exit %d: %s", code, stderr)
	}
	outputs["history --json"] = stdout + stderr
	code, stdout, stderr = drill("history", "--history", hist)
	if code != 0 {
		t.Fatalf("history exit %d: %s", code, stderr)
	}
	outputs["history"] = stdout + stderr
	for _, format := range []string{"html", "md"} {
		code, stdout, stderr = drill("report", "--history", hist, "--format", format, "--out", files[format])
		if code != 0 {
			t.Fatalf("report --format %s exit %d: %s", format, code, stderr)
		}
		outputs["report "+format+" console"] = stdout + stderr
	}
	spooled, err := filepath.Glob(filepath.Join(spool, "*", "*.json"))
	if err != nil || len(spooled) != 1 {
		t.Fatalf("want one result spooled for DynamoDB, got %v (%v); run stderr:\n%s", spooled, err, outputs["run stderr"])
	}
	files["dynamodb spool"] = spooled[0]
	if fi, err := os.Stat(filepath.Dir(spooled[0])); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm()&^0o700 != 0 {
		t.Errorf("spool directory %s is mode %v, want 0700 or stricter", filepath.Dir(spooled[0]), fi.Mode().Perm())
	}
	for name, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		outputs[name+" file"] = string(data)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&^0o600 != 0 {
			t.Errorf("%s is mode %v, want 0600 or stricter", path, fi.Mode().Perm())
		}
	}

	for name, text := range outputs {
		if strings.Contains(text, token) {
			t.Errorf("%s contains the token:\n%s", name, text)
		}
	}
	// The marker where the token was: the fault's stderr, the probe's URL (error and events).
	for _, name := range []string{"json file", "junit file", "history --json", "html file", "md file", "dynamodb spool file", "run stderr"} {
		if !strings.Contains(outputs[name], "[REDACTED]") {
			t.Errorf("%s lacks the redaction marker:\n%s", name, outputs[name])
		}
	}
	for _, want := range []string{"auth failed for token [REDACTED]", "/health?token=[REDACTED]", "with token [REDACTED]"} {
		if !strings.Contains(outputs["json file"], want) {
			t.Errorf("JSON lacks %q:\n%s", want, outputs["json file"])
		}
	}
}
