package awsenv

import (
	"context"
	"testing"
)

func TestResolveEndpoint(t *testing.T) {
	t.Parallel()
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvEndpoint {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name, configured, envValue, want string
	}{
		{"scenario wins", "http://127.0.0.1:4566", "http://127.0.0.1:5000", "http://127.0.0.1:4566"},
		{"env fallback", "", "http://127.0.0.1:5000", "http://127.0.0.1:5000"},
		{"real AWS", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ResolveEndpoint(tt.configured, env(tt.envValue)); got != tt.want {
				t.Errorf("ResolveEndpoint(%q) with AWS_ENDPOINT_URL=%q = %q, want %q", tt.configured, tt.envValue, got, tt.want)
			}
		})
	}
}

func TestLoadConfigNeedsRegion(t *testing.T) {
	t.Parallel()
	if _, err := LoadConfig(context.Background(), ConfigOptions{Endpoint: "http://127.0.0.1:1"}); err == nil {
		t.Fatal("LoadConfig without a region succeeded")
	}
}
