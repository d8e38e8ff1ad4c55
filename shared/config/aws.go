package config

import (
	"errors"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

// AWS builds the AWS SDK configuration from what Lambda puts in the
// environment (AWS_REGION and the role's AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); a missing region is recorded
// in e. These variables are Lambda's, not the template's.
//
// It does not use the SDK's config.LoadDefaultConfig: that links the SSO,
// STS, sign-in and IMDS clients, which a Lambda function never needs, and
// takes a bootstrap over 10 MB. The clients below honour the SDK's standard
// AWS_ENDPOINT_URL_<SERVICE> and AWS_ENDPOINT_URL variables themselves, so
// the same binary runs against the local emulators.
func AWS(e *Env) aws.Config {
	region := e.get("AWS_REGION")
	if region == "" {
		region = e.get("AWS_DEFAULT_REGION")
	}
	if region == "" {
		e.fail(errors.New("AWS_REGION is not set"))
	}
	return aws.Config{
		Region: region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
			e.get("AWS_ACCESS_KEY_ID"), e.get("AWS_SECRET_ACCESS_KEY"), e.get("AWS_SESSION_TOKEN"))),
	}
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
