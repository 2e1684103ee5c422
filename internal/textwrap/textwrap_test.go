package textwrap

import (
	"strings"
	"testing"
)

func TestWrap(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in    string
		width int
		want  string
	}{
		{"a bb ccc", 4, "a bb\nccc"},
		{"abcdefghij", 4, "abcd\nefgh\nij"},
		{"x abcdefgh y", 4, "x\nabcd\nefgh\ny"},
		{"", 4, ""},
		{"aws-backup-and-restore", 12, "aws-backup-\nand-restore"},
		{"-abcdef", 4, "-abc\ndef"}, // a leading hyphen is no place to break
	} {
		if got := Wrap(c.in, c.width); got != c.want {
			t.Errorf("Wrap(%q, %d) = %q, want %q", c.in, c.width, got, c.want)
		}
	}
}

func TestIndent(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		prefix, in  string
		width, minW int
		want        string
	}{
		{"  k  ", "aa bb cc", 10, 2, "  k  aa bb\n     cc"},
		{"  k  ", "aa bb", 10, 2, "  k  aa bb"},
		{"  long-key ", "aa bb", 10, 2, "  long-key aa\n           bb"}, // minWidth keeps a column for the text
		{"  k  ", "", 10, 2, "  k  "},
	} {
		if got := Indent(c.prefix, c.in, c.width, c.minW); got != c.want {
			t.Errorf("Indent(%q, %q, %d, %d) = %q, want %q", c.prefix, c.in, c.width, c.minW, got, c.want)
		}
	}
}

func TestFit(t *testing.T) {
	t.Parallel()
	header := []string{"WHEN", "NAME", "ID"}
	rows := [][]string{{"2026-12-02 07:12", "aws-backup-and-restore", "20261202T071244Z-5354615f"}}
	for _, tt := range []struct {
		width int
		want  []string
	}{
		{80, rows[0]}, // fits: untouched
		{60, []string{"2026-12-02\n07:12", "aws-backup-\nand-restore", "20261202T071244Z-5354615f"}},
		{10, []string{"2026-12-02\n07:12", "aws-\nbackup-\nand-\nrestore", "20261202T071244Z-5354615f"}}, // minWidth 10 bounds it
	} {
		got := Fit(header, rows, tt.width, 10, 0, 1)
		if strings.Join(got[0], "|") != strings.Join(tt.want, "|") {
			t.Errorf("Fit to %d = %q, want %q", tt.width, got[0], tt.want)
		}
		if &got[0][0] == &rows[0][0] {
			t.Error("Fit changed the caller's rows")
		}
	}
}
