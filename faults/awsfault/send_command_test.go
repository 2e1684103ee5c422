package awsfault

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// ssmFake serves EC2 DescribeInstances (one running instance) and SSM SendCommand and
// GetCommandInvocation on loopback: no emulator runs SSM commands. It keeps, per comment
// ("drill inject", "drill revert", "drill recover"), the commands sent.
type ssmFake struct {
	mu       sync.Mutex
	refuse   string // a comment whose commands are refused
	sent     map[string][][]string
	instance string
}

func (f *ssmFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		var in struct {
			Comment    string
			Parameters map[string][]string
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch target {
		case "AmazonSSM.SendCommand":
			if in.Comment == f.refuse {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"__type":"InvalidInstanceId","message":"refused by the test"}`)
				return
			}
			if f.sent == nil {
				f.sent = map[string][][]string{}
			}
			f.sent[in.Comment] = append(f.sent[in.Comment], in.Parameters["commands"])
			fmt.Fprint(w, `{"Command":{"CommandId":"cmd-1"}}`)
		case "AmazonSSM.GetCommandInvocation":
			fmt.Fprint(w, `{"CommandId":"cmd-1","Status":"Success","ResponseCode":0}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"InvalidAction","message":"not faked: %s"}`, target)
		}
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "DescribeInstances" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<Response><Errors><Error><Code>InvalidAction</Code><Message>not faked: %s</Message></Error></Errors><RequestID>r</RequestID></Response>`, r.PostForm.Get("Action"))
		return
	}
	fmt.Fprintf(w, `<DescribeInstancesResponse><reservationSet><item><instancesSet><item><instanceId>%s</instanceId><instanceState><code>16</code><name>running</name></instanceState></item></instancesSet></item></reservationSet></DescribeInstancesResponse>`, f.instance)
}

func (f *ssmFake) commands(comment string) [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent[comment])
}

// aws:ssm:send-command with revertCommands journals them before sending its commands; after a
// drill whose revert never reached AWS, Recover from the record alone sends the revert commands
// to the same instance (each time: they are idempotent by contract).
func TestRecoverSendCommand(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL", "")
	fake := &ssmFake{instance: "i-0123456789abcdef0", refuse: "drill revert"}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	clients, err := awsenv.RecoverClients(t.Context(), awsenv.Where{Region: "us-east-1", Endpoint: srv.URL, Emulator: true}, awsenv.RecoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The real type (its Recover) with New swapped to use clients for the fake.
	typ := SendCommandType()
	typ.New = func(cfg any, env *runner.Env) (runner.Fault, error) {
		f := &sendCommandFault{cfg: *cfg.(*SendCommandConfig), clients: clients, env: env}
		f.cfg.Targets.Stabilize()
		return f, nil
	}
	env := runner.NewEnv(&scenarios.Scenario{Name: "recover-ssm"}, nil)
	cfg := &SendCommandConfig{
		Targets: awsenv.Targets{IDs: []string{fake.instance}}, Document: "AWS-RunShellScript",
		Commands: []string{"systemctl stop etcd"}, RevertCommands: []string{"systemctl start etcd"},
		Wait: true, Timeout: scenarios.Duration(10 * time.Second),
	}
	f := injectAndLeave(t, env, typ, cfg)
	var rec sendCommandRecord
	if err := json.Unmarshal(f.Record, &rec); err != nil {
		t.Fatalf("record %s: %v", f.Record, err)
	}
	if !slices.Equal(rec.Instances, []string{fake.instance}) || !slices.Equal(rec.RevertCommands, cfg.RevertCommands) || rec.Endpoint != srv.URL {
		t.Fatalf("record %+v, want the instance, the revert commands and the fake's endpoint", rec)
	}
	if strings.Contains(string(f.Record), "systemctl stop") {
		t.Errorf("record %s holds the inject commands: recover has no use for them", f.Record)
	}
	if got := fake.commands("drill inject"); len(got) != 1 {
		t.Fatalf("inject commands sent %v, want one", got)
	}
	if got := fake.commands("drill revert"); len(got) != 0 {
		t.Fatalf("the drill's revert went through (%v): nothing to recover", got)
	}
	recoverTwice(t, typ, f.Record, func(round int) {
		got := fake.commands("drill recover")
		if len(got) != round || !slices.Equal(got[round-1], cfg.RevertCommands) {
			t.Errorf("after recover #%d: recover sent %v, want %v %d times", round, got, cfg.RevertCommands, round)
		}
	})
}

// Without revertCommands the drill reverts nothing, and neither does Recover (no call: the
// record's endpoint is a closed port).
func TestRecoverSendCommandWithoutRevertIsNoop(t *testing.T) {
	rec := []byte(`{"region":"us-east-1","endpoint":"http://127.0.0.1:1","emulator":true,"instances":["i-1"]}`)
	if err := SendCommandType().Recover(context.WithoutCancel(t.Context()), runner.NewEnv(nil, nil), rec); err != nil {
		t.Fatal(err)
	}
}
