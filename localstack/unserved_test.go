package localstack

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func apiError(service string, status int) error {
	return fmt.Errorf("seed: %w", &smithy.OperationError{ServiceID: service, OperationName: "X", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: errors.New("api error")},
	}})
}

// Only a 501 means "not served": any other failure must still stop the seed.
func TestUnserved(t *testing.T) {
	if svc, ok := Unserved(apiError("Auto Scaling", http.StatusNotImplemented)); !ok || svc != "Auto Scaling" {
		t.Errorf("501 from Auto Scaling = %q, %v; want Auto Scaling, true", svc, ok)
	}
	for _, err := range []error{nil, errors.New("dial tcp: refused"), apiError("EC2", http.StatusInternalServerError), apiError("EC2", http.StatusBadRequest)} {
		if _, ok := Unserved(err); ok {
			t.Errorf("Unserved(%v) = true", err)
		}
	}
}

// The host runtime must listen on loopback only and start no DNS server.
func TestLocalStackEnvLoopbackOnly(t *testing.T) {
	env := strings.Join(localStackEnv("/tmp/x", 4566), "\n")
	for _, want := range []string{"GATEWAY_SERVER=hypercorn", "GATEWAY_LISTEN=127.0.0.1:4566", "DNS_ADDRESS=0", "OVERRIDE_IN_DOCKER=0", "FILESYSTEM_ROOT=/tmp/x"} {
		if !strings.Contains(env, want+"\n") && !strings.HasSuffix(env, want) {
			t.Errorf("LocalStack's environment lacks %s:\n%s", want, env)
		}
	}
}
