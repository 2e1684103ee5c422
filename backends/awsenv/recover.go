package awsenv

import (
	"context"
	"fmt"
	"os"
)

// Where is the part of an AWS fault's journal record that says where its resources live, so
// `drill recover` can rebuild clients in a new process with no scenario and no connector. It
// holds no credentials: those come from the recovering process's AWS configuration.
type Where struct {
	Region string `json:"region"`
	// Endpoint is the endpoint the drill was configured with ("" = real AWS, unless
	// AWS_ENDPOINT_URL is set when recovering).
	Endpoint string `json:"endpoint,omitempty"`
	// Emulator is the drill's judgement: it talked to an emulator. It only widens the
	// recovering judgement to an emulator off loopback that the scenario had declared.
	Emulator bool `json:"emulator,omitempty"`
	// Account is the STS caller account of the drill; for real AWS recover refuses any other.
	Account string `json:"account,omitempty"`
}

// WhereOf returns the Where of calls c makes in region ("" = the default region).
func (c *Clients) WhereOf(region string) Where {
	return Where{Region: c.Region(region), Endpoint: c.Endpoint, Emulator: c.emulator, Account: c.Account}
}

// RecoverOptions are the process-level inputs of RecoverClients; the zero value is what
// `drill recover` uses.
type RecoverOptions struct {
	Getenv func(string) string // os.Getenv when nil
}

// RecoverClients builds clients for reverting a journaled fault. It applies the connector's
// safety rule in the form recover needs: the endpoint guard judges again where calls would go
// (the recovering process's environment may differ from the drill's), and for real AWS the STS
// caller account must be the record's, so credentials for another account never revert
// anything. No allowAccounts here: the drill that journaled the record already passed that gate
// for this account.
func RecoverClients(ctx context.Context, w Where, o RecoverOptions) (*Clients, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if w.Region == "" {
		return nil, fmt.Errorf("recover aws clients: the record names no region")
	}
	endpoint := ResolveEndpoint(w.Endpoint, getenv)
	cfg, err := LoadConfig(ctx, ConfigOptions{Region: w.Region, Endpoint: endpoint})
	if err != nil {
		return nil, fmt.Errorf("recover aws clients: %w", err)
	}
	eps, err := resolvedEndpoints(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("recover aws clients: %w", err)
	}
	// An off-loopback emulator is accepted only when the drill itself judged it one and the
	// record names that endpoint: AWS_ENDPOINT_URL alone never makes a remote host an emulator.
	declared := w.Emulator && w.Endpoint != ""
	emulator, why := judgeEndpoints(eps, endpoint, declared)
	if emulator && !declared {
		cfg.APIOptions = append(cfg.APIOptions, loopbackOnly)
	}
	if !emulator && w.Account == "" {
		return nil, fmt.Errorf("recover aws clients: refusing real AWS (%s): the record names no account to check the credentials against", why)
	}
	if emulator && !w.Emulator && w.Account != "" {
		// The drill ran against real AWS; its resources are not in this emulator.
		return nil, fmt.Errorf("recover aws clients: the drill ran against real AWS account %s, but calls would now go to an emulator (%s): unset AWS_ENDPOINT_URL", w.Account, endpoint)
	}
	clients := newClients(cfg, endpoint, emulator)
	if !emulator {
		account, err := callerAccount(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("recover aws clients: identify the AWS account (sts get-caller-identity): %w", err)
		}
		if account != w.Account {
			return nil, fmt.Errorf("recover aws clients: refusing: the credentials are for account %s, the drill ran in account %s (%s)", account, w.Account, why)
		}
		clients.Account = account
	}
	return clients, nil
}
