package history

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/result"
)

var base = time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)

func run(id, scenario, system string, startedAt time.Time, verdict result.Verdict) *result.Result {
	rto := int64(1200)
	return &result.Result{
		Schema:      result.Schema,
		RunID:       id,
		Scenario:    scenario,
		System:      system,
		ToolVersion: "test",
		StartedAt:   startedAt,
		FinishedAt:  startedAt.Add(time.Minute),
		Verdict:     verdict,
		Objectives: result.Objectives{
			RTO: result.RTO{TargetMs: 10000, MeasuredMs: &rto, Met: true, ResolutionMs: 50},
		},
	}
}

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "sub", "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ids(rs []*result.Result) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.RunID)
	}
	return out
}

func TestList(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	ctx := context.Background()
	// Appended out of time order on purpose: listing must follow StartedAt, not insertion.
	fixtures := []*result.Result{
		run("r3", "etcd-loss", "orders", base.Add(72*time.Hour), result.VerdictFail),
		run("r1", "etcd-loss", "orders", base, result.VerdictPass),
		run("r2", "http-outage", "web", base.Add(24*time.Hour), result.VerdictPass),
		run("r4", "http-outage", "web", base.Add(96*time.Hour), result.VerdictError),
		run("r5", "etcd-quorum", "orders", base.Add(120*time.Hour), result.VerdictPass),
		// Same start instant as r5: ties order by run id.
		run("r6", "etcd-quorum", "orders", base.Add(120*time.Hour), result.VerdictPass),
	}
	for _, r := range fixtures {
		if err := s.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		filter Filter
		want   []string
	}{
		{"all newest first", Filter{}, []string{"r6", "r5", "r4", "r3", "r2", "r1"}},
		{"by system", Filter{System: "orders"}, []string{"r6", "r5", "r3", "r1"}},
		{"by scenario", Filter{Scenario: "http-outage"}, []string{"r4", "r2"}},
		{"system and scenario", Filter{System: "orders", Scenario: "etcd-loss"}, []string{"r3", "r1"}},
		{"scenario of another system", Filter{System: "web", Scenario: "etcd-loss"}, []string{}},
		{"unknown system", Filter{System: "nope"}, []string{}},
		{"since inclusive", Filter{Since: base.Add(24 * time.Hour)}, []string{"r6", "r5", "r4", "r3", "r2"}},
		{"until exclusive", Filter{Until: base.Add(72 * time.Hour)}, []string{"r2", "r1"}},
		{"window", Filter{Since: base.Add(time.Hour), Until: base.Add(100 * time.Hour)}, []string{"r4", "r3", "r2"}},
		{"window by system", Filter{System: "orders", Since: base.Add(time.Hour), Until: base.Add(121 * time.Hour)}, []string{"r6", "r5", "r3"}},
		{"until after everything", Filter{Until: base.Add(1000 * time.Hour)}, []string{"r6", "r5", "r4", "r3", "r2", "r1"}},
		{"until before everything", Filter{Until: base.Add(-time.Hour)}, []string{}},
		{"limit keeps newest", Filter{Limit: 2}, []string{"r6", "r5"}},
		{"limit after filter", Filter{System: "web", Limit: 1}, []string{"r4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.List(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("List(%+v) ids (-want +got):\n%s", tt.filter, diff)
			}
		})
	}
}

func TestRoundTripKeepsDocument(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	ctx := context.Background()
	in := run("rt-1", "etcd-loss", "orders", base.Add(1234567*time.Nanosecond), result.VerdictPass)
	in.Probes = []result.Probe{{Name: "health", Down: []result.Interval{{FromMs: 10, ToMs: 900}}}}
	in.Objectives.RPO = result.RPO{TargetMs: result.Int64(0), MeasuredMs: result.Int64(0), Met: true}
	if err := s.Append(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Get(ctx, "rt-1")
	if err != nil || !ok {
		t.Fatalf("Get = %v, %v", ok, err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("stored document differs (-in +out):\n%s", diff)
	}
	if _, ok, err := s.Get(ctx, "missing"); ok || err != nil {
		t.Errorf("Get(missing) = %v, %v; want false, nil", ok, err)
	}
}

func TestAppendIdempotent(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	ctx := context.Background()
	r := run("same", "etcd-loss", "orders", base, result.VerdictPass)
	for i := 0; i < 3; i++ {
		if err := s.Append(ctx, r); err != nil {
			t.Fatalf("append #%d: %v", i+1, err)
		}
	}
	all, err := s.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Fatalf("after 3 appends of one run, List has %d records; want 1", len(all))
	}
	for _, f := range []Filter{{System: "orders"}, {Scenario: "etcd-loss"}} {
		if got, _ := s.List(ctx, f); len(got) != 1 {
			t.Errorf("List(%+v) has %d records; want 1 (index duplicated?)", f, len(got))
		}
	}

	changed := run("same", "etcd-loss", "orders", base, result.VerdictFail)
	if err := s.Append(ctx, changed); !errors.Is(err, ErrConflict) {
		t.Fatalf("append of a different document under the same run id: err = %v; want ErrConflict", err)
	}
	got, _, _ := s.Get(ctx, "same")
	if got.Verdict != result.VerdictPass {
		t.Errorf("stored verdict = %q after refused rewrite; want the original %q", got.Verdict, result.VerdictPass)
	}
}

func TestAppendRejects(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	if err := s.Append(context.Background(), &result.Result{Scenario: "x"}); err == nil {
		t.Error("append without runId succeeded")
	}
	if err := s.Append(context.Background(), nil); err == nil {
		t.Error("append of nil succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Append(ctx, run("c", "s", "y", base, result.VerdictPass)); !errors.Is(err, context.Canceled) {
		t.Errorf("append with cancelled ctx: err = %v; want context.Canceled", err)
	}
}

func TestReopenAndReadOnly(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "history.db")
	ctx := context.Background()

	empty, err := OpenReadOnly(path)
	if err != nil {
		t.Fatalf("read-only open of a missing store: %v", err)
	}
	if got, err := empty.List(ctx, Filter{}); err != nil || len(got) != 0 {
		t.Errorf("missing store lists %d runs, err %v; want 0, nil", len(got), err)
	}
	if err := empty.Append(ctx, run("a", "s", "y", base, result.VerdictPass)); err == nil {
		t.Error("append to a read-only view succeeded")
	}
	empty.Close()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, run("a", "s", "y", base, result.VerdictPass)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Two readers at once: shared locks must not block each other.
	r1, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	for _, r := range []*Store{r1, r2} {
		got, err := r.List(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"a"}, ids(got)); diff != "" {
			t.Errorf("reopened store (-want +got):\n%s", diff)
		}
	}
}

func TestOpenRejectsForeignFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "not-a-store.db")
	if err := writeFile(path, []byte("this is not a bbolt file, just some text that is long enough")); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func(string) (*Store, error){"Open": Open, "OpenReadOnly": OpenReadOnly} {
		if s, err := open(path); err == nil {
			s.Close()
			t.Errorf("%s of a text file succeeded", name)
		}
	}
}

func TestDefaultPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"explicit env wins", map[string]string{"DRILL_HISTORY": "/tmp/h.db", "XDG_STATE_HOME": "/x", "HOME": "/home/u"}, "/tmp/h.db"},
		{"xdg state home", map[string]string{"XDG_STATE_HOME": "/x/state", "HOME": "/home/u"}, "/x/state/drill/history.db"},
		{"relative xdg ignored", map[string]string{"XDG_STATE_HOME": "rel", "HOME": "/home/u"}, "/home/u/.local/state/drill/history.db"},
		{"home fallback", map[string]string{"HOME": "/home/u"}, "/home/u/.local/state/drill/history.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DefaultPath(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("DefaultPath = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestFileSinkReleasesTheLock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "h.db")
	ctx := context.Background()
	sink := FileSink(path)
	for _, id := range []string{"f1", "f2", "f1"} {
		if err := sink.Append(ctx, run(id, "s", "y", base, result.VerdictPass)); err != nil {
			t.Fatal(err)
		}
		// Each Append has closed the file: a writer can open it at once.
		s, err := Open(path)
		if err != nil {
			t.Fatalf("store still locked after FileSink.Append: %v", err)
		}
		s.Close()
	}
	s, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, _ := s.List(ctx, Filter{})
	if diff := cmp.Diff([]string{"f2", "f1"}, ids(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFilterMatchSinceUntil(t *testing.T) {
	t.Parallel()
	r := run("m", "s", "y", base, result.VerdictPass)
	tests := []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{Since: base}, true},
		{Filter{Since: base.Add(time.Nanosecond)}, false},
		{Filter{Until: base}, false},
		{Filter{Until: base.Add(time.Nanosecond)}, true},
		{Filter{System: "y", Scenario: "s"}, true},
		{Filter{System: "z"}, false},
	}
	for i, tt := range tests {
		if got := tt.f.Match(r); got != tt.want {
			t.Errorf("#%d Match(%+v) = %v; want %v", i, tt.f, got, tt.want)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "h.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if err := s.Append(ctx, run(fmt.Sprintf("b%d", i), "s", "y", base.Add(time.Duration(i)), result.VerdictPass)); err != nil {
			b.Fatal(err)
		}
	}
}
