package localstack

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// ClientConfig is an SDK configuration for seeding an emulator at endpoint. It always uses
// dummy credentials and never asks instance metadata: whatever a developer has configured
// must not reach a local server. Drills build theirs with backends/awsenv instead.
func ClientConfig(ctx context.Context, region, endpoint string) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(region),
		config.WithBaseEndpoint(endpoint),
		config.WithEC2IMDSClientEnableState(imds.ClientDisabled),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithRetryMaxAttempts(3),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config for the emulator at %s: %w", endpoint, err)
	}
	return cfg, nil
}
