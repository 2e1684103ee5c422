package sqlprobe

import (
	"context"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drillhq/drill/internal/dbtest"
	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

func rusageSelf() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchWrites(b *testing.B) (*dbtest.Server, *Writes) {
	// fsync and synchronous_commit on, as in production: each insert waits for its WAL flush.
	return benchWritesOn(b, dbtest.Postgres(b, dbtest.PostgresOptions{Fsync: true}))
}

func benchWritesOn(b *testing.B, s *dbtest.Server) (*dbtest.Server, *Writes) {
	env := runner.NewEnv(&scenarios.Scenario{Name: "bench"}, nil)
	p, err := WritesType().New(scenarios.ProbeSpec{Name: "w", Type: "sql-writes", Interval: 10 * time.Millisecond, Timeout: time.Second,
		With: &WritesConfig{Driver: string(s.Driver), DSN: s.DSN(), Table: "bench_writes"}}, env)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.(runner.Closer).Close() })
	w := p.(*Writes)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Check(ctx); err != nil { // table setup outside the measurement
		b.Fatal(err)
	}
	return s, w
}

// BenchmarkWritesPostgres10ms drives one sql-writes probe on a 10 ms grid (open-loop, as the
// sampler does) against a local PostgreSQL with fsync on, one sample per b.N. Run it with
// -benchtime=1000x (10 s). It reports what a drill cares about: inserts acknowledged per
// second, insert latency, and the CPU the probe process and the server spent, as a share of
// one core.
func BenchmarkWritesPostgres10ms(b *testing.B) {
	s, w := benchWrites(b)
	run10ms(b, s, w)
}

// BenchmarkWritesMariaDB10ms is the same against MariaDB (InnoDB flushes its log at every
// commit by default, the production setting).
func BenchmarkWritesMariaDB10ms(b *testing.B) {
	s, w := benchWritesOn(b, dbtest.MariaDB(b))
	run10ms(b, s, w)
}

func run10ms(b *testing.B, s *dbtest.Server, w *Writes) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var wg sync.WaitGroup
	cpu0, srv0 := rusageSelf(), s.CPUTime()
	start := time.Now()
	b.ResetTimer()
	for range b.N {
		<-tick.C
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = w.Check(ctx)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu, srv := rusageSelf()-cpu0, s.CPUTime()-srv0
	var lat []time.Duration
	acked := 0
	for _, x := range w.Writes()[1:] {
		if x.Outcome == measure.WriteOK {
			acked++
			lat = append(lat, x.Ack-x.Invoke)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(acked)/elapsed.Seconds(), "inserts/s")
	b.ReportMetric(float64(b.N-acked), "failed")
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
	b.ReportMetric(100*cpu.Seconds()/elapsed.Seconds(), "probe-cpu-%")
	b.ReportMetric(100*srv.Seconds()/elapsed.Seconds(), "server-cpu-%")
}

// BenchmarkWritesPostgresSerial is the closed-loop ceiling: one insert at a time, as fast as
// the server acknowledges them (ns/op is one fsynced insert round trip).
func BenchmarkWritesPostgresSerial(b *testing.B) {
	_, w := benchWrites(b)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if err := w.Check(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
