package scenarios

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// stubCatalog is a map-backed Catalog: kind -> type name -> config constructor (nil for a type
// that takes no `with:`).
type stubCatalog map[Kind]map[string]func() any

func (c stubCatalog) NewConfig(kind Kind, name string) (any, bool) {
	newCfg, ok := c[kind][name]
	if !ok {
		return nil, false
	}
	if newCfg == nil {
		return nil, true
	}
	return newCfg(), true
}

func (c stubCatalog) TypeNames(kind Kind) []string {
	var names []string
	for n := range c[kind] {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func testCatalog() stubCatalog {
	return stubCatalog{
		KindProbe: {
			"http":        func() any { return &httpConfig{Method: "GET", ExpectStatus: 200} },
			"tcp":         func() any { return &tcpConfig{} },
			"command":     func() any { return &commandConfig{} },
			"etcd-writes": nil,
		},
		KindFault: {
			"etcd-kill-member": func() any { return &killConfig{Signal: "SIGKILL"} },
			"command":          func() any { return &commandConfig{} },
		},
		KindStep: {
			"etcd-restart-member": func() any { return &restartConfig{} },
			"command":             func() any { return &commandConfig{} },
			"sleep":               nil,
		},
		KindEnvironment: {
			"etcd": func() any { return &etcdEnvStub{} },
			"aws":  func() any { return &awsEnvStub{} },
		},
	}
}

// testEnv is the environment every table test sees; the real one must not leak in.
func testEnv(name string) (string, bool) {
	v, ok := map[string]string{
		"HEALTH_URL":  "http://127.0.0.1:2379/health",
		"LAB_MEMBERS": "5",
		"EMPTY":       "",
		"REGION":      "eu-west-1",
	}[name]
	return v, ok
}

type httpConfig struct {
	URL          string            `yaml:"url" doc:"URL to GET"`
	Method       string            `yaml:"method"`
	ExpectStatus int               `yaml:"expectStatus"`
	BodyContains string            `yaml:"bodyContains"`
	Headers      map[string]string `yaml:"headers"`
}

func (c *httpConfig) Validate() error {
	var errs []error
	switch {
	case c.URL == "":
		errs = append(errs, FieldErrorf("url", "is required"))
	case !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://"):
		errs = append(errs, FieldErrorf("url", "must start with http:// or https://"))
	}
	if c.ExpectStatus < 100 || c.ExpectStatus > 599 {
		errs = append(errs, FieldErrorf("expectStatus", "must be an HTTP status between 100 and 599, got %d", c.ExpectStatus))
	}
	return errors.Join(errs...)
}

type tcpConfig struct {
	Address string `yaml:"address"`
}

type killConfig struct {
	Member string `yaml:"member"`
	Signal string `yaml:"signal"`
}

func (c *killConfig) Validate() error {
	var errs []error
	if c.Member == "" {
		errs = append(errs, FieldErrorf("member", "is required (leader, follower or a member name)"))
	}
	if !slices.Contains([]string{"SIGKILL", "SIGTERM", "SIGSTOP"}, c.Signal) {
		errs = append(errs, FieldErrorf("signal", "must be SIGKILL, SIGTERM or SIGSTOP, got %q", c.Signal))
	}
	return errors.Join(errs...)
}

type restartConfig struct {
	Member string `yaml:"member"`
}

type commandConfig struct {
	Run     string            `yaml:"run"`
	Revert  string            `yaml:"revert"`
	Timeout Duration          `yaml:"timeout"`
	Env     map[string]string `yaml:"env"`
	Retry   retryConfig       `yaml:"retry"`
	Targets []target          `yaml:"targets"`
	Meta    map[string]any    `yaml:"meta"`
}

type retryConfig struct {
	Attempts int      `yaml:"attempts"`
	Backoff  Duration `yaml:"backoff"`
}

type target struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
}

// RevertTimeout mirrors the command fault: its timeout bounds the revert.
func (c *commandConfig) RevertTimeout() (time.Duration, string) { return c.Timeout.D(), "timeout" }

func (c *commandConfig) Validate() error {
	var errs []error
	if c.Run == "" {
		errs = append(errs, FieldErrorf("run", "is required"))
	}
	if c.Retry.Attempts < 0 {
		errs = append(errs, FieldErrorf("retry.attempts", "must not be negative"))
	}
	for i, t := range c.Targets {
		if t.Port < 1 || t.Port > 65535 {
			errs = append(errs, FieldErrorf(fmt.Sprintf("targets[%d].port", i), "must be between 1 and 65535, got %d", t.Port))
		}
	}
	if c.Timeout.D() > 0 && c.Timeout.D() < c.Retry.Backoff.D() {
		errs = append(errs, errors.New("timeout must be longer than retry.backoff"))
	}
	return errors.Join(errs...)
}
