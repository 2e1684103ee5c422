package redact

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestApply(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"no secrets", nil, "exited 1: boom", "exited 1: boom"},
		{"one secret", []string{"s3cr3t-t0ken"}, "exited 1: token s3cr3t-t0ken rejected", "exited 1: token [REDACTED] rejected"},
		{"every occurrence", []string{"abcd1234"}, "abcd1234 and abcd1234", "[REDACTED] and [REDACTED]"},
		{"substring secret: longest wins whole", []string{"pass", "password123"}, "got password123", "got [REDACTED]"},
		{"substring secret: shorter still redacted alone", []string{"pass1234", "pass1234-long"}, "a=pass1234 b=pass1234-long", "a=[REDACTED] b=[REDACTED]"},
		{"overlapping secrets merge", []string{"abcdef12", "ef12ghij"}, "xabcdef12ghijx", "x[REDACTED]x"},
		{"adjacent secrets merge", []string{"aaaa1111", "bbbb2222"}, "aaaa1111bbbb2222", "[REDACTED]"},
		{"self-overlapping", []string{"aaaa"}, "aaaaaa", "[REDACTED]"},
		{"query-escaped form", []string{"a b&c=d/e"}, "GET /x?t=a+b%26c%3Dd%2Fe", "GET /x?t=[REDACTED]"},
		{"path-escaped form", []string{"a b/cdef"}, "path /a%20b%2Fcdef/x", "path /[REDACTED]/x"},
		{"empty secret ignored", []string{""}, "text", "text"},
		{"url scrubbed without secrets", nil, `Get "http://127.0.0.1:1/h?token=abc": refused`, `Get "http://127.0.0.1:1/h?token=[REDACTED]": refused`},
		{"secret in url", []string{"tok-9876"}, "GET http://h/p?token=tok-9876", "GET http://h/p?token=[REDACTED]"},
		{"unicode", []string{"pässwörd"}, "x pässwörd y", "x [REDACTED] y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := New(tt.secrets...).Apply(tt.in); got != tt.want {
				t.Errorf("Apply(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNilSecretsScrubURLs(t *testing.T) {
	var s *Secrets
	if got, want := s.Apply("http://u:p@h/x"), "http://[REDACTED]@h/x"; got != want {
		t.Errorf("nil Apply = %q, want %q", got, want)
	}
	if s.Len() != 0 {
		t.Errorf("nil Len = %d", s.Len())
	}
}

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:8080/health", "http://127.0.0.1:8080/health"},
		{"https://user:pass@example.com/x", "https://[REDACTED]@example.com/x"},
		{"https://user@example.com", "https://[REDACTED]@example.com"},
		{"https://u:p@ss@example.com/", "https://[REDACTED]@example.com/"},
		{"http://h/p?token=abc&x=1", "http://h/p?token=[REDACTED]&x=[REDACTED]"},
		{"http://h/p?rawtoken", "http://h/p?[REDACTED]"},
		{"http://h?token=abc", "http://h?token=[REDACTED]"},
		{"http://h/p#access_token=abc", "http://h/p#[REDACTED]"},
		{"http://h/p?a=b#frag", "http://h/p?a=[REDACTED]#[REDACTED]"},
		{"http://h/p?", "http://h/p?"},
		{"postgres://app:hunter2@db:5432/orders?sslmode=disable&password=x", "postgres://[REDACTED]@db:5432/orders?sslmode=[REDACTED]&password=[REDACTED]"},
		{"app:hunter2@tcp(db:3306)/orders?parseTime=true", "[REDACTED]@tcp(db:3306)/orders?parseTime=[REDACTED]"},
		{"app:hunter2@unix(/run/mysqld/mysqld.sock)/orders", "[REDACTED]@unix(/run/mysqld/mysqld.sock)/orders"},
		{"app:hunter2@/orders", "[REDACTED]@/orders"},
		{"host=db user=app password=hunter2 dbname=orders", "host=db user=app password=[REDACTED] dbname=orders"},
		{"host=db password='hunter 2' dbname=orders", "host=db password=[REDACTED] dbname=orders"},
		{"alice@example.com", "alice@example.com"},
		{"m1@127.0.0.1", "m1@127.0.0.1"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`GET http://h/x?token=abc: status 500, want 200`, `GET http://h/x?token=[REDACTED]: status 500, want 200`},
		{`Get "https://u:p@h/x": dial tcp 127.0.0.1:1: connect: connection refused`, `Get "https://[REDACTED]@h/x": dial tcp 127.0.0.1:1: connect: connection refused`},
		{`dial root:pw@tcp(127.0.0.1:3306)/db failed`, `dial [REDACTED]@tcp(127.0.0.1:3306)/db failed`},
		{`url=postgres://a:b@h/d next`, `url=postgres://[REDACTED]@h/d next`},
		{`PGPASSWORD=hunter2 psql`, `PGPASSWORD=[REDACTED] psql`},
		{`Password = hunter2`, `Password = [REDACTED]`},
		{"two urls http://a:b@h1/ and http://h2/?q=1", "two urls http://[REDACTED]@h1/ and http://h2/?q=[REDACTED]"},
		{"mail bob@example.com about it", "mail bob@example.com about it"},
		{"exited 3: no route", "exited 3: no route"},
	}
	for _, tt := range tests {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) =\n  %q\nwant\n  %q", tt.in, got, tt.want)
		}
	}
}

func TestInPlace(t *testing.T) {
	type kind string
	type inner struct {
		Msg   string
		Kind  kind
		Items []string
	}
	type doc struct {
		A      string
		P      *inner
		L      []inner
		M      map[string]string
		Any    any
		hidden string
	}
	const sec = "topsecret-1"
	d := &doc{
		A:      "a " + sec,
		P:      &inner{Msg: sec, Kind: kind(sec), Items: []string{sec, "ok"}},
		L:      []inner{{Msg: "x" + sec}},
		M:      map[string]string{"k": sec, sec: "v"},
		Any:    "any " + sec,
		hidden: sec,
	}
	New(sec).InPlace(d)
	if d.A != "a [REDACTED]" || d.P.Msg != Marker || d.P.Items[0] != Marker || d.P.Items[1] != "ok" ||
		d.L[0].Msg != "x[REDACTED]" || d.M["k"] != Marker || d.M[Marker] != "v" || d.Any != "any [REDACTED]" {
		t.Errorf("not redacted: %+v %+v %+v", d, *d.P, d.L)
	}
	if _, ok := d.M[sec]; ok {
		t.Error("map key not redacted")
	}
	if d.P.Kind != kind(sec) || d.hidden != sec {
		t.Error("named string type or unexported field was changed")
	}
	New(sec).InPlace(nil) // must not panic
}

func TestHandler(t *testing.T) {
	const sec = "s3cr3t-value"
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), New(sec)))
	log = log.With("with", "w "+sec)
	log.Debug("msg "+sec, "s", sec, "err", errors.New("e "+sec), "b", []byte(sec), "n", 42,
		slog.Group("g", "inner", sec), "any", struct{ X string }{sec}, "url", "http://u:p@h/?t=1")
	out := buf.String()
	if strings.Contains(out, sec) || strings.Contains(out, "u:p@") || strings.Contains(out, "t=1") {
		t.Errorf("secret logged: %s", out)
	}
	if c := strings.Count(out, Marker); c < 7 {
		t.Errorf("want the marker at least 7 times, got %d: %s", c, out)
	}
	if !strings.Contains(out, "n=42") {
		t.Errorf("number attribute lost: %s", out)
	}
	if !log.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("Enabled not forwarded")
	}
}

func BenchmarkApplyPlainEvent(b *testing.B) {
	s := New("tok-0123456789abcdef", "another-secret")
	msg := "cluster-health down: 2 of 3 members answered, need 3: context deadline exceeded"
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Apply(msg)
	}
}
