package english

import "testing"

func TestCount(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n    int
		want string
	}{
		{0, "0 runs"}, {1, "1 run"}, {2, "2 runs"}, {-1, "-1 runs"}, {1000, "1000 runs"},
	} {
		if got := Count(tt.n, "run", "runs"); got != tt.want {
			t.Errorf("Count(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestAgree(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "are", 1: "is", 2: "are"} {
		if got := Agree(n, "is", "are"); got != want {
			t.Errorf("Agree(%d) = %q, want %q", n, got, want)
		}
	}
}
