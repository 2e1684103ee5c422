package textwrap

import "testing"

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
