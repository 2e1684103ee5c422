package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. It must never panic, must return exactly one of
// a scenario or an *Errors, and whatever it accepts must satisfy the rules it claims to check.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"good", "bad"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	// Steps with every config shape the `with:` decoder treats differently.
	for _, with := range []string{
		"{notag: 3, wait: 1m, pair: [1, 2], anything: {a: [1]}, maybeWait: 2s, nested: {depth: 4}, byNumber: {1: one}, loose: {1: x}, raw: {k: v}, tree: {children: [{name: x}]}, zone: a, rack: r, extra: y}",
		"{when: 2024-01-02T03:04:05Z, flags: [true], ratio: 0.5, count: 255, blob: x, <<: {plain: p}}",
	} {
		f.Add([]byte(minimalYAML + "prepare:\n  - {name: s, type: shapes, with: " + with + "}\n  - {name: t, type: strict, with: {depth: 1, other: x}}\n"))
	}
	cat := shapesCatalog()
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse("fuzz.yaml", data, cat, WithLookupEnv(testEnv))
		if (sc == nil) == (err == nil) {
			t.Fatalf("Parse returned scenario %v and error %v; want exactly one", sc != nil, err)
		}
		if err != nil {
			checkErrors(t, err)
			return
		}
		checkAccepted(t, sc)
	})
}

func checkErrors(t *testing.T, err error) {
	t.Helper()
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T, want *Errors: %v", err, err)
	}
	if len(*errs) == 0 {
		t.Fatal("empty *Errors")
	}
	prev := Position{}
	for _, e := range *errs {
		if e.Pos.File != "fuzz.yaml" || e.Pos.Line < 1 || e.Pos.Column < 1 {
			t.Errorf("bad position in %q", e.Error())
		}
		if e.Msg == "" {
			t.Errorf("empty message at %v", e.Pos)
		}
		if e.Pos.Line < prev.Line || (e.Pos.Line == prev.Line && e.Pos.Column < prev.Column) {
			t.Errorf("errors not sorted: %v after %v", e.Pos, prev)
		}
		prev = e.Pos
	}
	if lines := strings.Count(err.Error(), "\n") + 1; lines < len(*errs) {
		t.Errorf("Error() has %d lines for %d errors", lines, len(*errs))
	}
}

// checkAccepted re-checks the rules on a scenario Parse accepted.
func checkAccepted(t *testing.T, sc *Scenario) {
	t.Helper()
	if sc.Version != SupportedVersion || !nameRE.MatchString(sc.Name) || len(sc.Name) > MaxNameLen || strings.TrimSpace(sc.System) == "" {
		t.Errorf("accepted bad header: version %d, name %q, system %q", sc.Version, sc.Name, sc.System)
	}
	if len(sc.Faults) == 0 {
		t.Error("accepted a scenario without faults")
	}
	if sc.Limits.Timeout <= sc.Limits.Observe || sc.Limits.Rollback <= 0 {
		t.Errorf("accepted bad limits %+v", sc.Limits)
	}
	names := map[string]bool{}
	probes := map[string]bool{}
	availability := false
	for _, p := range sc.Probes {
		if p.Interval <= 0 || p.Timeout <= 0 || !contains(roles, p.Role) {
			t.Errorf("accepted bad probe %+v", p)
		}
		availability = availability || p.Role == RoleAvailability
		probes[p.Name] = true
		if names[p.Name] || p.Name == "" {
			t.Errorf("accepted duplicate or empty name %q", p.Name)
		}
		names[p.Name] = true
		if _, ok := cat(KindProbe, p.Type); !ok {
			t.Errorf("accepted unknown probe type %q", p.Type)
		}
	}
	if !availability {
		t.Error("accepted faults without an availability probe")
	}
	for kind, steps := range map[Kind][][]StepSpec{KindFault: {sc.Faults}, KindStep: {sc.Prepare, sc.Recovery, sc.Rollback}} {
		for _, list := range steps {
			for _, s := range list {
				if names[s.Name] || s.Name == "" {
					t.Errorf("accepted duplicate or empty name %q", s.Name)
				}
				names[s.Name] = true
				if _, ok := cat(kind, s.Type); !ok {
					t.Errorf("accepted unknown %s type %q", kind, s.Type)
				}
			}
		}
	}
	for _, s := range sc.SteadyState {
		if !probes[s] {
			t.Errorf("accepted steadyState entry %q that is not a probe", s)
		}
	}
	if sc.Objectives.RTO < 0 || (sc.Objectives.RPO != nil && *sc.Objectives.RPO < 0) {
		t.Errorf("accepted negative objectives %+v", sc.Objectives)
	}
	if e, _ := sc.Environment["etcd"].(*etcdEnvStub); e != nil && (e.Lab == nil) == (len(e.Endpoints) == 0) {
		t.Errorf("accepted etcd environment %+v", e)
	}
}

func cat(kind Kind, name string) (any, bool) { return shapesCatalog().NewConfig(kind, name) }
