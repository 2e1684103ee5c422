// Package textwrap breaks prose into lines for 120-column terminals: tables and listings wrap
// rather than cut, so nothing the user needs to read is lost.
package textwrap

import "strings"

// Wrap breaks s into lines of at most width runes at spaces; a longer word is split.
func Wrap(s string, width int) string {
	var lines []string
	var line []rune
	for _, word := range strings.Fields(s) {
		w := []rune(word)
		for len(w) > width {
			if len(line) > 0 {
				lines, line = append(lines, string(line)), nil
			}
			lines, w = append(lines, string(w[:width])), w[width:]
		}
		switch {
		case len(line) == 0:
			line = w
		case len(line)+1+len(w) <= width:
			line = append(append(line, ' '), w...)
		default:
			lines, line = append(lines, string(line)), w
		}
	}
	if len(line) > 0 {
		lines = append(lines, string(line))
	}
	return strings.Join(lines, "\n")
}

// Indent wraps s to fit width columns after a first-line prefix, and starts every further
// line with as many spaces as the prefix is wide (at least minWidth columns are left for s).
func Indent(prefix, s string, width, minWidth int) string {
	pad := len([]rune(prefix))
	lines := strings.Split(Wrap(s, max(width-pad, minWidth)), "\n")
	return prefix + strings.Join(lines, "\n"+strings.Repeat(" ", pad))
}
