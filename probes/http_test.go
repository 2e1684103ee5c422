package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/internal/redact"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// newHTTP builds an http probe the way the runner does: defaults from NewConfig, then the
// scenario's values, then New.
func newHTTP(t *testing.T, client *http.Client, timeout time.Duration, set func(*HTTPConfig)) runner.Probe {
	t.Helper()
	typ := HTTPType(client)
	cfg := typ.NewConfig().(*HTTPConfig)
	set(cfg)
	p, err := typ.New(scenarios.ProbeSpec{Name: "web", Type: "http", Timeout: timeout, With: cfg}, runner.NewEnv(nil, nil))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func TestHTTPProbe(t *testing.T) {
	t.Parallel()
	type request struct {
		Method string
		Host   string
		Token  string
		Accept string
	}
	tests := []struct {
		name    string
		status  int
		body    string
		set     func(c *HTTPConfig, url string)
		wantReq *request
		wantErr string // "" = healthy; otherwise the error after "<METHOD> <url>: "
	}{
		{name: "200 ok", status: 200, body: "ok", set: func(c *HTTPConfig, u string) { c.URL = u }},
		{
			name: "status mismatch", status: 503, body: "down",
			set:     func(c *HTTPConfig, u string) { c.URL = u },
			wantErr: "status 503, want 200",
		},
		{
			name: "expected non-200 status", status: 204,
			set: func(c *HTTPConfig, u string) { c.URL = u; c.ExpectStatus = 204 },
		},
		{
			name: "body contains", status: 200, body: `{"status":"ready","members":3}`,
			set: func(c *HTTPConfig, u string) { c.URL = u; c.BodyContains = `"ready"` },
		},
		{
			name: "body mismatch", status: 200, body: `{"status":"starting"}`,
			set:     func(c *HTTPConfig, u string) { c.URL = u; c.BodyContains = "ready" },
			wantErr: `body does not contain "ready" (got "{\"status\":\"starting\"}")`,
		},
		{
			name: "empty body mismatch", status: 200,
			set:     func(c *HTTPConfig, u string) { c.URL = u; c.BodyContains = "ready" },
			wantErr: `body does not contain "ready" (got empty body)`,
		},
		{
			name: "status checked before body", status: 500, body: "ready",
			set:     func(c *HTTPConfig, u string) { c.URL = u; c.BodyContains = "ready" },
			wantErr: "status 500, want 200",
		},
		{
			name: "method and headers sent", status: 200,
			set: func(c *HTTPConfig, u string) {
				c.URL = u
				c.Method = "HEAD"
				c.Headers = map[string]string{"X-Token": "s3cret", "host": "orders.internal", "Accept": "text/plain"}
			},
			wantReq: &request{Method: "HEAD", Host: "orders.internal", Token: "s3cret", Accept: "text/plain"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu  sync.Mutex
				got request
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				got = request{Method: r.Method, Host: r.Host, Token: r.Header.Get("X-Token"), Accept: r.Header.Get("Accept")}
				mu.Unlock()
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			url := srv.URL + "/health"
			p := newHTTP(t, srv.Client(), time.Second, func(c *HTTPConfig) { tt.set(c, url) })

			err := p.Check(t.Context())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
			} else {
				var method string
				if err != nil {
					method, _, _ = strings.Cut(err.Error(), " ")
				}
				want := method + " " + url + ": " + tt.wantErr
				if err == nil || err.Error() != want {
					t.Fatalf("Check error = %v, want %q", err, want)
				}
			}
			if tt.wantReq != nil {
				mu.Lock()
				defer mu.Unlock()
				if diff := cmp.Diff(*tt.wantReq, got); diff != "" {
					t.Errorf("request (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestHTTPProbeConnectionRefused(t *testing.T) {
	t.Parallel()
	addr := closedPort(t)
	url := "http://" + addr + "/health"
	p := newHTTP(t, NewHTTPClient(), time.Second, func(c *HTTPConfig) { c.URL = url })
	err := p.Check(t.Context())
	want := "GET " + url + ": dial tcp " + addr + ": connection refused"
	if err == nil || err.Error() != want {
		t.Fatalf("Check error = %v, want %q", err, want)
	}
}

func TestHTTPProbeRedactsPassword(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	url := strings.Replace(srv.URL, "http://", "http://admin:hunter2@", 1)
	p := newHTTP(t, srv.Client(), time.Second, func(c *HTTPConfig) { c.URL = url })
	err := p.Check(t.Context())
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "status 401") {
		t.Fatalf("Check error = %v, want a 401 error without the password", err)
	}
}

// A hung server must not hold a sample past its deadline.
func TestHTTPProbeTimeoutHonoured(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // hang until the client gives up
	}))
	defer srv.Close()
	url := srv.URL + "/"
	const timeout = 200 * time.Millisecond
	p := newHTTP(t, NewHTTPClient(), timeout, func(c *HTTPConfig) { c.URL = url })

	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Check(ctx) }()
	select {
	case err := <-errc:
		want := "GET " + url + ": timed out after 200ms"
		if err == nil || err.Error() != want {
			t.Fatalf("Check error = %v, want %q", err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Check did not return within 5s of a 200ms deadline")
	}
}

// Samples every few milliseconds must reuse connections, including after a failing status and
// when the body is not inspected, or a busy drill exhausts ephemeral ports.
func TestHTTPProbeReusesConnections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		status       int
		bodyContains string
	}{
		{"body ignored", 200, ""},
		{"body inspected", 200, "needle"},
		{"failing status", 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var conns atomic.Int32
			body := strings.Repeat("x", 64<<10) + "needle"
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(body))
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			client := NewHTTPClient()
			defer client.CloseIdleConnections()
			p := newHTTP(t, client, time.Second, func(c *HTTPConfig) {
				c.URL = srv.URL
				c.BodyContains = tt.bodyContains
			})
			for range 20 {
				err := p.Check(t.Context())
				if (err == nil) != (tt.status == 200) {
					t.Fatalf("Check: %v", err)
				}
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("20 sequential samples opened %d connections, want 1", n)
			}
		})
	}
}

func TestHTTPProbeBodyLimit(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", maxBody) + "needle"))
	}))
	defer srv.Close()
	p := newHTTP(t, srv.Client(), time.Second, func(c *HTTPConfig) { c.URL = srv.URL; c.BodyContains = "needle" })
	err := p.Check(t.Context())
	if err == nil || !strings.Contains(err.Error(), `body does not contain "needle"`) {
		t.Fatalf("Check error = %v, want needle beyond the 1 MiB limit not found", err)
	}
}

func TestHTTPTypeRejectsWrongConfig(t *testing.T) {
	t.Parallel()
	_, err := HTTPType(nil).New(scenarios.ProbeSpec{Name: "web", With: &TCPConfig{Address: "x:1"}}, runner.NewEnv(nil, nil))
	if err == nil {
		t.Fatal("New accepted a tcp config")
	}
	_, err = HTTPType(nil).New(scenarios.ProbeSpec{Name: "web", With: &HTTPConfig{URL: "ftp://x", Method: "GET", ExpectStatus: 200}}, runner.NewEnv(nil, nil))
	if !errors.As(err, new(scenarios.FieldError)) {
		t.Fatalf("New error = %v, want a FieldError", err)
	}
}

func TestNewHTTPClientPoolsPerHost(t *testing.T) {
	t.Parallel()
	tr, ok := NewHTTPClient().Transport.(*http.Transport)
	if !ok {
		t.Fatalf("Transport is %T", NewHTTPClient().Transport)
	}
	// Connections beyond the idle limit would be closed after each request and redialled.
	if tr.MaxIdleConnsPerHost < 1000 || tr.MaxConnsPerHost != tr.MaxIdleConnsPerHost || tr.MaxIdleConns != 0 || tr.Proxy == nil {
		t.Errorf("MaxIdleConnsPerHost=%d MaxConnsPerHost=%d MaxIdleConns=%d proxy set=%v; want >=1000, equal to the idle limit, 0 (unlimited), true",
			tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost, tr.MaxIdleConns, tr.Proxy != nil)
	}
	if tr == http.DefaultTransport {
		t.Error("NewHTTPClient must not share http.DefaultTransport")
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestHTTPProbeRedactsUserAndQuery(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		// A server echoing the credential back, placed so the 80-byte snippet cuts it in half.
		fmt.Fprintf(w, "%s token=%s", strings.Repeat("x", 65), r.URL.Query().Get("token"))
	}))
	defer srv.Close()
	const tok = "tok-abcdefghijklmnop"
	u := strings.Replace(srv.URL, "http://", "http://admin:hunter2@", 1) + "/health?token=" + tok
	env := runner.NewEnv(&scenarios.Scenario{Secrets: redact.New(tok)}, nil)
	typ := HTTPType(srv.Client())
	cfg := typ.NewConfig().(*HTTPConfig)
	cfg.URL, cfg.ExpectStatus, cfg.BodyContains = u, 503, "healthy"
	p, err := typ.New(scenarios.ProbeSpec{Name: "web", Type: "http", Timeout: time.Second, With: cfg}, env)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Check(t.Context())
	if err == nil {
		t.Fatal("Check succeeded, want a body mismatch")
	}
	msg := err.Error()
	for _, leak := range []string{"admin", "hunter2", tok, tok[:8]} {
		if strings.Contains(msg, leak) {
			t.Errorf("error leaks %q: %s", leak, msg)
		}
	}
	wantLabel := "GET http://[REDACTED]@" + strings.TrimPrefix(srv.URL, "http://") + "/health?token=[REDACTED]: "
	if !strings.HasPrefix(msg, wantLabel) || !strings.Contains(msg, "token=[REDACTED]") {
		t.Errorf("error = %s\nwant prefix %s", msg, wantLabel)
	}

	// Closed port: the transport error must not repeat the raw URL either.
	addr := closedPort(t)
	p = newHTTP(t, NewHTTPClient(), time.Second, func(c *HTTPConfig) { c.URL = "http://" + addr + "/h?token=" + tok })
	if err := p.Check(t.Context()); err == nil || strings.Contains(err.Error(), tok) {
		t.Errorf("connection refused error = %v, want it without the token", err)
	}
}
