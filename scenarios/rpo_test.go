package scenarios

import (
	"errors"
	"strings"
	"testing"
)

// rpoStub is the test catalog plus what its types declare about RPO.
type rpoStub struct{ stubCatalog }

func (rpoStub) DataProbe(t string) bool    { return t == "etcd-writes" }
func (rpoStub) RestorePoint(t string) bool { return t == "etcd-restart-member" }

func TestRPOSources(t *testing.T) {
	const head = "version: 1\nname: t\nsystem: s\nobjectives: {rto: 10s, rpo: 5s}\n"
	const fault = "faults:\n  - {name: f, type: command, with: {run: x}}\n"
	tests := []struct {
		name string
		yaml string
		want []string // "line:col: path: substring"; none means valid
	}{
		{"data probe", head + "probes:\n  - {name: up, type: tcp, with: {address: 'h:1'}}\n  - {name: w, type: etcd-writes, role: data}\n" + fault, nil},
		{"restore step", head + "probes:\n  - {name: up, type: tcp, with: {address: 'h:1'}}\n" + fault + "recovery:\n  - {name: r, type: etcd-restart-member}\n", nil},
		{"nothing measures it", head + "probes:\n  - {name: up, type: tcp, with: {address: 'h:1'}}\n" + fault,
			[]string{"4:29: objectives.rpo: nothing measures it: add a probe with role: data (etcd-writes) or a recovery step that restores from a backup (etcd-restart-member)"}},
		{"data probe listed without role data", head + "probes:\n  - {name: up, type: tcp, with: {address: 'h:1'}}\n  - {name: w, type: etcd-writes}\n" + fault,
			[]string{"4:29: objectives.rpo: nothing measures it"}},
		{"restore step in rollback does not count", head + "probes:\n  - {name: up, type: tcp, with: {address: 'h:1'}}\n" + fault + "rollback:\n  - {name: r, type: etcd-restart-member}\n",
			[]string{"objectives.rpo: nothing measures it"}},
		{"role data on a probe that cannot", "version: 1\nname: t\nsystem: s\nobjectives: {rto: 10s}\nprobes:\n  - {name: up, type: tcp, with: {address: 'h:1'}}\n  - {name: c, type: command, role: data, with: {run: x}}\n" + fault,
			[]string{`7:36: probes[1].role: probe type "command" cannot be a data probe (types that can: etcd-writes)`}},
		{"unknown type is reported once", head + "probes:\n  - {name: up, type: tcp, with: {address: 'h:1'}}\n  - {name: w, type: etcd-writes-typo, role: data}\n" + fault,
			[]string{"probes[1].type: unknown probe type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.yaml), rpoStub{testCatalog()}, WithLookupEnv(testEnv))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("want valid, got:\n%v", err)
				}
				return
			}
			var list *Errors
			if !errors.As(err, &list) {
				t.Fatalf("want errors %q, got %v", tt.want, err)
			}
			if len(*list) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(*list), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains((*list)[i].Error(), w) {
					t.Errorf("error %d = %q, want it to contain %q", i, (*list)[i].Error(), w)
				}
			}
		})
	}
	// A catalog that declares nothing about RPO (the plain stub) skips the checks.
	if _, err := Parse("t.yaml", []byte(head+"probes:\n  - {name: up, type: tcp, with: {address: 'h:1'}}\n"+fault), testCatalog(), WithLookupEnv(testEnv)); err != nil {
		t.Errorf("plain catalog: %v", err)
	}
}
