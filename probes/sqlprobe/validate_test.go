package sqlprobe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/drillhq/drill/backends/sqlenv"
	"github.com/drillhq/drill/measure"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// decode mimics the loader: a defaulted config from NewConfig, strict YAML decoding, Validate.
func decode(t *testing.T, typ runner.ProbeType, with string) (any, error) {
	t.Helper()
	cfg := typ.NewConfig()
	dec := yaml.NewDecoder(strings.NewReader(with))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		t.Fatalf("decode %q: %v", with, err)
	}
	return cfg, cfg.(scenarios.Validator).Validate()
}

func fieldNames(err error) []string {
	var out []string
	for _, fe := range scenarios.AsFieldErrors(err) {
		out = append(out, fe.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		typ        runner.ProbeType
		with       string
		wantFields []string
		wantMsg    string
	}{
		{name: "sql postgres", typ: SQLType(), with: `{driver: postgres, dsn: "postgres://u:p@127.0.0.1:5432/db"}`},
		{name: "sql mysql writable", typ: SQLType(), with: `{driver: mysql, dsn: "u:p@tcp(127.0.0.1:3306)/db", writable: true, query: "SELECT 2"}`},
		{name: "sql no dsn (a lab may supply it)", typ: SQLType(), with: `{driver: postgres}`},
		{name: "sql no driver", typ: SQLType(), with: `{dsn: "x"}`, wantFields: []string{"driver"}, wantMsg: "required: postgres or mysql"},
		{name: "sql bad driver lists both", typ: SQLType(), with: `{driver: oracle}`, wantFields: []string{"driver"}, wantMsg: `must be one of postgres, mysql, got "oracle"`},
		{name: "sql empty query", typ: SQLType(), with: `{driver: postgres, query: ""}`, wantFields: []string{"query"}},
		{name: "sql bad dsn hides password", typ: SQLType(), with: `{driver: mysql, dsn: "u:hunter2@tcp(db:3306"}`, wantFields: []string{"dsn"}},
		{name: "writes defaults", typ: WritesType(), with: `{driver: postgres, dsn: "host=db password=hunter2"}`},
		{name: "writes schema table", typ: WritesType(), with: `{driver: mysql, dsn: "u@tcp(db:3306)/x", table: "ops.drill_w", readBackDsn: "u@tcp(db2:3306)/x"}`},
		{name: "writes bad table", typ: WritesType(), with: `{driver: postgres, table: "w; DROP TABLE x"}`, wantFields: []string{"table"}, wantMsg: "[A-Za-z_]"},
		{name: "writes bad readBackDsn", typ: WritesType(), with: `{driver: mysql, dsn: "u@tcp(db:3306)/x", readBackDsn: "u:hunter2@tcp(db"}`, wantFields: []string{"readBackDsn"}},
		{name: "writes bad driver and table", typ: WritesType(), with: `{driver: pg, table: ""}`, wantFields: []string{"driver", "table"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decode(t, tc.typ, tc.with)
			if diff := cmp.Diff(tc.wantFields, fieldNames(err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s\nerr: %v", diff, err)
			}
			if err != nil && tc.wantMsg != "" && !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tc.wantMsg)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("validation error shows the password: %v", err)
			}
		})
	}
}

func spec(typ runner.ProbeType, with any) scenarios.ProbeSpec {
	return scenarios.ProbeSpec{Name: typ.Name, Type: typ.Name, With: with, Interval: 10 * time.Millisecond, Timeout: time.Second}
}

// Without a dsn, the build uses the default a SQL lab stored in the Env, and fails clearly
// when there is none. Building connects to nothing (dry runs build probes too).
func TestDSNFromLabDefault(t *testing.T) {
	t.Parallel()
	for _, typ := range []runner.ProbeType{SQLType(), WritesType()} {
		env := runner.NewEnv(&scenarios.Scenario{Name: "s"}, nil)
		cfg, err := decode(t, typ, `{driver: postgres}`)
		if err != nil {
			t.Fatal(err)
		}
		_, err = typ.New(spec(typ, cfg), env)
		var fe scenarios.FieldError
		if !errors.As(err, &fe) || fe.Field != "dsn" {
			t.Fatalf("%s without dsn or lab: %v, want a dsn field error", typ.Name, err)
		}
		// Port 1 on loopback: nothing listens, and nothing is dialled at build time anyway.
		sqlenv.SetDefaultDSN(env, "postgres://lab:labpw@127.0.0.1:1/postgres?sslmode=disable")
		p, err := typ.New(spec(typ, cfg), env)
		if err != nil {
			t.Fatalf("%s with a lab default: %v", typ.Name, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = p.Check(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "labpw") {
			t.Errorf("%s check against the lab default: %v; want an error naming 127.0.0.1:1 without the password", typ.Name, err)
		}
		p.(runner.Closer).Close()
	}
}

// The probe's recorded writes go through measure.ClassifyWrites unchanged: a write whose
// insert was refused and whose row is absent is neither acknowledged nor lost; an acknowledged
// one that is absent is lost; a timed-out one that is present is recovered.
func TestClassificationThroughMeasure(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	ctx := context.Background()
	writes := []measure.Write{
		{Seq: 1, Invoke: 0, Ack: 2 * ms, Outcome: sqlenv.Outcome(ctx, nil)},
		{Seq: 2, Invoke: 10 * ms, Ack: 12 * ms, Outcome: sqlenv.Outcome(ctx, nil)},
		{Seq: 3, Invoke: 20 * ms, Ack: 22 * ms, Outcome: sqlenv.Outcome(ctx, nil)},
		{Seq: 4, Invoke: 30 * ms, Outcome: sqlenv.Outcome(ctx, errors.New("unexpected EOF"))}, // unknown
		{Seq: 5, Invoke: 40 * ms, Outcome: sqlenv.Outcome(ctx, driverRefused())},              // refused
		{Seq: 6, Invoke: 50 * ms, Ack: 52 * ms, Outcome: sqlenv.Outcome(ctx, nil)},
	}
	present := map[uint64]bool{1: true, 4: true, 6: true, 99: true}
	got := measure.ClassifyWrites(writes, present)
	want := measure.DataLoss{Written: 6, Acknowledged: 4, Lost: 2, Recovered: 1, Unexpected: 1, RPO: 20 * ms, LostSeqs: []uint64{2, 3}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("classification (-want +got):\n%s", diff)
	}
}

func driverRefused() error {
	return fmt.Errorf("insert: %w", &mysql.MySQLError{Number: 1290, Message: "The MariaDB server is running with the --read-only option"})
}
