package reporters

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/drillhq/drill/result"
)

// These checks hold whatever the golden files say, so regenerating them with -update cannot
// silently lose what the summary must tell a reader.
func TestSummaryContent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		want    []string
		notWant []string
	}{
		{"pass", []string{
			"=== etcd-follower-loss  system: orders-etcd  verdict: PASS  t0: 2026-05-04T10:00:02.500000000Z",
			"| RTO       | 10s    | 1.52s ±20ms        | yes |",
			"| RPO       | 0s     | 0s (0 lost writes) | yes |",
			"| kill-follower | etcd-kill-member | m2      | +0.000s  | +11.690s |",
			"steady state: before passed, after passed\n",
			"rollback: clean\n",
		}, []string{"WARNING", "NO "}},
		{"rto-fail", []string{"verdict: FAIL (RTO 2.31s exceeds target 2s)", "2.31s ±20ms        | NO  |"}, nil},
		{"never-recovered", []string{"not recovered       | NO ", "| never        |", "n/a (no data probe)", "no target"}, nil},
		{"steady-failed", []string{
			"verdict: ERROR (system not in steady state)  t0: none (no fault injected)",
			"| RTO       | 10s    | not measured | -   |",
			"steady state: before FAILED (health: Get",
			"rollback: not run (nothing injected)",
		}, []string{"not recovered"}},
		{"rollback-error", []string{"rollback: FAILED: revert block-https: iptables", "| revert: iptables"}, []string{"\x1b"}},
		{"no-disruption", []string{
			"| ping     | availability | 200     | 0        | -         | -            | 0s       | no disruption observed |",
			"WARNING: no disruption observed by probe ping: the faults may have missed the system under test",
		}, []string{"no-pager:"}},
		{"aborted", []string{
			"verdict: ABORTED (interrupted (SIGINT) during observe)",
			"| RTO       | 10s    | not recovered when stopped | -   |",
			"| RPO       | 0s     | not measured               | -   |",
			// The note wraps to fit 120 columns.
			"| 1190 acked, 0 lost, 4 recovered; |",
			"| read-back: read-back skipped:    |",
		}, nil},
		{"several", []string{"\n3 scenarios: 1 pass, 1 fail, 1 error\n", "=== etcd-leader-loss", "=== etcd-quorum-loss"}, []string{"WARNING"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := WriteSummary(&buf, fixtureByName(t, tt.fixture)); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("summary lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("summary contains %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestSummaryCountsSuspiciousDrills(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteSummary(&buf, []*result.Result{passResult(), noDisruptionResult()}); err != nil {
		t.Fatal(err)
	}
	want := "\n2 scenarios: 2 pass; WARNING: 1 with no disruption observed\n"
	if !strings.HasSuffix(buf.String(), want) {
		t.Errorf("summary should end with %q, got:\n%s", want, buf.String())
	}
}

func TestSummaryNeverColours(t *testing.T) {
	t.Parallel()
	r := rollbackErrorResult()
	r.Probes[0].LastError = "\x1b[1;31mboom\x1b[0m\tand\x00more"
	var buf bytes.Buffer
	if err := WriteSummary(&buf, []*result.Result{r}); err != nil {
		t.Fatal(err)
	}
	if i := strings.IndexFunc(buf.String(), func(r rune) bool { return r < 0x20 && r != '\n' }); i >= 0 {
		t.Errorf("control character %q at %d in summary:\n%s", buf.String()[i], i, buf.String())
	}
	if !strings.Contains(buf.String(), "boom andmore") {
		t.Errorf("sanitized error text missing:\n%s", buf.String())
	}
}

var errBroken = errors.New("broken pipe")

type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errBroken }

func TestWritersReportErrors(t *testing.T) {
	t.Parallel()
	for _, f := range formats {
		t.Run(f.ext, func(t *testing.T) {
			t.Parallel()
			if err := f.write(brokenWriter{}, []*result.Result{passResult()}); !errors.Is(err, errBroken) {
				t.Errorf("write to a broken writer: got %v, want %v", err, errBroken)
			}
			if err := f.write(&bytes.Buffer{}, []*result.Result{passResult(), nil}); err == nil {
				t.Error("nil result: want an error")
			}
		})
	}
}

func TestFormatHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{rel(1502), "+1.502s"},
		{rel(0), "+0.000s"},
		{rel(-250), "-0.250s"},
		{rel(-61001), "-61.001s"},
		{dur(1520), "1.52s"},
		{dur(20), "20ms"},
		{dur(2000), "2s"},
		{dur(120000), "2m0s"},
		{secs(2310), "2.310s"},
		{secs(5), "0.005s"},
		{oneLine("a\r\nb\n\nc "), "a | b | c"},
		{oneLine("\x1b[31mred\x1b[0m"), "red"},
		{truncate("abcdef", 5), "ab..."},
		{truncate("abc", 5), "abc"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func fixtureByName(t *testing.T, name string) []*result.Result {
	t.Helper()
	for _, f := range fixtures {
		if f.name == name {
			return f.results()
		}
	}
	t.Fatalf("no fixture %q", name)
	return nil
}

func TestSummaryRecordsWhoAndWhere(t *testing.T) {
	t.Parallel()
	r := passResult()
	r.Provenance = result.Provenance{Operator: "alice", Host: "runner-1", Environment: "staging", Ticket: "CHG-7", Participants: []string{"bob", "carol"}}
	var buf bytes.Buffer
	if err := WriteSummary(&buf, []*result.Result{r}); err != nil {
		t.Fatal(err)
	}
	if want := "recorded: by alice on runner-1, environment staging, ticket CHG-7, with bob, carol\n"; !strings.Contains(buf.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, buf.String())
	}
}
