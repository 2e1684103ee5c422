package awsfault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// SendCommandConfig is the `with:` block of aws:ssm:send-command.
type SendCommandConfig struct {
	Targets        awsenv.Targets      `yaml:"targets" doc:"instances to run on: ids, tags, filters and select (running instances)"`
	Document       string              `yaml:"document" doc:"SSM document (default AWS-RunShellScript)"`
	Commands       []string            `yaml:"commands" doc:"commands (the document's commands parameter), e.g. [\"systemctl kill -s SIGKILL etcd\"]"`
	Parameters     map[string][]string `yaml:"parameters" doc:"other document parameters"`
	RevertCommands []string            `yaml:"revertCommands" doc:"commands run on the same instances on revert (and in 'drill recover' after a killed drill, so make them idempotent)"`
	Wait           bool                `yaml:"wait" doc:"wait for every invocation to finish and fail unless all succeeded"`
	Timeout        scenarios.Duration  `yaml:"timeout" doc:"how long to wait for the invocations"`
	Region         string              `yaml:"region" doc:"region (default: environment.aws.region)"`
}

// Validate implements scenarios.Validator.
func (c *SendCommandConfig) Validate() error {
	errs := []error{c.Targets.Validate("targets")}
	if len(c.Commands) == 0 && len(c.Parameters) == 0 {
		errs = append(errs, scenarios.FieldErrorf("commands", "give commands (or parameters)"))
	}
	return errors.Join(errs...)
}

// SendCommandType is the aws:ssm:send-command fault: run a command on instances through SSM
// Run Command, e.g. kill an etcd member on a real host. revertCommands, if given, run on the
// same instances during rollback.
func SendCommandType() runner.FaultType {
	return runner.NewFaultType("aws:ssm:send-command",
		"Run a command on EC2 instances through SSM; optional revertCommands on rollback",
		func() *SendCommandConfig {
			return &SendCommandConfig{Document: "AWS-RunShellScript", Wait: true, Timeout: scenarios.Duration(2 * time.Minute)}
		},
		func(cfg *SendCommandConfig, env *runner.Env) (runner.Fault, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			f := &sendCommandFault{cfg: *cfg, clients: c, env: env}
			f.cfg.Targets.Stabilize()
			return f, nil
		},
		runner.WithRecover(recoverSendCommand))
}

// sendCommandRecord is what the fault journals before sending its commands: where, the
// instances chosen, and, when revertCommands are given, what the revert sends (document,
// parameters, the revert commands, wait and timeout). Without revertCommands the drill reverts
// nothing, and neither does recover.
type sendCommandRecord struct {
	awsenv.Where
	Instances      []string            `json:"instances"`
	Document       string              `json:"document,omitempty"`
	Parameters     map[string][]string `json:"parameters,omitempty"`
	RevertCommands []string            `json:"revertCommands,omitempty"`
	Wait           bool                `json:"wait,omitempty"`
	Timeout        time.Duration       `json:"timeout,omitempty"`
}

// recoverSendCommand sends the revert commands to the journaled instances again. drill cannot
// tell whether they already ran, so, as for the command type's revert, they must be idempotent
// (documented on revertCommands).
func recoverSendCommand(ctx context.Context, _ *runner.Env, rec *sendCommandRecord) error {
	if len(rec.RevertCommands) == 0 {
		return nil
	}
	c, err := awsenv.RecoverClients(ctx, rec.Where, awsenv.RecoverOptions{})
	if err != nil {
		return err
	}
	f := &sendCommandFault{clients: c, cfg: SendCommandConfig{
		Document: rec.Document, Parameters: rec.Parameters, Wait: rec.Wait,
		Timeout: scenarios.Duration(rec.Timeout), Region: rec.Region,
	}}
	if err := f.run(ctx, rec.Instances, rec.RevertCommands, "recover"); err != nil {
		return fmt.Errorf("recover ssm send-command: %w", err)
	}
	return nil
}

// sendCommandFault is the fault.
type sendCommandFault struct {
	cfg     SendCommandConfig
	clients *awsenv.Clients
	env     *runner.Env
}

// ssmMaxInstances is how many instance ids one SendCommand call takes.
const ssmMaxInstances = 50

// Plan implements runner.Planner.
func (f *sendCommandFault) Plan(ctx context.Context) ([]string, error) {
	return awsenv.ResolveInstances(ctx, f.clients.EC2(f.cfg.Region), f.cfg.Targets, f.clients.PageLimit(describePageMax), "running")
}

// Inject implements runner.Fault.
func (f *sendCommandFault) Inject(ctx context.Context) (runner.Injection, error) {
	ids, err := f.Plan(ctx)
	if err != nil {
		return runner.Injection{}, err
	}
	rec := sendCommandRecord{Where: f.clients.WhereOf(f.cfg.Region), Instances: ids}
	if len(f.cfg.RevertCommands) > 0 {
		rec.Document, rec.Parameters, rec.RevertCommands = f.cfg.Document, f.cfg.Parameters, f.cfg.RevertCommands
		rec.Wait, rec.Timeout = f.cfg.Wait, f.cfg.Timeout.D()
	}
	if err := f.env.Journal(ctx, ids, rec); err != nil {
		return runner.Injection{}, err
	}
	inj := runner.Injection{Targets: ids}
	if len(f.cfg.RevertCommands) > 0 {
		inj.Revert = func(ctx context.Context) error { return f.run(ctx, ids, f.cfg.RevertCommands, "revert") }
	}
	return inj, f.run(ctx, ids, f.cfg.Commands, "inject")
}

func (f *sendCommandFault) run(ctx context.Context, ids, commands []string, what string) error {
	api := f.clients.SSM(f.cfg.Region)
	params := map[string][]string{}
	for k, v := range f.cfg.Parameters {
		params[k] = v
	}
	if len(commands) > 0 {
		params["commands"] = commands
	}
	type sent struct {
		command  string
		instance string
	}
	var all []sent
	for _, b := range awsenv.Batches(ids, ssmMaxInstances) {
		out, err := api.SendCommand(ctx, &ssm.SendCommandInput{
			DocumentName: &f.cfg.Document,
			InstanceIds:  b,
			Parameters:   params,
			Comment:      aws.String("drill " + what),
		})
		if err != nil {
			return fmt.Errorf("ssm send-command %s to %v: %w", f.cfg.Document, b, err)
		}
		for _, id := range b {
			all = append(all, sent{aws.ToString(out.Command.CommandId), id})
		}
	}
	if !f.cfg.Wait {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout.D())
	defer cancel()
	var failed []error
	for _, s := range all {
		if err := f.waitInvocation(wctx, api, s.command, s.instance); err != nil {
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

// waitInvocation polls GetCommandInvocation until the invocation on one instance ends.
func (f *sendCommandFault) waitInvocation(ctx context.Context, api *ssm.Client, command, instance string) error {
	for {
		out, err := api.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: &command, InstanceId: &instance})
		var notYet *ssmtypes.InvocationDoesNotExist
		switch {
		case errors.As(err, &notYet):
			// The invocation is registered a moment after SendCommand returns.
		case err != nil:
			return fmt.Errorf("ssm command %s on %s: %w", command, instance, err)
		default:
			switch out.Status {
			case ssmtypes.CommandInvocationStatusSuccess:
				return nil
			case ssmtypes.CommandInvocationStatusCancelled, ssmtypes.CommandInvocationStatusTimedOut, ssmtypes.CommandInvocationStatusFailed:
				return fmt.Errorf("ssm command %s on %s: %s (exit %d): %s", command, instance, out.Status, out.ResponseCode, aws.ToString(out.StandardErrorContent))
			}
		}
		if err := sleep(ctx, f.clients.PollEvery()); err != nil {
			return fmt.Errorf("ssm command %s on %s: not finished: %w", command, instance, err)
		}
	}
}
