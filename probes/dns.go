package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/drillhq/drill/internal/dnsanswer"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// DNSConfig is the `with:` block of the dns probe.
type DNSConfig struct {
	Name     string   `yaml:"name" doc:"name to resolve"`
	Type     string   `yaml:"type" doc:"A, AAAA, CNAME or TXT"`
	Resolver string   `yaml:"resolver" doc:"resolver host:port (default: the system's resolvers)"`
	Expect   []string `yaml:"expect" doc:"healthy when the answer is non-empty and only these values (any answer when empty)"`
}

// Validate implements scenarios.Validator.
func (c *DNSConfig) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, scenarios.FieldErrorf("name", "required"))
	}
	switch strings.ToUpper(c.Type) {
	case "A", "AAAA", "CNAME", "TXT":
	default:
		errs = append(errs, scenarios.FieldErrorf("type", "want A, AAAA, CNAME or TXT, got %q", c.Type))
	}
	if c.Resolver != "" {
		if _, _, err := net.SplitHostPort(c.Resolver); err != nil {
			errs = append(errs, scenarios.FieldErrorf("resolver", "want host:port, got %q", c.Resolver))
		}
	}
	return errors.Join(errs...)
}

// DNSType is the dns probe: resolve a name through a given resolver and expect an answer. It
// sees what clients see (TTL and resolver caching included), which Route 53's own view cannot.
func DNSType() runner.ProbeType {
	return runner.NewProbeType("dns",
		"Resolve a name with a given resolver; healthy when it answers (the expected values)",
		func() *DNSConfig { return &DNSConfig{Type: "A"} },
		func(cfg *DNSConfig, spec scenarios.ProbeSpec, env *runner.Env) (runner.Probe, error) {
			return NewDNS(*cfg), nil
		})
}

// DNS is the probe.
type DNS struct {
	cfg DNSConfig
	r   *net.Resolver
}

// NewDNS returns the probe.
func NewDNS(cfg DNSConfig) *DNS {
	r := net.DefaultResolver
	if cfg.Resolver != "" {
		addr := cfg.Resolver
		r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
	}
	return &DNS{cfg: cfg, r: r}
}

// Check implements runner.Probe.
func (p *DNS) Check(ctx context.Context) error {
	var answer []string
	var err error
	switch strings.ToUpper(p.cfg.Type) {
	case "A", "AAAA":
		network := "ip4"
		if strings.EqualFold(p.cfg.Type, "AAAA") {
			network = "ip6"
		}
		var ips []net.IP
		ips, err = p.r.LookupIP(ctx, network, p.cfg.Name)
		for _, ip := range ips {
			answer = append(answer, ip.String())
		}
	case "CNAME":
		var c string
		c, err = p.r.LookupCNAME(ctx, p.cfg.Name)
		if c != "" {
			answer = []string{c}
		}
	case "TXT":
		answer, err = p.r.LookupTXT(ctx, p.cfg.Name)
	}
	if err != nil {
		return fmt.Errorf("resolve %s %s: %w", p.cfg.Type, p.cfg.Name, err)
	}
	if err := dnsanswer.Match(answer, p.cfg.Expect); err != nil {
		return fmt.Errorf("%s %s %w", p.cfg.Name, p.cfg.Type, err)
	}
	return nil
}
