package awsenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// ConnectorOptions configure the AWS connector.
type ConnectorOptions struct {
	// Yes allows real AWS accounts that environment.aws.allowAccounts does not list (--yes).
	Yes bool
	// Getenv reads AWS_ENDPOINT_URL and AWS_REGION (os.Getenv when nil).
	Getenv func(string) string
	// APIOptions are added to every client (tests count API calls with a middleware).
	APIOptions []func(*middleware.Stack) error
	// PageSize and PollInterval override the Clients defaults when non-zero.
	PageSize     int32
	PollInterval time.Duration
	// HTTPClient sends every request (tests put a trap here); nil is the SDK's.
	HTTPClient aws.HTTPClient
}

// Connector builds the AWS clients for scenarios with environment.aws and enforces the real-AWS
// safety rule (docs/DESIGN.md §7). Whether a run is real AWS is judged from where the SDK will
// really send each client's calls, not from what was configured.
type Connector struct{ o ConnectorOptions }

// NewConnector returns the AWS connector.
func NewConnector(o ConnectorOptions) *Connector {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	return &Connector{o: o}
}

// Name implements runner.Connector.
func (c *Connector) Name() string { return "aws" }

// Wants implements runner.Connector.
func (c *Connector) Wants(s *scenarios.Scenario) bool { return Of(s) != nil }

// Connect resolves the endpoint, builds the clients, checks the caller's account with STS and
// stores the clients in env.
func (c *Connector) Connect(ctx context.Context, env *runner.Env) (func(context.Context) error, error) {
	clients, err := c.clients(ctx, Of(env.Scenario), env.Log)
	if err != nil {
		return nil, err
	}
	where := "real AWS"
	if clients.Emulator() {
		where = "emulator " + clients.Endpoint
	}
	env.Log.Info("aws connected", "where", where, "account", clients.Account, "region", clients.Config.Region)
	setClients(env, clients)
	return func(context.Context) error { return nil }, nil
}

// clients builds the clients for an environment.aws block and applies the safety rule: unless
// every client calls an emulator (see judgeEndpoints), the run is real AWS, and the STS caller
// account must be in allowAccounts, or Yes given.
func (c *Connector) clients(ctx context.Context, a *Env, log *slog.Logger) (*Clients, error) {
	if a == nil {
		return nil, errNoAWS
	}
	region := a.Region
	for _, v := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if region == "" {
			region = c.o.Getenv(v)
		}
	}
	if region == "" {
		return nil, fmt.Errorf("no AWS region: set environment.aws.region or AWS_REGION")
	}
	endpoint := ResolveEndpoint(a.Endpoint, c.o.Getenv)
	cfg, err := LoadConfig(ctx, ConfigOptions{Region: region, Endpoint: endpoint, APIOptions: c.o.APIOptions, HTTPClient: c.o.HTTPClient, Log: log})
	if err != nil {
		return nil, err
	}
	eps, err := resolvedEndpoints(ctx, cfg)
	if err != nil {
		return nil, err
	}
	emulator, why := judgeEndpoints(eps, endpoint, a.Emulator)
	if emulator && !a.Emulator {
		cfg.APIOptions = append(cfg.APIOptions, loopbackOnly)
	}
	if !emulator && !c.o.Yes && len(a.AllowAccounts) == 0 {
		// Nothing could allow the account, and asking STS for it would already be a call to AWS.
		return nil, fmt.Errorf("refusing to run against real AWS (%s): environment.aws.allowAccounts is empty (list the account, or pass --yes)", why)
	}
	clients := newClients(cfg, endpoint, emulator)
	if c.o.PageSize > 0 {
		clients.PageSize = c.o.PageSize
	}
	if c.o.PollInterval > 0 {
		clients.PollInterval = c.o.PollInterval
	}
	if err := CheckCredentials(ctx, cfg, log); err != nil {
		return nil, err
	}
	account, err := callerAccount(ctx, cfg)
	if err != nil {
		err = Classify(err, endpoint)
		var unreachable *UnreachableError
		if errors.As(err, &unreachable) {
			return nil, err // says what to do; "identify the account" would only bury it
		}
		if emulator {
			return nil, fmt.Errorf("the AWS emulator at %s answered sts get-caller-identity with an error (is it the one `drill lab up --aws` starts?): %w", endpoint, err)
		}
		return nil, fmt.Errorf("identify the AWS account (sts get-caller-identity): %w", err)
	}
	clients.Account = account
	if !emulator && !c.o.Yes && !slices.Contains(a.AllowAccounts, account) {
		return nil, fmt.Errorf("refusing to run against real AWS account %s (%s): it is not in environment.aws.allowAccounts %v (add it, or pass --yes)", account, why, a.AllowAccounts)
	}
	return clients, nil
}

func callerAccount(ctx context.Context, cfg aws.Config) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Few attempts: an emulator that is not running should fail the connect phase quickly.
	out, err := sts.NewFromConfig(cfg, func(o *sts.Options) { o.RetryMaxAttempts = 2 }).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Account), nil
}
