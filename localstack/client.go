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
	// The SDK drops even an endpoint set in code when told to ignore configured endpoints
	// (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, or the profile): seeding would then go to AWS.
	if aws.ToString(cfg.BaseEndpoint) != endpoint {
		return aws.Config{}, fmt.Errorf("aws config for the emulator at %s: the SDK ignores configured endpoints (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or the profile's ignore_configured_endpoint_urls); unset that to seed an emulator", endpoint)
	}
	return cfg, nil
}
