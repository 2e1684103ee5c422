package awsfault

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// PublishConfig is the `with:` block of the aws:sns:publish step.
type PublishConfig struct {
	TopicArn string `yaml:"topicArn" doc:"SNS topic ARN"`
	Subject  string `yaml:"subject" doc:"subject (e-mail subscribers); placeholders as in message"`
	Message  string `yaml:"message" doc:"message; {scenario}, {system}, {owner} and {time} are replaced"`
	Region   string `yaml:"region" doc:"region (default: the topic ARN's region)"`
}

// Validate implements scenarios.Validator.
func (c *PublishConfig) Validate() error {
	if !strings.HasPrefix(c.TopicArn, "arn:") {
		return scenarios.FieldErrorf("topicArn", "want a topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")
	}
	if c.Message == "" {
		return scenarios.FieldErrorf("message", "required")
	}
	return nil
}

// PublishType is the aws:sns:publish step: tell stakeholders a drill is starting, failing over
// or finished.
func PublishType() runner.StepType {
	return runner.NewStepType("aws:sns:publish",
		"Publish a message to an SNS topic (notify stakeholders of the drill's status)",
		func() *PublishConfig { return &PublishConfig{} },
		func(cfg *PublishConfig, env *runner.Env) (runner.Step, error) {
			c, err := awsenv.ClientsFrom(env)
			if err != nil {
				return nil, err
			}
			return &publishStep{cfg: *cfg, clients: c, env: env}, nil
		})
}

// publishStep is the step.
type publishStep struct {
	cfg     PublishConfig
	clients *awsenv.Clients
	env     *runner.Env
}

func (s *publishStep) expand(t string) string {
	sc := s.env.Scenario
	var name, system, owner string
	if sc != nil {
		name, system, owner = sc.Name, sc.System, sc.Owner
	}
	return strings.NewReplacer("{scenario}", name, "{system}", system, "{owner}", owner,
		"{time}", time.Now().UTC().Format(time.RFC3339)).Replace(t)
}

// Run implements runner.Step.
func (s *publishStep) Run(ctx context.Context) error {
	region := s.cfg.Region
	if region == "" {
		if parts := strings.Split(s.cfg.TopicArn, ":"); len(parts) > 3 {
			region = parts[3]
		}
	}
	in := &sns.PublishInput{TopicArn: &s.cfg.TopicArn, Message: strPtr(s.expand(s.cfg.Message))}
	if s.cfg.Subject != "" {
		in.Subject = strPtr(s.expand(s.cfg.Subject))
	}
	if _, err := s.clients.SNS(region).Publish(ctx, in); err != nil {
		return fmt.Errorf("publish to %s: %w", s.cfg.TopicArn, err)
	}
	return nil
}

func strPtr(s string) *string { return &s }
