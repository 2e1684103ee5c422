package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/drillhq/drill/localstack"
	"github.com/drillhq/drill/localstack/lstest"
	"github.com/drillhq/drill/reporters"
	"github.com/drillhq/drill/result"
	"github.com/drillhq/drill/resultstore"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

const awsLibraryDir = "../../scenarios/library/aws"

// awsRegistry is the build's own registry, its AWS connector pointed at endpoint and blind to
// the developer's environment.
func awsRegistry(endpoint string) *runner.Registry {
	getenv := func(k string) string {
		if k == "AWS_ENDPOINT_URL" {
			return endpoint
		}
		return ""
	}
	return newRegistry(&app{log: discardLogger(), getenv: getenv}, registryOptions{})
}

// seededEmulator starts an AWS emulator of the test's own and seeds the shipped DR topology.
func seededEmulator(t *testing.T) (*lstest.Emulator, aws.Config) {
	t.Helper()
	ctx := context.Background()
	emu := lstest.ForTest(t, lstest.Start)
	cfg, err := localstack.ClientConfig(ctx, "us-east-1", emu.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	fx, err := localstack.DefaultFixture()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := localstack.Seed(ctx, cfg, fx, createResultsTable); err != nil {
		t.Fatalf("seed DR topology: %v", err)
	}
	return emu, cfg
}

func noEnv(string) (string, bool) { return "", false }

func libraryFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(awsLibraryDir, "*.yaml"))
	if err != nil || len(files) != 6 {
		t.Fatalf("shipped AWS drills: %v, %v; want 6 files", files, err)
	}
	return files
}

// TestLibraryValidates loads every shipped AWS drill against the registered types.
func TestLibraryValidates(t *testing.T) {
	t.Parallel()
	reg := awsRegistry("")
	for _, f := range libraryFiles(t) {
		if _, err := scenarios.Load(f, reg, scenarios.WithLookupEnv(noEnv)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestLibraryAgainstEmulator runs every shipped AWS drill the emulator can serve, in turn,
// against the seeded DR topology: each must pass, produce JSON and JUnit, and be written to
// the fixture's DynamoDB results table exactly once. The DRS drill (no emulator implements
// DRS) gets a dry run: connect, build every type, resolve the fault's targets.
func TestLibraryAgainstEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("runs six drills end to end")
	}
	// libraryNeeds are the services each shipped AWS drill calls beyond EC2 and STS, by the names
	// LocalStack's health endpoint uses; a drill skips on an emulator that lacks one.
	libraryNeeds := map[string][]string{
		"aws-backup-and-restore":           nil,
		"aws-drs-recovery-drill":           {"drs"},
		"aws-pilot-light":                  {"autoscaling", "route53"},
		"aws-rds-multi-az-failover":        {"rds"},
		"aws-route53-dns-failover":         {"route53"},
		"aws-warm-standby-region-failover": {"autoscaling", "rds", "route53", "sns"},
	}
	emu, cfg := seededEmulator(t)
	reg := awsRegistry(aws.ToString(cfg.BaseEndpoint))
	dir := t.TempDir()
	store := resultstore.New(dynamodb.NewFromConfig(cfg), resultstore.DefaultTable, filepath.Join(dir, "spool"))
	for _, f := range libraryFiles(t) {
		s, err := scenarios.Load(f, reg, scenarios.WithLookupEnv(noEnv))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		dry := strings.Contains(f, "drs-")
		t.Run(s.Name, func(t *testing.T) {
			needs, ok := libraryNeeds[s.Name]
			if !ok {
				t.Fatalf("%s: add the services it needs to libraryNeeds", s.Name)
			}
			emu.Require(t, needs...)
			if slices.Contains(needs, "route53") {
				// Breaking a health check and reverting it writes Inverted=false.
				lstest.KnownBug(t, lstest.KindLocalStackHost, lstest.BugRoute53FalseFlags)
			}
			res := runner.Run(context.Background(), s, runner.Options{Registry: reg, DryRun: dry, ToolVersion: "test"})
			if res.Verdict != result.VerdictPass {
				b, _ := json.MarshalIndent(res, "", "  ")
				t.Fatalf("verdict %s: %s\n%s", res.Verdict, res.Reason, b)
			}
			if dry {
				if got := res.Faults[0].Targets; len(got) != 1 || got[0] != "s-1234567890abcdef0" {
					t.Errorf("dry-run targets = %v", got)
				}
				return
			}
			if !res.Rollback.Ran || !res.Rollback.Clean || !res.SteadyState.After.Passed {
				t.Errorf("rollback %+v, steady state after %+v", res.Rollback, res.SteadyState.After)
			}
			var js, junit bytes.Buffer
			if err := reporters.WriteJSON(&js, []*result.Result{res}); err != nil {
				t.Fatal(err)
			}
			if err := reporters.WriteJUnit(&junit, []*result.Result{res}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(js.String(), `"schema": "drill.result/v1"`) || !strings.Contains(junit.String(), "<testsuite") {
				t.Errorf("reports look wrong:\n%s\n%s", js.String(), junit.String())
			}
			if s.Objectives.RPO != nil {
				// No shipped AWS drill has a data probe moto could serve: an RPO objective
				// must be judged from the restore point the restore step reported.
				rpo := res.Objectives.RPO
				if rpo.Source != result.RPOSourceRestorePoint || rpo.MeasuredMs == nil || rpo.RestorePoint == nil || !strings.Contains(js.String(), `"source": "restore-point"`) {
					t.Errorf("rpo %+v: want measured from the restore point, labelled so in JSON", rpo)
				}
				if !strings.Contains(junit.String(), "source: restore-point") {
					t.Errorf("JUnit does not say the RPO came from the restore point:\n%s", junit.String())
				}
			}
			_ = os.WriteFile(filepath.Join(dir, s.Name+".json"), js.Bytes(), 0o644)
			if !emu.Serves("dynamodb") {
				// The drill passed; only saving its result needs the results table.
				t.Logf("%s passed; not saved: %s does not serve dynamodb", s.Name, emu.Name())
				return
			}
			rep, err := store.Save(context.Background(), res)
			if err != nil || rep.Outcome != resultstore.Written {
				t.Fatalf("save to DynamoDB = %+v, %v", rep, err)
			}
			got, err := resultstore.ByScenario(context.Background(), dynamodb.NewFromConfig(cfg), resultstore.DefaultTable, s.Name, 0)
			if err != nil || len(got) != 1 || got[0].RunID != res.RunID {
				t.Errorf("DynamoDB history for %s = %d items, %v; want this run once", s.Name, len(got), err)
			}
			var rto int64 = -1
			if res.Objectives.RTO.MeasuredMs != nil {
				rto = *res.Objectives.RTO.MeasuredMs
			}
			t.Logf("%s: verdict %s, RTO %d ms (target %d ms), faults %d", s.Name, res.Verdict, rto, res.Objectives.RTO.TargetMs, len(res.Faults))
		})
	}
}
