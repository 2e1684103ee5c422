package scenarios

import (
	"strings"
	"testing"
)

func TestContinueOnError(t *testing.T) {
	t.Parallel()
	ok := minimalYAML + `recovery:
  - {name: try, type: command, continueOnError: true, with: {run: x}}
  - {name: fix, type: command, with: {run: y}}
`
	sc, err := Parse("c.yaml", []byte(ok), testCatalog(), WithLookupEnv(testEnv))
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Recovery[0].ContinueOnError || sc.Recovery[1].ContinueOnError {
		t.Errorf("continueOnError = %v, %v; want true, false", sc.Recovery[0].ContinueOnError, sc.Recovery[1].ContinueOnError)
	}
	for name, c := range map[string]struct{ src, want string }{
		"on a fault": {strings.Replace(minimalYAML, "{name: stop,", "{name: stop, continueOnError: true,", 1),
			"c.yaml:6:23: faults[0].continueOnError: applies to recovery steps only"},
		"on a rollback step": {minimalYAML + "rollback: [{name: r, type: command, continueOnError: false, with: {run: x}}]\n",
			"rollback[0].continueOnError: applies to recovery steps only"},
		"not a bool": {minimalYAML + "recovery: [{name: r, type: command, continueOnError: sometimes, with: {run: x}}]\n",
			`recovery[0].continueOnError: want true or false, got "sometimes"`},
	} {
		_, err := Parse("c.yaml", []byte(c.src), testCatalog(), WithLookupEnv(testEnv))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", name, err, c.want)
		}
	}
}
