package main

import (
	"strings"
	"testing"
)

func TestShellCompletion(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, out, stderr := runCLI(t, "completion", shell)
		if code != 0 || !strings.Contains(out, "drill") {
			t.Errorf("completion %s: exit %d, %d bytes\n%s", shell, code, len(out), stderr)
		}
	}
	// cobra's hidden __complete verb is what the generated scripts call.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "list", "etcd-k"}, "etcd-kill-member\tfault: "},
		{[]string{"__complete", "list", "--kind", ""}, "probe"},
		{[]string{"__complete", "init", "x.yaml", "--template", ""}, "postgres\t"},
		{[]string{"__complete", "validate", ""}, ":8"}, // ShellCompDirectiveFilterFileExt
	} {
		code, out, _ := runCLI(t, c.args...)
		if code != 0 || !strings.Contains(out, c.want) {
			t.Errorf("drill %s: exit %d, want %q in\n%s", strings.Join(c.args, " "), code, c.want, out)
		}
	}
}
