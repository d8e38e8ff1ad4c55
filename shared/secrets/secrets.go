// Package secrets reads secrets from AWS Secrets Manager for the config
// loaders. Only the functions that read a secret import it, so the others
// neither build nor link a Secrets Manager client.
package secrets

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/smartprotect/pledge/shared/config"
)

// ValueAPI is the part of the Secrets Manager client a fetcher needs.
type ValueAPI interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// FromAPI adapts a Secrets Manager client to a config.SecretFetcher.
func FromAPI(api ValueAPI) config.SecretFetcher {
	return func(ctx context.Context, arn string) (string, error) {
		out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			return "", fmt.Errorf("secrets: GetSecretValue: %w", err)
		}
		return aws.ToString(out.SecretString), nil
	}
}

// FromSecretsManager builds the Secrets Manager client of awsCfg (its
// endpoint overridable with AWS_ENDPOINT_URL_SECRETS_MANAGER) as a
// config.SecretFetcher.
func FromSecretsManager(awsCfg aws.Config) config.SecretFetcher {
	return FromAPI(secretsmanager.NewFromConfig(awsCfg, func(o *secretsmanager.Options) {
		o.BaseEndpoint = config.Endpoint("SECRETS_MANAGER")
	}))
}
