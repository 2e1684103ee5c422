// Package redact keeps secrets out of everything drill prints or stores: values a scenario took
// from the environment (Secrets), and the credentials and query strings of URLs and DSNs that
// appear in error messages (URL, Text). Every output of a run passes through it once, so callers
// that build messages need not know which parts are sensitive.
package redact

import (
	"net/url"
	"slices"
	"strings"
)

// Marker replaces what was removed. It is plain ASCII so it survives every output format
// unescaped and a reader can grep for it.
const Marker = "[REDACTED]"

// Secrets is a set of literal values to remove from text. The zero value and nil hold none, and
// their Apply still scrubs URLs and DSNs. A Secrets is immutable and safe for concurrent use.
type Secrets struct {
	values []string // longest first, no duplicates, none empty
}

// New returns the set of values to redact. Empty values are ignored: they would match
// everywhere. Each value's URL-escaped forms are added too, because a token placed in a URL
// is printed escaped by net/url.
func New(values ...string) *Secrets {
	var vs []string
	for _, v := range values {
		if v == "" {
			continue
		}
		vs = append(vs, v, url.QueryEscape(v), url.PathEscape(v))
	}
	// Longest first, so that when one secret contains another the longer one is found whole
	// (Apply merges overlapping matches anyway; the order keeps that loop short).
	slices.SortFunc(vs, func(a, b string) int {
		if d := len(b) - len(a); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return &Secrets{values: slices.Compact(vs)}
}

// Len is the number of distinct values redacted, escaped forms included.
func (s *Secrets) Len() int {
	if s == nil {
		return 0
	}
	return len(s.values)
}

// Apply returns text with every occurrence of a secret replaced by Marker, then URL and DSN
// credentials and query strings scrubbed (Text). Overlapping or adjacent occurrences become a
// single Marker, so no fragment of a secret survives between two matches.
func (s *Secrets) Apply(text string) string {
	if s != nil && len(s.values) > 0 && text != "" {
		text = s.replace(text)
	}
	return Text(text)
}

func (s *Secrets) replace(text string) string {
	var covered []bool // allocated on the first match: most strings hold no secret
	for _, v := range s.values {
		for i := 0; i+len(v) <= len(text); {
			j := strings.Index(text[i:], v)
			if j < 0 {
				break
			}
			if covered == nil {
				covered = make([]bool, len(text))
			}
			for k := i + j; k < i+j+len(v); k++ {
				covered[k] = true
			}
			i += j + 1 // overlapping occurrences ("aaaa" in "aaaaa") are covered too
		}
	}
	if covered == nil {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for i := 0; i < len(text); {
		if !covered[i] {
			b.WriteByte(text[i])
			i++
			continue
		}
		b.WriteString(Marker)
		for i < len(text) && covered[i] {
			i++
		}
	}
	return b.String()
}

// URL returns a URL or DSN fit to print: the userinfo (user and password) and the value of
// every query parameter and the fragment are replaced by Marker; scheme, host, port and path
// stay, as they are what a reader needs to know what was probed. It accepts
// "scheme://user:pass@host/path?k=v", MySQL-style "user:pass@tcp(host:port)/db?k=v" and
// key=value DSNs ("host=h password=p"). Text that is none of these is returned unchanged.
func URL(raw string) string { return Text(raw) }

// Text scrubs every URL and DSN found in free text (an error message, a stderr line) as URL
// does, and the value of password=, passwd= and pwd= pairs anywhere.
func Text(s string) string {
	// Most strings (every timeline event of a long drill) hold no URL, DSN or pair: skip them
	// without allocating.
	if !strings.Contains(s, "://") && strings.IndexByte(s, '@') < 0 {
		return scrubPasswordPairs(s)
	}
	var b strings.Builder
	changed := false
	for i := 0; i < len(s); {
		if isDelim(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && !isDelim(s[j]) {
			j++
		}
		w := scrubWord(s[i:j])
		changed = changed || w != s[i:j]
		b.WriteString(w)
		i = j
	}
	out := s
	if changed {
		out = b.String()
	}
	return scrubPasswordPairs(out)
}

// isDelim ends a word: URLs and DSNs contain none of these (net/http quotes URLs in errors).
func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f', '"', '\'', '`', '<', '>':
		return true
	}
	return false
}

func scrubWord(w string) string {
	if i := strings.Index(w, "://"); i > 0 {
		start := i
		for start > 0 && isSchemeByte(w[start-1]) {
			start--
		}
		if start < i {
			// Punctuation that ends a sentence or an error label ("GET http://h/x?t=1: status
			// 500") belongs to the text, not to the query value.
			end := len(w)
			for end > i+3 && strings.IndexByte(":,.;)", w[end-1]) >= 0 {
				end--
			}
			return w[:start] + scrubURL(w[start:end], i-start) + w[end:]
		}
	}
	return scrubMySQL(w)
}

func isSchemeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'
}

// scrubURL handles u = scheme "://" rest, with the "://" at sep. It works on the text rather
// than through url.Parse so that malformed URLs (the ones in error messages) are scrubbed too.
func scrubURL(u string, sep int) string {
	head, rest := u[:sep+3], u[sep+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		authority = Marker + authority[at:]
	}
	return head + authority + scrubQuery(tail)
}

// scrubQuery keeps the path and the parameter names of a query, so an error still says which
// parameters were sent, and replaces every value and the fragment.
func scrubQuery(tail string) string {
	q := strings.IndexAny(tail, "?#")
	if q < 0 || q == len(tail)-1 {
		return tail
	}
	path, query := tail[:q+1], tail[q+1:]
	if tail[q] == '#' {
		return path + Marker
	}
	query, _, hasFrag := strings.Cut(query, "#")
	parts := strings.Split(query, "&")
	for i, p := range parts {
		switch k, _, ok := strings.Cut(p, "="); {
		case ok:
			parts[i] = k + "=" + Marker
		case p != "":
			parts[i] = Marker
		}
	}
	out := path + strings.Join(parts, "&")
	if hasFrag {
		out += "#" + Marker
	}
	return out
}

// scrubMySQL handles the go-sql-driver form user:pass@proto(address)/db?params, and
// user:pass@/db. An e-mail address (no "(" or "/" after the "@") is left alone.
func scrubMySQL(w string) string {
	for at := strings.IndexByte(w, '@'); at > 0; {
		rest := w[at+1:]
		p := 0
		for p < len(rest) && ('a' <= rest[p] && rest[p] <= 'z' || '0' <= rest[p] && rest[p] <= '9') {
			p++
		}
		isDSN := p < len(rest) && rest[p] == '(' && strings.Contains(rest[p:], ")") ||
			p == 0 && strings.HasPrefix(rest, "/") && strings.Contains(w[:at], ":")
		if isDSN {
			return Marker + "@" + rest[:p] + scrubDSNTail(rest[p:])
		}
		next := strings.IndexByte(rest, '@')
		if next < 0 {
			break
		}
		at += 1 + next
	}
	return w
}

// scrubDSNTail scrubs the query of "(address)/db?params"; the address may contain "?" or "/"
// only inside its parentheses.
func scrubDSNTail(t string) string {
	if strings.HasPrefix(t, "(") {
		if c := strings.IndexByte(t, ')'); c >= 0 {
			return t[:c+1] + scrubQuery(t[c+1:])
		}
	}
	return scrubQuery(t)
}

// scrubPasswordPairs replaces the value of password=, passwd= and pwd= (any case, e.g. in a
// libpq key=value DSN or a stderr line), quoted or not.
func scrubPasswordPairs(s string) string {
	if strings.IndexByte(s, '=') < 0 {
		return s
	}
	lower := strings.ToLower(s)
	if !strings.Contains(lower, "pass") && !strings.Contains(lower, "pwd") {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		key := pairKeyAt(lower, i)
		if key == 0 {
			continue
		}
		v := i + key // after "="
		for v < len(s) && s[v] == ' ' {
			v++
		}
		end := valueEnd(s, v)
		if end == v || s[v:end] == Marker {
			i = end
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(s[i:v])
		b.WriteString(Marker)
		last, i = end, end-1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// pairKeyAt returns the length of "password=" (or passwd=, pwd=, with spaces before the "=")
// when one starts at i, else 0.
func pairKeyAt(lower string, i int) int {
	for _, k := range []string{"password", "passwd", "pwd"} {
		if !strings.HasPrefix(lower[i:], k) {
			continue
		}
		j := i + len(k)
		for j < len(lower) && lower[j] == ' ' {
			j++
		}
		if j < len(lower) && lower[j] == '=' {
			return j + 1 - i
		}
	}
	return 0
}

// valueEnd returns the end of a value starting at v: through the closing quote of a quoted
// value, else up to whitespace, a quote or a separator (& ; ,).
func valueEnd(s string, v int) int {
	if v >= len(s) {
		return v
	}
	if q := s[v]; q == '\'' || q == '"' {
		if c := strings.IndexByte(s[v+1:], q); c >= 0 {
			return v + 1 + c + 1
		}
		return len(s)
	}
	e := v
	for e < len(s) && !strings.ContainsRune(" \t\r\n&;,'\"", rune(s[e])) {
		e++
	}
	return e
}
