package scenarios

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// expandEnv replaces ${VAR} and ${VAR:-default} in every scalar value (not in keys) with the
// environment's value; $$ is a literal $. It runs on the parsed tree rather than on the raw
// text so YAML positions stay exact and a value cannot inject YAML structure. Aliases are not
// followed: the anchored node is expanded once, in place, where it is defined.
func (p *parser) expandEnv(n *yaml.Node, path string) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			p.expandEnv(c, path)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p.expandEnv(c, index(path, i))
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := deref(n.Content[i])
			key := "?"
			if k != nil && k.Kind == yaml.ScalarNode {
				key = k.Value
			}
			if isMergeKey(n.Content[i]) {
				p.expandEnv(n.Content[i+1], path)
				continue
			}
			p.expandEnv(n.Content[i+1], join(path, key))
		}
	case yaml.ScalarNode:
		p.expandScalar(n, path)
	}
}

func (p *parser) expandScalar(n *yaml.Node, path string) {
	if !strings.Contains(n.Value, "$") {
		return
	}
	out, problems := expand(n.Value, p.lookupEnv)
	p.recordShellRefs(out)
	for _, pr := range problems {
		p.errs = append(p.errs, Error{Pos: p.varPos(n, pr.offset), Path: path, Msg: pr.msg})
	}
	if len(problems) > 0 {
		p.tainted[n] = true
		return
	}
	n.Value = out
	// A plain scalar's type comes from its text, so `members: ${N}` must become an int
	// once N is known; quoted and explicitly tagged scalars keep their tag.
	if n.Style&(yaml.TaggedStyle|yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		n.Tag = ""
	}
}

// hasTainted reports whether a failed ${VAR} expansion lies anywhere under n.
func (p *parser) hasTainted(n *yaml.Node) bool {
	if len(p.tainted) == 0 {
		return false
	}
	return p.taintedUnder(n, map[*yaml.Node]bool{})
}

func (p *parser) taintedUnder(n *yaml.Node, seen map[*yaml.Node]bool) bool {
	n = deref(n)
	if n == nil || seen[n] {
		return false
	}
	seen[n] = true
	if p.tainted[n] {
		return true
	}
	for _, c := range n.Content {
		if p.taintedUnder(c, seen) {
			return true
		}
	}
	return false
}

type expandProblem struct {
	offset int // byte offset of the offending "$" in the value
	msg    string
}

// expand performs the substitution. ${VAR:-default} uses the default when VAR is unset or
// empty, as in the shell; ${VAR} with VAR unset is an error because a silently empty value
// (an endpoint, say) could point a drill at production.
func expand(s string, lookup func(string) (string, bool)) (string, []expandProblem) {
	var b strings.Builder
	var problems []expandProblem
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
			continue
		case '{':
		default:
			b.WriteByte('$')
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			problems = append(problems, expandProblem{i, "unterminated ${ (write $$ for a literal $)"})
			break
		}
		body := s[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(body, ":-")
		switch val, set := lookup(name); {
		case !validVarName(name):
			problems = append(problems, expandProblem{i, "invalid variable reference ${" + body + "}: want ${NAME} or ${NAME:-default}"})
		case set && (val != "" || !hasDef):
			b.WriteString(val)
		case hasDef:
			b.WriteString(def)
		default:
			problems = append(problems, expandProblem{i, "environment variable " + name + " is not set (give a default with ${" + name + ":-value})"})
		}
		i += 2 + end + 1
	}
	return b.String(), problems
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// varPos finds the column of the "$" at byte offset off of a scalar's value. For single-line
// values the column is computed and then checked against the source text; when they disagree
// (escapes in a quoted string, block scalars) the scalar's own position is used.
func (p *parser) varPos(n *yaml.Node, off int) Position {
	pos := p.pos(n)
	if strings.ContainsAny(n.Value, "\r\n") || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return pos
	}
	col := pos.Column + utf8.RuneCountInString(n.Value[:off])
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		col++
	}
	line := p.sourceLine(pos.Line)
	if line == nil {
		return pos
	}
	// Skip col-1 runes, then the source must show the reference itself.
	rest := line
	for i := 1; i < col && len(rest) > 0; i++ {
		_, size := utf8.DecodeRune(rest)
		rest = rest[size:]
	}
	if !bytes.HasPrefix(rest, []byte("${")) {
		return pos
	}
	pos.Column = col
	return pos
}

// sourceLine returns the 1-based line n of the source, without its newline.
func (p *parser) sourceLine(n int) []byte {
	if p.lineStarts == nil {
		p.lineStarts = []int{0}
		for i, c := range p.src {
			if c == '\n' {
				p.lineStarts = append(p.lineStarts, i+1)
			}
		}
	}
	if n < 1 || n > len(p.lineStarts) {
		return nil
	}
	line := p.src[p.lineStarts[n-1]:]
	if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
		line = line[:nl]
	}
	return line
}
