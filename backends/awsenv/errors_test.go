package awsenv

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// noCredentials leaves the SDK's chain nothing to find: no keys in the environment, no
// profile files, no instance metadata.
func noCredentials(t *testing.T) {
	t.Helper()
	isolate(t)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("HOME", t.TempDir())
}

func TestNoCredentialsSaysWhatToSet(t *testing.T) {
	for _, tc := range []struct {
		name    string
		profile string
		want    []string
	}{
		{"default chain", "", []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL", "drill lab up --aws"}},
		{"unknown profile", "nope", []string{`profile "nope"`, "aws configure --profile nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noCredentials(t)
			if tc.profile != "" {
				t.Setenv("AWS_PROFILE", tc.profile)
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			tr := &trap{}
			cfg, err := LoadConfig(t.Context(), ConfigOptions{Region: "us-east-1", HTTPClient: tr.client(), Log: log})
			if err == nil {
				err = CheckCredentials(t.Context(), cfg, log)
			}
			var ce *CredentialsError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want a *CredentialsError", err, err)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not mention %q", msg, w)
				}
			}
			// The chain's own account names no fix and belongs in the debug log only.
			for _, raw := range []string{"IMDS", "get credentials", "\n"} {
				if strings.Contains(msg, raw) {
					t.Errorf("message %q contains the SDK's %q", msg, raw)
				}
			}
			if addrs := tr.dialed(); len(addrs) > 0 {
				t.Errorf("connections were opened to %v", addrs)
			}
		})
	}
}

func TestCredentialsPresentPass(t *testing.T) {
	isolate(t) // sets AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
	cfg, err := LoadConfig(t.Context(), ConfigOptions{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCredentials(t.Context(), cfg, nil); err != nil {
		t.Errorf("CheckCredentials = %v with keys in the environment", err)
	}
}

func TestUnreachableEmulatorSaysStartIt(t *testing.T) {
	isolate(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	endpoint := srv.URL
	srv.Close() // nothing listens there any more
	c := NewConnector(ConnectorOptions{Getenv: func(string) string { return "" }})
	_, err := c.clients(t.Context(), &Env{Region: "us-east-1", Endpoint: endpoint}, nil)
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v (%T), want an *UnreachableError", err, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "drill lab up --aws") || !strings.Contains(msg, endpoint) {
		t.Errorf("message %q names neither the endpoint nor `drill lab up --aws`", msg)
	}
}

// The SDK's own warnings (here the IMDSv1 fallback, from a loopback stand-in for instance
// metadata that refuses tokens) go through drill's logger, at info: hidden at the default
// warn level, shown with -v. The SDK's default logger would print them on stderr always.
func TestSDKLogsGoThroughSlog(t *testing.T) {
	for _, tc := range []struct {
		level slog.Level
		shown bool
	}{
		{slog.LevelWarn, false},
		{slog.LevelInfo, true},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			noCredentials(t)
			imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "no tokens here", http.StatusForbidden)
			}))
			t.Cleanup(imds.Close)
			t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
			t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: tc.level}))
			cfg, err := LoadConfig(t.Context(), ConfigOptions{Region: "us-east-1", Log: log})
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckCredentials(context.Background(), cfg, log); err == nil {
				t.Fatal("credentials found from a metadata service that has none")
			}
			if got := strings.Contains(logs.String(), "falling back to IMDSv1"); got != tc.shown {
				t.Errorf("at %v the IMDSv1 warning shown = %t, want %t; log:\n%s", tc.level, got, tc.shown, logs.String())
			}
		})
	}
}
