package config

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretValueAPI is the part of the Secrets Manager client Load needs.
type SecretValueAPI interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// FromSecretsManager adapts a Secrets Manager client to a SecretFetcher.
func FromSecretsManager(api SecretValueAPI) SecretFetcher {
	return func(ctx context.Context, arn string) (string, error) {
		out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			return "", fmt.Errorf("config: GetSecretValue: %w", err)
		}
		return aws.ToString(out.SecretString), nil
	}
}
