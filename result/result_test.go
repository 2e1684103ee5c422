package result

import "testing"

func TestIsUnproven(t *testing.T) {
	t.Parallel()
	quiet := Probe{Name: "up", NoDisruption: true}
	down := Probe{Name: "up"}
	guard := Probe{Name: "pager", Role: RoleGuard, NoDisruption: true}
	tests := []struct {
		name string
		r    Result
		want bool
	}{
		{"every availability probe quiet", Result{Verdict: VerdictPass, T0: "t", Probes: []Probe{quiet, guard}}, true},
		{"one availability probe saw it", Result{Verdict: VerdictPass, T0: "t", Probes: []Probe{quiet, down}}, false},
		{"only guard probes quiet", Result{Verdict: VerdictPass, T0: "t", Probes: []Probe{down, guard}}, false},
		{"nothing injected", Result{Verdict: VerdictPass, Probes: []Probe{quiet}}, false},
		{"not a pass", Result{Verdict: VerdictFail, T0: "t", Probes: []Probe{quiet}}, false},
		{"dry run", Result{Verdict: VerdictPass, DryRun: true, T0: "t", Probes: []Probe{quiet}}, false},
		{"flagged by the runner", Result{Verdict: VerdictPass, Unproven: true}, true},
		{"no probes", Result{Verdict: VerdictPass, T0: "t"}, false},
	}
	for _, tt := range tests {
		if got := tt.r.IsUnproven(); got != tt.want {
			t.Errorf("%s: IsUnproven %v, want %v", tt.name, got, tt.want)
		}
	}
}
