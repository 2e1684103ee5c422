package awsfault

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/google/go-cmp/cmp"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// sentCommand is what the emulator recorded of one SendCommand.
type sentCommand struct {
	Document   string
	Instances  []string
	Parameters map[string][]string
}

// commandsSent lists, from the emulator's ListCommands, the commands sent to instance with the
// comment drill gives each use ("drill inject", "drill revert", "drill recover").
func commandsSent(t *testing.T, api *ssm.Client, instance, comment string) []sentCommand {
	t.Helper()
	var out []sentCommand
	in := &ssm.ListCommandsInput{InstanceId: aws.String(instance)}
	for p := ssm.NewListCommandsPaginator(api, in); p.HasMorePages(); {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ssm list commands: %v", err)
		}
		for _, c := range page.Commands {
			if aws.ToString(c.Comment) == comment {
				out = append(out, sentCommand{aws.ToString(c.DocumentName), slices.Sorted(slices.Values(c.InstanceIds)), c.Parameters})
			}
		}
	}
	return out
}

// aws:ssm:send-command with revertCommands journals them before sending its commands; after a
// drill whose revert never reached the emulator, Recover from the record alone sends the revert
// commands to the same instances (each time: they are idempotent by contract).
//
// Neither moto nor LocalStack (whose SSM is moto's) runs a command: both record it and report
// every invocation Success at once. So this asserts what the emulator recorded: which commands
// were sent, with which document and parameters. moto adds every instance of the region to a
// command sent without Targets, so the instances it records cannot tell which ones drill named:
// the test runs in a region of its own (other tests launch instances in us-east-1) and checks
// the instances in the journal record, which Recover sends to.
func TestRecoverSendCommand(t *testing.T) {
	t.Parallel()
	const region = "eu-north-1"
	env, c := connect(t, "recover-ssm", nil, 0, failAfter("SendCommand", 1))
	emu.Get(t).Require(t, "ec2", "ssm")
	ids := launch(t, c.EC2(region), "recover-ssm", 2, 2)
	api := c.SSM(region)
	cfg := &SendCommandConfig{Region: region,
		Targets: awsenv.Targets{Tags: map[string]string{"drill-test": "recover-ssm"}}, Document: "AWS-RunShellScript",
		Commands: []string{"systemctl stop etcd"}, RevertCommands: []string{"systemctl start etcd", "systemctl is-active etcd"},
		Parameters: map[string][]string{"workingDirectory": {"/var/lib/etcd"}},
		Wait:       true, Timeout: scenarios.Duration(10 * time.Second),
	}
	f := injectAndLeave(t, env, SendCommandType(), cfg)
	var rec sendCommandRecord
	if err := json.Unmarshal(f.Record, &rec); err != nil {
		t.Fatalf("record %s: %v", f.Record, err)
	}
	if !slices.Equal(slices.Sorted(slices.Values(rec.Instances)), ids) || !slices.Equal(rec.RevertCommands, cfg.RevertCommands) || rec.Endpoint != emu.Get(t).Endpoint || rec.Region != region {
		t.Fatalf("record %+v, want instances %v, the revert commands, the emulator's endpoint and %s", rec, ids, region)
	}
	if strings.Contains(string(f.Record), "systemctl stop") {
		t.Errorf("record %s holds the inject commands: recover has no use for them", f.Record)
	}
	injected := []sentCommand{{"AWS-RunShellScript", ids, map[string][]string{"commands": cfg.Commands, "workingDirectory": {"/var/lib/etcd"}}}}
	if diff := cmp.Diff(injected, commandsSent(t, api, ids[0], "drill inject")); diff != "" {
		t.Fatalf("inject commands the emulator recorded (-want +got):\n%s", diff)
	}
	if got := commandsSent(t, api, ids[0], "drill revert"); len(got) != 0 {
		t.Fatalf("the drill's revert reached the emulator (%v): nothing to recover", got)
	}
	revert := sentCommand{"AWS-RunShellScript", ids, map[string][]string{"commands": cfg.RevertCommands, "workingDirectory": {"/var/lib/etcd"}}}
	recoverTwice(t, SendCommandType(), f.Record, func(round int) {
		want := slices.Repeat([]sentCommand{revert}, round)
		for _, id := range ids {
			if diff := cmp.Diff(want, commandsSent(t, api, id, "drill recover")); diff != "" {
				t.Errorf("after recover #%d, revert commands the emulator recorded for %s (-want +got):\n%s", round, id, diff)
			}
		}
	})
}

// Without revertCommands the drill reverts nothing, and neither does Recover: no call is made
// (the record's endpoint is a closed port).
func TestRecoverSendCommandWithoutRevertIsNoop(t *testing.T) {
	t.Parallel()
	rec := []byte(`{"region":"us-east-1","endpoint":"http://127.0.0.1:1","emulator":true,"instances":["i-1"]}`)
	if err := SendCommandType().Recover(context.WithoutCancel(t.Context()), runner.NewEnv(nil, nil), rec); err != nil {
		t.Fatal(err)
	}
}
