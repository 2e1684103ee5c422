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
			cut := width
			// A hyphenated name breaks after a hyphen where it can: "aws-backup-" over
			// "and-restore" reads better than a cut inside a word.
			if i := lastIndex(w[:width], '-'); i > 0 {
				cut = i + 1
			}
			lines, w = append(lines, string(w[:cut])), w[cut:]
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

func lastIndex(rs []rune, r rune) int {
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i] == r {
			return i
		}
	}
	return -1
}

// Fit wraps the cells of the columns named in wrappable so that a table of header and rows,
// drawn with one space of padding and a border around every cell ("| a | b |"), fits in width
// columns. It narrows the widest wrappable column one step at a time, so the columns share the
// squeeze, and no column goes below minWidth; a table that cannot fit is left as wide as that.
func Fit(header []string, rows [][]string, width, minWidth int, wrappable ...int) [][]string {
	n := len(header)
	widths := make([]int, n)
	for _, row := range append([][]string{header}, rows...) {
		for i := 0; i < n && i < len(row); i++ {
			for _, l := range strings.Split(row[i], "\n") {
				widths[i] = max(widths[i], len([]rune(l)))
			}
		}
	}
	limit := append([]int(nil), widths...)
	total := func() int {
		t := 1 + 3*n
		for _, w := range limit {
			t += w
		}
		return t
	}
	for total() > width {
		widest := -1
		for _, c := range wrappable {
			if c < n && limit[c] > minWidth && (widest < 0 || limit[c] > limit[widest]) {
				widest = c
			}
		}
		if widest < 0 {
			break
		}
		limit[widest]--
	}
	wrap := func() [][]string {
		out := make([][]string, len(rows))
		for r, row := range rows {
			out[r] = append([]string(nil), row...)
			for _, c := range wrappable {
				if c < len(row) && limit[c] < widths[c] {
					out[r][c] = Wrap(row[c], limit[c])
				}
			}
		}
		return out
	}
	out := wrap()
	// Words rarely fill a column to its limit ("2026-12-02 07:12" wraps to 10 of 15), so the
	// table may now be narrower than width: give what is left to the first wrappable column
	// that wants more, the one the caller listed as mattering most.
	real := make([]int, n)
	for _, row := range append([][]string{header}, out...) {
		for i := 0; i < n && i < len(row); i++ {
			for _, l := range strings.Split(row[i], "\n") {
				real[i] = max(real[i], len([]rune(l)))
			}
		}
	}
	slack := width - (1 + 3*n)
	for _, w := range real {
		slack -= w
	}
	if slack > 0 {
		for _, c := range wrappable {
			if c < n && real[c] < widths[c] {
				copy(limit, real)
				limit[c] = min(widths[c], real[c]+slack)
				return wrap()
			}
		}
	}
	return out
}

// Indent wraps s to fit width columns after a first-line prefix, and starts every further
// line with as many spaces as the prefix is wide (at least minWidth columns are left for s).
func Indent(prefix, s string, width, minWidth int) string {
	pad := len([]rune(prefix))
	lines := strings.Split(Wrap(s, max(width-pad, minWidth)), "\n")
	return prefix + strings.Join(lines, "\n"+strings.Repeat(" ", pad))
}
