package probes

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsServer answers A queries for name with addrs on a loopback UDP port.
func dnsServer(t *testing.T, name string, addrs ...[4]byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
			b.EnableCompression()
			_ = b.StartQuestions()
			_ = b.Question(q)
			_ = b.StartAnswers()
			if q.Type == dnsmessage.TypeA && strings.EqualFold(q.Name.String(), name+".") {
				for _, a := range addrs {
					_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: a})
				}
			}
			msg, err := b.Finish()
			if err != nil {
				continue
			}
			_, _ = pc.WriteTo(msg, from)
		}
	}()
	return pc.LocalAddr().String()
}

func TestDNSProbe(t *testing.T) {
	t.Parallel()
	addr := dnsServer(t, "app.orders.test", [4]byte{10, 1, 0, 10})
	tests := []struct {
		name   string
		cfg    DNSConfig
		health bool
	}{
		{"answers the DR target", DNSConfig{Name: "app.orders.test", Type: "A", Resolver: addr, Expect: []string{"10.1.0.10"}}, true},
		{"answers, any value", DNSConfig{Name: "app.orders.test", Type: "A", Resolver: addr}, true},
		{"still the primary", DNSConfig{Name: "app.orders.test", Type: "A", Resolver: addr, Expect: []string{"10.0.0.10"}}, false},
		{"no such name", DNSConfig{Name: "nothing.orders.test", Type: "A", Resolver: addr}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := NewDNS(tt.cfg).Check(ctx)
			if (err == nil) != tt.health {
				t.Errorf("Check() = %v, want healthy=%v", err, tt.health)
			}
		})
	}
}
