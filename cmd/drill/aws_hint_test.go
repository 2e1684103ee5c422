package main

import (
	"os"
	"strings"
	"testing"
)

// Without AWS credentials, the verbs that need them say what to set in a line or two instead of
// printing the SDK's credential chain. Any request that escaped anyway would go to a dead
// loopback proxy, never to AWS.
func TestAWSNoCredentialsSaysWhatToSet(t *testing.T) {
	for k, v := range map[string]string{
		"HOME": t.TempDir(), "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1",
		"HTTPS_PROXY": "http://127.0.0.1:1", "HTTP_PROXY": "http://127.0.0.1:1", "NO_PROXY": "",
	} {
		t.Setenv(k, v)
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for name, args := range map[string][]string{
		"results init": {"results", "init"},
		"run dry-run":  {"run", "--dry-run", "--yes", "../../scenarios/library/aws/rds-multi-az-failover.yaml"},
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, args...)
			out := stdout + stderr
			if code == 0 {
				t.Fatalf("exit 0 without credentials\n%s", out)
			}
			for _, w := range []string{"no AWS credentials", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL", "drill lab up --aws"} {
				if !strings.Contains(out, w) {
					t.Errorf("output does not mention %q:\n%s", w, out)
				}
			}
			for _, raw := range []string{"IMDS", "get credentials", "goroutine "} {
				if strings.Contains(out, raw) {
					t.Errorf("output contains the SDK's %q:\n%s", raw, out)
				}
			}
		})
	}
}
