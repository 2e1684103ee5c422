package awsenv

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// trap records every connection the SDK's HTTP client tries to open and opens none, so no
// request can leave the machine whatever the code under test decides.
type trap struct {
	mu    sync.Mutex
	addrs []string
}

func (t *trap) client() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.Proxy = nil
		tr.DialContext = func(_ context.Context, _, addr string) (net.Conn, error) {
			t.mu.Lock()
			defer t.mu.Unlock()
			t.addrs = append(t.addrs, addr)
			return nil, errors.New("trapped: tests send nothing")
		}
	})
}

func (t *trap) dialed() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.addrs...)
}

// isolate keeps the developer's AWS configuration out of a test: no profile, no instance
// metadata, no endpoint variables, fake static keys (never sent anywhere: see trap).
func isolate(t *testing.T) {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ACCESS_KEY_ID": "AKIDDRILLTEST", "AWS_SECRET_ACCESS_KEY": "drill-test",
	} {
		t.Setenv(k, v)
	}
	for _, k := range []string{"AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_EC2", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// emulator is a loopback HTTP server that counts what reaches it (nothing should).
func emulator(t *testing.T) (string, *int) {
	t.Helper()
	var mu sync.Mutex
	hits := new(int)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		*hits++
		mu.Unlock()
		http.Error(w, "not an emulator", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, hits
}

// When the SDK is told to ignore configured endpoints, a scenario pointed at an emulator runs
// against real AWS, and is treated so: with no account allowed, it is refused before any call.
// Every request goes through the trap, so none can leave the machine.
func TestIgnoredEndpointMeansRealAWS(t *testing.T) {
	for _, how := range []string{"environment variable", "profile"} {
		for _, declared := range []bool{false, true} {
			name := how
			if declared {
				name += ", emulator declared"
			}
			t.Run(name, func(t *testing.T) {
				isolate(t)
				switch how {
				case "environment variable":
					t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
				case "profile":
					profile := filepath.Join(t.TempDir(), "config")
					if err := os.WriteFile(profile, []byte("[default]\nignore_configured_endpoint_urls = true\n"), 0o600); err != nil {
						t.Fatal(err)
					}
					t.Setenv("AWS_CONFIG_FILE", profile)
				}
				endpoint, hits := emulator(t)
				tr := &trap{}
				c := NewConnector(ConnectorOptions{Getenv: func(string) string { return "" }, HTTPClient: tr.client()})
				_, err := c.clients(context.Background(), &Env{Region: "us-east-1", Endpoint: endpoint, Emulator: declared}, nil)
				if err == nil || !strings.Contains(err.Error(), "refusing to run against real AWS") {
					t.Errorf("connect = %v; want a refusal to run against real AWS", err)
				}
				if addrs := tr.dialed(); len(addrs) > 0 {
					t.Errorf("connections were opened to %v", addrs)
				}
				if *hits > 0 {
					t.Errorf("%d requests reached the emulator, which the SDK was told to ignore", *hits)
				}
			})
		}
	}
}

func TestJudgeEndpoints(t *testing.T) {
	isolate(t)
	tests := []struct {
		name     string
		endpoint string
		declared bool
		ignore   bool
		want     bool
	}{
		{"loopback emulator", "http://127.0.0.1:5000", false, false, true},
		{"localhost", "http://localhost:4566", false, false, true},
		{"ipv6 loopback", "http://[::1]:4566", false, false, true},
		{"another host", "http://10.1.2.3:4566", false, false, false},
		{"another host declared an emulator", "http://10.1.2.3:4566", true, false, true},
		{"no endpoint", "", false, false, false},
		{"no endpoint, declared an emulator", "", true, false, false},
		{"endpoint ignored", "http://127.0.0.1:5000", false, true, false},
		{"endpoint ignored, declared an emulator", "http://127.0.0.1:5000", true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.ignore {
				t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
			} else {
				t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false")
			}
			cfg, err := LoadConfig(context.Background(), ConfigOptions{Region: "us-east-1", Endpoint: tt.endpoint})
			if err != nil {
				t.Fatal(err)
			}
			eps, err := resolvedEndpoints(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got, why := judgeEndpoints(eps, tt.endpoint, tt.declared); got != tt.want {
				t.Errorf("emulator = %v (%s), want %v", got, why, tt.want)
			}
		})
	}
}

// Every client is judged: one service sent to loopback by AWS_ENDPOINT_URL_<SERVICE> does not
// make a run whose other clients call AWS an emulator run.
func TestEveryClientIsJudged(t *testing.T) {
	isolate(t)
	t.Setenv("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:5000")
	cfg, err := LoadConfig(context.Background(), ConfigOptions{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	eps, err := resolvedEndpoints(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if eps[0].service != "EC2" || eps[0].url.Host != "127.0.0.1:5000" {
		t.Fatalf("EC2 resolves to %s, want the loopback override", eps[0].url)
	}
	if emu, why := judgeEndpoints(eps, "", false); emu || !strings.Contains(why, "amazonaws.com") {
		t.Errorf("emulator = %v (%s), want real AWS", emu, why)
	}
}

// The data probes' clients (S3, DynamoDB) are judged like the others: an emulator run whose S3
// or DynamoDB calls an override sends elsewhere is real AWS, and the refusal names the service.
func TestDataClientsAreJudged(t *testing.T) {
	for _, svc := range []struct{ env, name string }{{"AWS_ENDPOINT_URL_S3", "S3"}, {"AWS_ENDPOINT_URL_DYNAMODB", "DynamoDB"}} {
		t.Run(svc.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
			t.Setenv(svc.env, "http://10.1.2.3:4566")
			cfg, err := LoadConfig(context.Background(), ConfigOptions{Region: "us-east-1"})
			if err != nil {
				t.Fatal(err)
			}
			eps, err := resolvedEndpoints(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			emu, why := judgeEndpoints(eps, "", false)
			if emu || !strings.HasPrefix(why, svc.name+" calls go to http://10.1.2.3:4566") {
				t.Errorf("emulator = %v (%s), want real AWS because of %s", emu, why, svc.name)
			}
			t.Setenv(svc.env, "")
			os.Unsetenv(svc.env)
			cfg, err = LoadConfig(context.Background(), ConfigOptions{Region: "us-east-1"})
			if err != nil {
				t.Fatal(err)
			}
			if eps, err = resolvedEndpoints(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			if emu, why := judgeEndpoints(eps, "", false); !emu {
				t.Errorf("without the override: emulator = false (%s), want true", why)
			}
		})
	}
}
