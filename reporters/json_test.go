package reporters

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/drillhq/drill/result"
)

func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			want := fx.results()
			var buf bytes.Buffer
			if err := WriteJSON(&buf, fx.results()); err != nil {
				t.Fatal(err)
			}
			var got []*result.Result
			if len(want) == 1 {
				var r result.Result
				if err := json.Unmarshal(buf.Bytes(), &r); err != nil {
					t.Fatalf("not a JSON object: %v\n%s", err, buf.String())
				}
				got = []*result.Result{&r}
			} else if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("not a JSON array: %v\n%s", err, buf.String())
			}
			// WriteJSON writes empty lists as [] where the input may hold nil.
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJSONShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rs    []*result.Result
		start string
	}{
		{"none", nil, "[]\n"},
		{"one", []*result.Result{passResult()}, "{\n  \"schema\": \"drill.result/v1\",\n  \"runId\": "},
		{"two", []*result.Result{passResult(), rtoFailResult()}, "[\n  {\n    \"schema\": \"drill.result/v1\","},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := WriteJSON(&buf, tt.rs); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(buf.String(), tt.start) {
				t.Errorf("output starts %q, want prefix %q", buf.String()[:min(len(buf.String()), 60)], tt.start)
			}
		})
	}
}

func TestJSONLeavesInputAlone(t *testing.T) {
	t.Parallel()
	r := steadyFailedResult() // nil Steps and nil Targets, which WriteJSON writes as []
	r.Schema = ""
	var buf bytes.Buffer
	if err := WriteJSON(&buf, []*result.Result{r}); err != nil {
		t.Fatal(err)
	}
	want := steadyFailedResult()
	want.Schema = ""
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("WriteJSON modified its input (-want +got):\n%s", diff)
	}
	out := buf.String()
	for _, s := range []string{`"schema": "drill.result/v1"`, `"steps": []`, `"targets": []`} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %s", s)
		}
	}
}

func TestJSONDoesNotEscapeHTML(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, []*result.Result{rollbackErrorResult()}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `got 503: <html>Service Unavailable</html>`) {
		t.Errorf("error text should be written as is:\n%s", buf.String())
	}
}

// designFields are the JSON fields docs/DESIGN.md §5 requires; "[]" steps into every element of
// an array.
var designFields = []string{
	"runId", "scenario", "system", "startedAt", "finishedAt", "t0", "verdict",
	"objectives.rto.targetMs", "objectives.rto.measuredMs", "objectives.rto.met", "objectives.rto.resolutionMs",
	"objectives.rpo.targetMs", "objectives.rpo.measuredMs", "objectives.rpo.met", "objectives.rpo.lostWrites",
	"probes.[].name", "probes.[].type", "probes.[].role", "probes.[].samples", "probes.[].failures",
	"probes.[].recoveredMs", "probes.[].downtimeMs",
	"faults.[].name", "faults.[].type", "faults.[].injectedAtMs", "faults.[].revertedAtMs",
	"faults.[].targets", "faults.[].error",
	"events.[].atMs", "events.[].kind", "events.[].message",
	"schema",
}

func TestJSONHasDesignFields(t *testing.T) {
	t.Parallel()
	checked := map[string]int{}
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteJSON(&buf, fx.results()); err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			docs, ok := doc.([]any)
			if !ok {
				docs = []any{doc}
			}
			for _, d := range docs {
				for _, f := range designFields {
					n, missing := findPath(d, strings.Split(f, "."), "")
					checked[f] += n
					for _, m := range missing {
						t.Errorf("field %s missing at %s", f, m)
					}
				}
			}
		})
	}
	// Guard against a vacuous pass: every field must have been seen somewhere.
	for _, f := range designFields {
		if checked[f] == 0 {
			t.Errorf("field %s never checked: no fixture has a value for it", f)
		}
	}
}

// findPath counts the places where path exists under v and lists where it does not.
func findPath(v any, path []string, at string) (found int, missing []string) {
	if len(path) == 0 {
		return 1, nil
	}
	if path[0] == "[]" {
		arr, ok := v.([]any)
		if !ok {
			return 0, []string{at + " (not an array)"}
		}
		for i, e := range arr {
			n, m := findPath(e, path[1:], at+"["+strconv.Itoa(i)+"]")
			found += n
			missing = append(missing, m...)
		}
		return found, missing
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return 0, []string{at + " (not an object)"}
	}
	next, ok := obj[path[0]]
	if !ok {
		return 0, []string{at + "." + path[0]}
	}
	return findPath(next, path[1:], at+"."+path[0])
}
