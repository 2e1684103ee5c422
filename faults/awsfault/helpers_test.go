package awsfault

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/localstack/lstest"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

var emu lstest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	emu.Close()
	os.Exit(code)
}

// callCounter counts API operations per name with a middleware on every SDK client.
type callCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *callCounter) option(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("drillCountCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			if c.calls == nil {
				c.calls = map[string]int{}
			}
			c.calls[awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

func (c *callCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = map[string]int{}
}

func (c *callCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}

func (c *callCounter) String() string {
	m := c.snapshot()
	keys := make([]string, 0, len(m))
	total := 0
	for k, v := range m {
		keys = append(keys, k)
		total += v
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return fmt.Sprintf("%d calls (%s)", total, strings.Join(parts, ", "))
}

// connect runs the AWS connector against the test emulator, as the runner's connect phase does.
// Extra options are added to every client's middleware stack.
func connect(t *testing.T, name string, counter *callCounter, pageSize int32, opts ...func(*middleware.Stack) error) (*runner.Env, *awsenv.Clients) {
	t.Helper()
	e := emu.Get(t)
	o := awsenv.ConnectorOptions{Getenv: func(string) string { return "" }, PageSize: pageSize, PollInterval: 50 * time.Millisecond, APIOptions: opts}
	if counter != nil {
		o.APIOptions = append(o.APIOptions, counter.option)
	}
	s := &scenarios.Scenario{Name: name, System: "test", Environment: scenarios.Environment{"aws": &awsenv.Env{Region: "us-east-1", Endpoint: e.Endpoint}}}
	env := runner.NewEnv(s, nil)
	c := awsenv.NewConnector(o)
	if !c.Wants(s) {
		t.Fatal("connector does not want a scenario with environment.aws")
	}
	if _, err := c.Connect(context.Background(), env); err != nil {
		t.Fatalf("connect: %v", err)
	}
	clients, err := awsenv.ClientsFrom(env)
	if err != nil {
		t.Fatal(err)
	}
	return env, clients
}

// launch starts n instances tagged drill-test=tag, in reservations of perCall, and returns
// their ids sorted.
func launch(t *testing.T, api *ec2.Client, tag string, n, perCall int) []string {
	t.Helper()
	var ids []string
	for n > 0 {
		k := min(n, perCall)
		out, err := api.RunInstances(context.Background(), &ec2.RunInstancesInput{
			ImageId: aws.String("ami-12c6146b"), InstanceType: ec2types.InstanceTypeT3Micro,
			MinCount: aws.Int32(int32(k)), MaxCount: aws.Int32(int32(k)),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance,
				Tags: []ec2types.Tag{{Key: aws.String("drill-test"), Value: aws.String(tag)}}}},
		})
		if err != nil {
			t.Fatalf("run instances: %v", err)
		}
		for _, i := range out.Instances {
			ids = append(ids, aws.ToString(i.InstanceId))
		}
		n -= k
	}
	sort.Strings(ids)
	return ids
}

// statesOf describes the instances tagged drill-test=tag: id -> state.
func statesOf(t *testing.T, api *ec2.Client, tag string) map[string]string {
	t.Helper()
	found, err := awsenv.ListInstances(context.Background(), api, []ec2types.Filter{{Name: aws.String("tag:drill-test"), Values: []string{tag}}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, i := range found {
		out[i.ID] = i.State
	}
	return out
}

func withState(states map[string]string, state string) []string {
	var out []string
	for id, s := range states {
		if s == state {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
