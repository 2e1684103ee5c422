package awsenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// CredentialsError means the SDK's credential chain (environment, profile, SSO, instance
// metadata) found no credentials. Its message says what to set; the chain's own account of
// every provider it tried is in Err, for -vv, because it names no fix.
type CredentialsError struct{ Err error }

func (e *CredentialsError) Error() string {
	var notFound config.SharedConfigProfileNotExistError
	if errors.As(e.Err, &notFound) {
		return fmt.Sprintf("no AWS credentials: profile %q is not in ~/.aws/config or ~/.aws/credentials (check AWS_PROFILE, or run `aws configure --profile %s`)", notFound.Profile, notFound.Profile)
	}
	return "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); " +
		"for the emulator, export the AWS_ENDPOINT_URL that `drill lab up --aws` prints"
}

func (e *CredentialsError) Unwrap() error { return e.Err }

// UnreachableError means no request reached the endpoint at all (connection refused, DNS, TLS):
// for an emulator it is almost always not running.
type UnreachableError struct {
	Endpoint string // "" for real AWS
	Err      error  // the SDK's error
	cause    error  // what the transport said (dial tcp ...: connection refused)
}

func (e *UnreachableError) Error() string {
	if e.Endpoint != "" {
		return fmt.Sprintf("cannot reach the AWS emulator at %s (%v): start it with `drill lab up --aws`, or unset AWS_ENDPOINT_URL to use real AWS", e.Endpoint, e.cause)
	}
	return fmt.Sprintf("cannot reach AWS (%v): check the network and proxy settings", e.cause)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// CheckCredentials resolves the credentials the SDK would sign with, so their absence is told
// as what to set instead of as the first API call's "get identity: get credentials: ..." chain.
// The credentials are cached in cfg, so the first call does not resolve them again.
func CheckCredentials(ctx context.Context, cfg aws.Config, log *slog.Logger) error {
	if cfg.Credentials == nil {
		return &CredentialsError{Err: errors.New("no credential provider configured")}
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("resolve aws credentials: %w", context.Cause(ctx))
		}
		if log != nil {
			log.Debug("aws credential chain", "error", err)
		}
		return &CredentialsError{Err: err}
	}
	return nil
}

// Classify turns an SDK error into one that says what to do, when its type tells what went
// wrong: the request never left (UnreachableError). Other errors are returned as they are.
func Classify(err error, endpoint string) error {
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) {
		return &UnreachableError{Endpoint: endpoint, Err: err, cause: send.Err}
	}
	return err
}

// sdkLogger sends the SDK's own log lines ("WARN falling back to IMDSv1", retries when
// ClientLogMode asks for them) through drill's logger instead of the SDK's default, which
// writes them to stderr whatever -v says. Its warnings concern the SDK's choices, not the
// drill, so they are shown from -v (info) on; its debug lines from -vv.
func sdkLogger(log *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelDebug
		if c == logging.Warn {
			level = slog.LevelInfo
		}
		log.Log(context.Background(), level, "aws sdk: "+fmt.Sprintf(format, v...))
	})
}
