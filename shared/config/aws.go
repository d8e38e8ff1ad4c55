package config

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

// FromEnvironment builds the AWS SDK configuration from what Lambda puts in
// the environment (AWS_REGION and the role's AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), then this function's Config,
// reading secrets from Secrets Manager when SECRETS_ARN is set.
//
// It does not use the SDK's config.LoadDefaultConfig: that links the SSO,
// STS, sign-in and IMDS clients, which a Lambda function never needs, and
// takes a bootstrap over 10 MB. The clients below honour the SDK's standard
// AWS_ENDPOINT_URL_<SERVICE> and AWS_ENDPOINT_URL variables themselves, so
// the same binary runs against the local emulators.
func FromEnvironment(ctx context.Context) (aws.Config, *Config, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, nil, fmt.Errorf("config.FromEnvironment: AWS_REGION is not set")
	}
	awsCfg := aws.Config{
		Region: region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
			os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))),
	}
	var fetch SecretFetcher
	if os.Getenv("SECRETS_ARN") != "" {
		fetch = FromSecretsManager(secretsmanager.NewFromConfig(awsCfg, func(o *secretsmanager.Options) {
			o.BaseEndpoint = endpoint("SECRETS_MANAGER")
		}))
	}
	cfg, err := Load(ctx, os.Getenv, fetch)
	return awsCfg, cfg, err
}

// Endpoint returns the endpoint override for a service, by the SDK's
// variable names, or nil for the service's regional AWS endpoint. Clients
// that only one function needs are built there, with this, so the others
// do not link them.
func Endpoint(serviceID string) *string { return endpoint(serviceID) }

func endpoint(serviceID string) *string {
	for _, key := range []string{"AWS_ENDPOINT_URL_" + serviceID, "AWS_ENDPOINT_URL"} {
		if v := strings.TrimSpace(os.Getenv(key)); v != "" {
			return aws.String(v)
		}
	}
	return nil
}

// DynamoDB returns a DynamoDB client for awsCfg.
func DynamoDB(awsCfg aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = endpoint("DYNAMODB") })
}

// SESv2 returns an SES v2 client for awsCfg.
func SESv2(awsCfg aws.Config) *sesv2.Client {
	return sesv2.NewFromConfig(awsCfg, func(o *sesv2.Options) { o.BaseEndpoint = endpoint("SESV2") })
}

// Must ends a cold start that failed to wire: Lambda reports the failed init.
func Must(log *slog.Logger, err error) {
	if err != nil {
		log.Error("init failed", "err", err)
		os.Exit(1)
	}
}
