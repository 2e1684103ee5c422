package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Emulator names, as `drill lab up --aws --emulator` and DRILL_TEST_EMULATOR spell them.
const (
	EmulatorMoto       = "moto"
	EmulatorLocalStack = "localstack" // LocalStack's community runtime on the host, no Docker
)

// EnvLocalStackPython names the Python of a venv holding localstack-core; otherwise
// FindLocalStackPython looks for .venv-localstack/bin/python in this or a parent directory.
const EnvLocalStackPython = "DRILL_LOCALSTACK_PYTHON"

// ErrNoLocalStack means no LocalStack community runtime was found.
var ErrNoLocalStack = errors.New("LocalStack's community runtime not found: run 'make localstack' (creates .venv-localstack) or set " + EnvLocalStackPython)

// LocalStackServices are the services the host runtime is asked to serve: those the AWS drills
// use that the community runtime has. DynamoDB is left out: LocalStack serves it through AWS's
// DynamoDB Local, which this project does not install (its licence is the vendor's own), so
// the runtime answers DynamoDB calls with 501 like any service it lacks.
const LocalStackServices = "ec2,route53,ssm,sts,sns,s3"

// FindLocalStackPython locates the Python that runs LocalStack's runtime.
func FindLocalStackPython(getenv func(string) string) (string, error) {
	p, err := findExecutable(getenv, EnvLocalStackPython, filepath.Join(".venv-localstack", "bin", "python"))
	if p == "" && err == nil {
		err = ErrNoLocalStack
	}
	return p, err
}

// LocalStackOptions configure StartLocalStack.
type LocalStackOptions struct {
	// Python of the venv holding localstack-core; FindLocalStackPython when empty.
	Python string
	// Port to listen on (127.0.0.1); a free port when zero.
	Port int
	// Dir holds the runtime's files (FILESYSTEM_ROOT); a temporary directory, removed by
	// Stop, when empty.
	Dir string
	// Log receives the runtime's output (discarded when nil).
	Log io.Writer
	// Detach starts the runtime in its own session so it outlives this process (the lab).
	Detach bool
	// ReadyTimeout bounds the wait until it answers (default 3 minutes: it imports far more
	// Python than moto; on a 2-core machine under a load of 25 it took over 90 s).
	ReadyTimeout time.Duration
}

// StartLocalStack starts LocalStack's community runtime on 127.0.0.1 without Docker and waits
// until its health endpoint answers. Configuration only, no patches: see localstack/README.md.
func StartLocalStack(ctx context.Context, o LocalStackOptions) (*Server, error) {
	python := o.Python
	if python == "" {
		var err error
		if python, err = FindLocalStackPython(nil); err != nil {
			return nil, err
		}
	}
	dir, tmp := o.Dir, ""
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "drill-localstack-"); err != nil {
			return nil, fmt.Errorf("start LocalStack: %w", err)
		}
		tmp = dir
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start LocalStack: %w", err)
	}
	timeout := o.ReadyTimeout
	if timeout <= 0 {
		timeout = 3 * time.Minute
	}
	return startEmulator(ctx, emulatorStart{name: EmulatorLocalStack, what: "LocalStack (" + python + ")", port: o.Port, log: o.Log,
		detach: o.Detach, readyTimeout: timeout, tmpDir: tmp},
		func(port int) *exec.Cmd {
			cmd := exec.Command(python, "-m", "localstack.runtime.main")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), localStackEnv(dir, port)...)
			return cmd
		})
}

// localStackEnv is the runtime's configuration for a host run on 127.0.0.1:port.
func localStackEnv(dir string, port int) []string {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	return []string{
		// The runtime takes a machine with /.dockerenv or a container cgroup for its own
		// container and then expects its image's layout; this is a host run.
		"OVERRIDE_IN_DOCKER=0",
		"FILESYSTEM_ROOT=" + dir,
		// The default gateway server (twisted) ignores the address and binds 0.0.0.0;
		// hypercorn honours it, keeping the emulator on loopback.
		"GATEWAY_SERVER=hypercorn",
		"GATEWAY_LISTEN=" + addr,
		"LOCALSTACK_HOST=" + addr,
		// Its DNS server would bind port 53 on every interface.
		"DNS_ADDRESS=0",
		"SERVICES=" + LocalStackServices,
		"EAGER_SERVICE_LOADING=0",
		// Nothing may leave the machine: no certificate download, no analytics events.
		"SKIP_SSL_CERT_DOWNLOAD=1",
		"DISABLE_EVENTS=1",
		// Credentials or an auth token of the developer's must never reach it.
		"LOCALSTACK_AUTH_TOKEN=",
		"LOCALSTACK_API_KEY=",
	}
}

// Services asks a LocalStack at endpoint which services it serves (its health endpoint lists
// the enabled ones as "available" or "running"; services it lacks are absent or "disabled").
func Services(ctx context.Context, endpoint string) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/_localstack/health", nil)
	if err != nil {
		return nil, fmt.Errorf("LocalStack health: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("LocalStack health: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("LocalStack health: %s", resp.Status)
	}
	var h struct {
		Services map[string]string `json:"services"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&h); err != nil {
		return nil, fmt.Errorf("LocalStack health: %w", err)
	}
	served := map[string]bool{}
	for name, state := range h.Services {
		served[name] = state == "available" || state == "running"
	}
	return served, nil
}

// isEmulatorCmdline reports whether a process command line is one of the emulators this
// package starts.
func isEmulatorCmdline(cmdline string) bool {
	return strings.Contains(cmdline, "moto_server") || strings.Contains(cmdline, "localstack.runtime.main")
}
