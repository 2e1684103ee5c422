package awsfault

import (
	"errors"
	"testing"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/scenarios"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	cap2 := int32(2)
	tests := []struct {
		name  string
		cfg   scenarios.Validator
		field string // "" = valid
	}{
		{"promote needs allowIrreversible", &PromoteReadReplicaConfig{Instance: "db"}, "allowIrreversible"},
		{"promote ok", &PromoteReadReplicaConfig{Instance: "db", AllowIrreversible: true}, ""},
		{"capacity required", &SetDesiredCapacityConfig{Group: "g"}, "capacity"},
		{"capacity ok", &SetDesiredCapacityConfig{Group: "g", Capacity: &cap2}, ""},
		{"health check needs a target", &BreakHealthCheckConfig{}, "healthCheckId"},
		{"health check by record needs a zone", &BreakHealthCheckConfig{Record: awsenv.RecordRef{Name: "app.example.com"}}, "record.zone"},
		{"upsert needs values", &UpsertRecordConfig{Zone: "example.com", Name: "app.example.com"}, "values"},
		{"start: fault or targets", &StartInstancesConfig{Fault: "f", Targets: awsenv.Targets{IDs: []string{"i-1"}}}, "fault"},
		{"sns needs an ARN", &PublishConfig{TopicArn: "dr", Message: "m"}, "topicArn"},
		{"drs needs servers", &StartRecoveryDrillConfig{}, "sourceServerIds"},
		{"restore needs an AZ", &RestoreVolumeConfig{Snapshots: awsenv.Targets{Tags: map[string]string{"backup": "nightly"}}}, "availabilityZone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe scenarios.FieldError
			if !errors.As(err, &fe) && len(scenarios.AsFieldErrors(err)) == 0 {
				t.Fatalf("Validate() = %v, want a FieldError on %s", err, tt.field)
			}
			var fields []string
			for _, f := range scenarios.AsFieldErrors(err) {
				fields = append(fields, f.Field)
			}
			if !contains(fields, tt.field) {
				t.Errorf("Validate() fields = %v, want %s", fields, tt.field)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
