package probes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/drillhq/drill/internal/redact"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// maxBody bounds how much of a response is read: enough for any health page, small enough that
// a thousand probes cannot balloon memory. A body longer than this is not drained, so that one
// connection is closed rather than reused.
const maxBody = 1 << 20

// HTTPConfig is the `with:` block of an http probe.
type HTTPConfig struct {
	URL          string            `yaml:"url" doc:"http:// or https:// URL to request (required)"`
	Method       string            `yaml:"method" doc:"HTTP method"`
	ExpectStatus int               `yaml:"expectStatus" doc:"status code a healthy response has"`
	BodyContains string            `yaml:"bodyContains" doc:"text the body must contain (first 1 MiB is searched); empty: any body"`
	Headers      map[string]string `yaml:"headers" doc:"request headers; Host sets the virtual host"`
}

// Validate implements scenarios.Validator.
func (c *HTTPConfig) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, scenarios.FieldErrorf("url", "required"))
	} else if u, err := url.Parse(c.URL); err != nil {
		errs = append(errs, scenarios.FieldErrorf("url", "invalid URL %q", c.URL))
	} else if u.Scheme != "http" && u.Scheme != "https" {
		errs = append(errs, scenarios.FieldErrorf("url", "scheme must be http or https, got %q", u.Scheme))
	} else if u.Host == "" {
		errs = append(errs, scenarios.FieldErrorf("url", "%q has no host", c.URL))
	}
	if !isToken(c.Method) {
		errs = append(errs, scenarios.FieldErrorf("method", "invalid HTTP method %q", c.Method))
	}
	if c.ExpectStatus < 100 || c.ExpectStatus > 599 {
		errs = append(errs, scenarios.FieldErrorf("expectStatus", "must be an HTTP status between 100 and 599, got %d", c.ExpectStatus))
	}
	for k, v := range c.Headers {
		if !isToken(k) {
			errs = append(errs, scenarios.FieldErrorf("headers", "invalid header name %q", k))
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			errs = append(errs, scenarios.FieldErrorf("headers", "value of %q contains a line break or NUL", k))
		}
	}
	return errors.Join(errs...)
}

// isToken reports whether s is an RFC 9110 token, as method and header names must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// NewHTTPClient returns the client all http probes of a run share. Sampling is open-loop, so a
// thousand probes against one host at 100 ms keep ten thousand requests a second going.
//
// Connections per host are capped at 1024 and up to 1024 idle ones are kept (DefaultTransport
// keeps 2 idle and has no cap). The cap equals the idle limit on purpose: any connection beyond
// the idle limit is closed when its request ends and redialled by the next sample. Under a brief
// stall (GC, a noisy neighbour) that turns into a dial storm: requests time out, a timed-out
// HTTP/1.1 request takes its connection down with it, replacements are dialled, and the extra
// CPU makes more requests time out. Without the cap, 1,000 probes at 100 ms against one local
// server went from 64 connections to 26,000 dials in 4 s, with most samples timing out for
// seconds; with it, 0 samples failed. Excess samples now wait for a connection inside the client
// (bounded by their timeout) instead. Only a drill with over 1024 requests in flight to
// one host (e.g. over 85 probes at 100 ms with a 1 s timeout against a host that hangs) can see
// samples queue behind its own.
//
// The client has no overall timeout: each sample's ctx carries the probe's timeout. Proxies are
// taken from HTTP_PROXY/HTTPS_PROXY/NO_PROXY as usual, which never applies to localhost or
// loopback addresses; set NO_PROXY for other targets that must be probed directly. Redirects are
// followed (up to 10), so expectStatus applies to the final response.
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0 // no global cap; the per-host caps below bound it
	t.MaxIdleConnsPerHost = maxConnsPerHost
	t.MaxConnsPerHost = maxConnsPerHost
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t}
}

const maxConnsPerHost = 1024

// HTTPType is the `http` probe: healthy when a request gets the expected status and body.
// client is shared by every http probe; nil uses NewHTTPClient().
func HTTPType(client *http.Client) runner.ProbeType {
	if client == nil {
		client = NewHTTPClient()
	}
	return runner.NewProbeType("http", "HTTP request; healthy when the status (and optionally the body) matches",
		func() *HTTPConfig { return &HTTPConfig{Method: http.MethodGet, ExpectStatus: http.StatusOK} },
		func(cfg *HTTPConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			p, err := newHTTPProbe(client, cfg, spec.Timeout)
			if err != nil {
				return nil, err
			}
			p.redact = env.Redact
			return p, nil
		})
}

type httpProbe struct {
	client  *http.Client
	method  string
	url     string
	label   string // "GET http://host/path?token=[REDACTED]", prefixes every error
	redact  func(string) string
	header  http.Header
	host    string
	want    int
	body    []byte
	timeout time.Duration
}

func newHTTPProbe(client *http.Client, cfg *HTTPConfig, timeout time.Duration) (*httpProbe, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &httpProbe{
		client:  client,
		method:  cfg.Method,
		url:     cfg.URL,
		label:   cfg.Method + " " + redact.URL(cfg.URL),
		header:  http.Header{},
		want:    cfg.ExpectStatus,
		timeout: timeout,
	}
	if cfg.BodyContains != "" {
		p.body = []byte(cfg.BodyContains)
	}
	for k, v := range cfg.Headers {
		if http.CanonicalHeaderKey(k) == "Host" {
			p.host = v
			continue
		}
		p.header.Set(k, v)
	}
	return p, nil
}

// Check sends one request.
func (p *httpProbe) Check(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, p.method, p.url, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", p.label, err)
	}
	// Samples run concurrently and a client with a cookie jar writes to req.Header: give each
	// request its own map.
	req.Header = p.header.Clone()
	req.Host = p.host
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", p.label, p.transportError(ctx, err))
	}
	defer resp.Body.Close()

	var body []byte
	if p.body != nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	} else {
		// Drain so the connection goes back to the pool for the next sample.
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	}
	if resp.StatusCode != p.want {
		return fmt.Errorf("%s: status %d, want %d", p.label, resp.StatusCode, p.want)
	}
	if err != nil {
		return fmt.Errorf("%s: read body: %w", p.label, p.transportError(ctx, err))
	}
	if p.body != nil && !bytes.Contains(body, p.body) {
		return fmt.Errorf("%s: body does not contain %q (got %s)", p.label, p.body, snippet(p.redactBody(body)))
	}
	return nil
}

// transportError shortens client errors: the *url.Error wrapper repeats the method and URL the
// label already has, and a deadline is reported as the probe's timeout.
func (p *httpProbe) transportError(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if p.timeout > 0 {
			return fmt.Errorf("timed out after %v", p.timeout)
		}
		return errors.New("timed out")
	}
	return trimNetError(err)
}

// redactBody removes secrets before snippet cuts the body short, where half a secret would no
// longer be recognised.
func (p *httpProbe) redactBody(b []byte) []byte {
	if p.redact == nil {
		return b
	}
	return []byte(p.redact(string(b)))
}

// snippet quotes the start of a body for an error message.
func snippet(b []byte) string {
	const max = 80
	if len(b) == 0 {
		return "empty body"
	}
	if len(b) > max {
		return fmt.Sprintf("%q…", b[:max])
	}
	return fmt.Sprintf("%q", b)
}
