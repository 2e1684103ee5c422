package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An rpo objective nothing can measure, and role data on a probe that cannot write, are
// refused by `drill validate` (exit 2) with positions, before anything is injected.
func TestValidateRPOSources(t *testing.T) {
	t.Parallel()
	const head = "version: 1\nname: t\nsystem: s\nobjectives:\n  rto: 1m\n  rpo: 5m\nenvironment:\n  aws: {region: us-east-1}\n" +
		"probes:\n  - {name: up, type: tcp, with: {address: '127.0.0.1:1'}}\n"
	const fault = "faults:\n  - {name: f, type: command, with: {run: 'true'}}\n"
	tests := []struct {
		name, yaml string
		want       []string // empty: valid
	}{
		{"no source", head + fault, []string{
			"t.yaml:6:8: objectives.rpo: nothing measures it: add a probe with role: data (dynamodb-writes, etcd-writes, s3-writes, sql-writes) or a recovery step that restores from a backup (aws:ec2:restore-volume, aws:rds:restore-db-instance-to-point-in-time, etcd-restore-cluster)"}},
		{"role data on an availability-only type", head + "  - {name: c, type: command, role: data, with: {run: 'true'}}\n" + fault, []string{
			`t.yaml:11:36: probes[1].role: probe type "command" cannot be a data probe (types that can: dynamodb-writes, etcd-writes, s3-writes, sql-writes)`}},
		{"dynamodb-writes", head + "  - {name: w, type: dynamodb-writes, role: data, with: {table: orders}}\n" + fault, nil},
		{"s3-writes", head + "  - {name: w, type: s3-writes, role: data, with: {bucket: b, readBucket: dr}}\n" + fault, nil},
		{"restore step", head + fault + "recovery:\n  - {name: r, type: 'aws:ec2:restore-volume', with: {snapshots: {ids: [snap-1]}, availabilityZone: us-east-1a}}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "t.yaml"), []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := runCLI(t, "validate", filepath.Join(dir, "t.yaml"))
			if len(tt.want) == 0 {
				if code != 0 {
					t.Fatalf("exit %d, want valid:\n%s", code, stderr)
				}
				return
			}
			if code != 2 {
				t.Fatalf("exit %d, want 2:\n%s", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, stderr)
				}
			}
		})
	}
}
