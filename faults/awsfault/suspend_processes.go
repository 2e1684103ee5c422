package awsfault

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// SuspendProcessesConfig is the `with:` block of aws:autoscaling:suspend-processes.
type SuspendProcessesConfig struct {
	Group     string   `yaml:"group" doc:"auto-scaling group name"`
	Processes []string `yaml:"processes" doc:"processes to suspend, e.g. [Launch, HealthCheck, ReplaceUnhealthy] (default: all)"`
	Region    string   `yaml:"region" doc:"region (default: environment.aws.region)"`
}

// Validate implements scenarios.Validator.
func (c *SuspendProcessesConfig) Validate() error {
	if c.Group == "" {
		return scenarios.FieldErrorf("group", "required")
	}
	return nil
}

// SuspendProcessesType is the aws:autoscaling:suspend-processes fault: the group stops
// replacing or launching capacity. A group with any of the processes suspended already is
// refused as not in steady state (name fewer processes to drill around one the team keeps
// suspended); revert resumes exactly the processes listed.
func SuspendProcessesType() runner.FaultType {
	return runner.NewFaultType("aws:autoscaling:suspend-processes",
		"Suspend auto-scaling processes of a group; revert resumes those it suspended",
		func() *SuspendProcessesConfig { return &SuspendProcessesConfig{} },
		func(cfg *SuspendProcessesConfig, env *runner.Env) (runner.Fault, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &suspendProcessesFault{cfg: *cfg, clients: c, env: env}, nil
		},
		runner.WithRecover(recoverSuspendProcesses))
}

// suspendProcessesRecord is what the fault journals before suspending: the group and the
// processes this drill suspends. None of them was suspended before (Inject refuses otherwise),
// so resuming exactly these is the state found, and a process the team keeps suspended is
// never in the list.
type suspendProcessesRecord struct {
	awsenv.Where
	Group     string   `json:"group"`
	Processes []string `json:"processes"`
}

// recoverSuspendProcesses resumes the journaled processes. ResumeProcesses of a process that is
// not suspended is a no-op in AWS, so recovering twice is harmless.
func recoverSuspendProcesses(ctx context.Context, _ *runner.Env, rec *suspendProcessesRecord) error {
	c, err := awsenv.RecoverClients(ctx, rec.Where, awsenv.RecoverOptions{})
	if err != nil {
		return err
	}
	return resumeProcesses(ctx, c.AutoScaling(rec.Region), rec.Group, rec.Processes)
}

func resumeProcesses(ctx context.Context, api *autoscaling.Client, group string, processes []string) error {
	if _, err := api.ResumeProcesses(ctx, &autoscaling.ResumeProcessesInput{AutoScalingGroupName: &group, ScalingProcesses: processes}); err != nil {
		return fmt.Errorf("resume processes %v of %s: %w", processes, group, err)
	}
	return nil
}

// suspendProcessesFault is the fault.
type suspendProcessesFault struct {
	cfg     SuspendProcessesConfig
	clients *awsenv.Clients
	env     *runner.Env
}

// allScalingProcesses is what SuspendProcesses without a list suspends.
func allScalingProcesses() []string {
	return []string{"Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification", "AZRebalance", "HealthCheck", "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions"}
}

func (f *suspendProcessesFault) group(ctx context.Context) (*astypes.AutoScalingGroup, error) {
	return awsenv.DescribeGroup(ctx, f.clients.AutoScaling(f.cfg.Region), f.cfg.Group)
}

// Plan implements runner.Planner.
func (f *suspendProcessesFault) Plan(ctx context.Context) ([]string, error) {
	if _, err := f.group(ctx); err != nil {
		return nil, err
	}
	return []string{f.cfg.Group}, nil
}

// Inject implements runner.Fault.
func (f *suspendProcessesFault) Inject(ctx context.Context) (runner.Injection, error) {
	g, err := f.group(ctx)
	if err != nil {
		return runner.Injection{}, err
	}
	var already []string
	for _, p := range g.SuspendedProcesses {
		already = append(already, aws.ToString(p.ProcessName))
	}
	want := f.cfg.Processes
	if len(want) == 0 {
		want = allScalingProcesses()
	}
	var leftover []string
	for _, p := range want {
		if slices.Contains(already, p) {
			leftover = append(leftover, p)
		}
	}
	if len(leftover) > 0 {
		return runner.Injection{}, notSteady("auto-scaling group "+f.cfg.Group, fmt.Sprintf("processes %v are suspended already", leftover))
	}
	api := f.clients.AutoScaling(f.cfg.Region)
	rec := suspendProcessesRecord{Where: f.clients.WhereOf(f.cfg.Region), Group: f.cfg.Group, Processes: want}
	if err := f.env.Journal(ctx, []string{f.cfg.Group}, rec); err != nil {
		return runner.Injection{}, err
	}
	// The revert is in place before the call: a suspension AWS applied whose answer was lost
	// must still be undone. None of want was suspended, so resuming all of it is the state
	// found before.
	inj := runner.Injection{Targets: []string{f.cfg.Group}, Revert: func(ctx context.Context) error {
		return resumeProcesses(ctx, api, f.cfg.Group, want)
	}}
	if _, err := api.SuspendProcesses(ctx, &autoscaling.SuspendProcessesInput{AutoScalingGroupName: &f.cfg.Group, ScalingProcesses: want}); err != nil {
		if refused(err) {
			inj.Revert = nil
		}
		return inj, fmt.Errorf("suspend processes %v of %s: %w", want, f.cfg.Group, err)
	}
	return inj, nil
}
