package awsenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go/middleware"
)

// EnvEndpoint is the variable the AWS SDKs and CLI read for a global endpoint override.
const EnvEndpoint = "AWS_ENDPOINT_URL"

// ResolveEndpoint returns the endpoint a scenario talks to: environment.aws.endpoint when set,
// else AWS_ENDPOINT_URL, else "" which means real AWS.
func ResolveEndpoint(configured string, getenv func(string) string) string {
	if configured != "" {
		return configured
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	return getenv(EnvEndpoint)
}

// defaultMaxAttempts bounds retries of throttled or failed calls. A drill against a large
// fleet can hit API rate limits; the standard retryer backs off with jitter between attempts.
const defaultMaxAttempts = 8

// ConfigOptions describe the SDK configuration to build.
type ConfigOptions struct {
	Region   string
	Endpoint string // "" = real AWS
	// MaxAttempts per call, including the first (default defaultMaxAttempts).
	MaxAttempts int
	// MaxBackoff caps the delay between attempts (default 20s).
	MaxBackoff time.Duration
	// APIOptions are added to every client's middleware stack (tests count calls with them).
	APIOptions []func(*middleware.Stack) error
	// HTTPClient sends the requests; nil is the SDK's default.
	HTTPClient aws.HTTPClient
	// Log receives the SDK's own log lines (see sdkLogger); nil discards them.
	Log *slog.Logger
}

// LoadConfig builds an aws.Config. Against an emulator it never consults instance metadata
// and uses dummy credentials unless AWS_ACCESS_KEY_ID is set, so a developer's real
// credentials are never sent to a local endpoint by accident.
func LoadConfig(ctx context.Context, o ConfigOptions) (aws.Config, error) {
	if o.Region == "" {
		return aws.Config{}, fmt.Errorf("aws config: no region (set environment.aws.region or AWS_REGION)")
	}
	attempts := o.MaxAttempts
	if attempts <= 0 {
		attempts = defaultMaxAttempts
	}
	backoff := o.MaxBackoff
	if backoff <= 0 {
		backoff = 20 * time.Second
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(o.Region),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = attempts
				so.MaxBackoff = backoff
				// The client-side retry quota would turn a burst of throttling on a large
				// fleet into hard failures; the backoff alone paces us.
				so.RateLimiter = ratelimit.None
			})
		}),
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	opts = append(opts, config.WithLogger(sdkLogger(log)))
	if len(o.APIOptions) > 0 {
		opts = append(opts, config.WithAPIOptions(o.APIOptions))
	}
	if o.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(o.HTTPClient))
	}
	if o.Endpoint != "" {
		opts = append(opts,
			config.WithBaseEndpoint(o.Endpoint),
			config.WithEC2IMDSClientEnableState(imds.ClientDisabled),
		)
		if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
			opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	var noProfile config.SharedConfigProfileNotExistError
	if errors.As(err, &noProfile) {
		// The credentials the user meant are missing: say which profile and how to add it.
		err = &CredentialsError{Err: err}
	}
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	return cfg, nil
}
