package config

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// FromEnvironment loads the AWS SDK configuration (which honours the
// standard AWS_ENDPOINT_URL_* variables, so the same binary runs against
// local emulators) and then this function's Config, reading secrets from
// Secrets Manager when SECRETS_ARN is set.
func FromEnvironment(ctx context.Context) (aws.Config, *Config, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, nil, fmt.Errorf("config.FromEnvironment: %w", err)
	}
	var fetch SecretFetcher
	if os.Getenv("SECRETS_ARN") != "" {
		fetch = FromSecretsManager(secretsmanager.NewFromConfig(awsCfg))
	}
	cfg, err := Load(ctx, os.Getenv, fetch)
	return awsCfg, cfg, err
}
