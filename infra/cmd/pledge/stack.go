package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/smartprotect/pledge/infra/localstack"
)

// stackFlags are the global flags that choose where the commands go.
type stackFlags struct {
	kind      string // "dev" (the `make dev` stack) or "aws" (a deployed stack)
	api       string // the HTTP API's base URL; on the dev stack, its gateway
	stackName string // the CloudFormation stack (aws): its ApiUrl output and its functions' names
}

// stack is where the commands go: the HTTP API's base URL (no trailing
// slash), the configuration whose credentials sign calls to it, the region
// they are signed for, and the Lambda client and names of the functions the
// commands invoke.
type stack struct {
	kind     string
	api      string
	cfg      aws.Config
	region   string
	lambda   *lambda.Client
	function func(suffix string) (string, error)
}

// Functions the commands invoke, by the suffix of the FunctionName
// template.yaml gives them (`${AWS::StackName}-<suffix>`, their name in
// AWS) and their logical ID (their name on the dev stack).
var functions = map[string]string{
	"retention":    "RetentionFunction",
	"notices":      "NoticesFunction",
	"privacyclock": "PrivacyClockFunction",
}

// openStack returns the stack f names; errors say which flag to give.
func openStack(ctx context.Context, f stackFlags) (*stack, error) {
	switch f.kind {
	case "dev":
		return devStack(f)
	case "aws":
		return awsStack(ctx, f)
	}
	return nil, fmt.Errorf("-stack %q: give dev (the `make dev` stack) or aws (a deployed stack)", f.kind)
}

// devStack is the running `make dev` stack: its gateway (from
// .build/dev-gateway unless -api names one) serves the API and Lambda's
// Invoke API, and checks for a SigV4 signature with the local key; its
// functions are named by their logical IDs.
func devStack(f stackFlags) (*stack, error) {
	if f.stackName != "" {
		return nil, errors.New("-stack-name names a deployed stack: add -stack aws")
	}
	api := f.api
	if api == "" {
		root, err := localstack.Root()
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(filepath.Join(root, ".build", "dev-gateway"))
		if err != nil {
			return nil, fmt.Errorf("no running dev stack: start `make dev` first, or give -api (%v)", err)
		}
		api = strings.TrimSpace(string(b))
	}
	cfg := localstack.AWSConfig()
	s := &stack{kind: "dev", api: strings.TrimRight(api, "/"), cfg: cfg, region: cfg.Region}
	s.lambda = lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(s.api) })
	s.function = func(suffix string) (string, error) { return functions[suffix], nil }
	return s, nil
}

// executeAPIHost is an API's default endpoint; its region is the signing region.
var executeAPIHost = regexp.MustCompile(`^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// awsStack is a deployed stack, signed for with the standard credential
// chain (environment, shared config and SSO profiles, roles). Its API is
// -api, or the ApiUrl output of -stack-name (CloudFormation DescribeStacks);
// its functions are `<stack-name>-<suffix>`, so commands that invoke one
// need -stack-name.
func awsStack(ctx context.Context, f stackFlags) (*stack, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	api := f.api
	if api == "" {
		if f.stackName == "" {
			return nil, errors.New("-stack aws needs -stack-name (the CloudFormation stack, e.g. pledge-dev) or -api (its ApiUrl output)")
		}
		if api, err = apiOutput(ctx, cloudformation.NewFromConfig(cfg), f.stackName); err != nil {
			return nil, err
		}
	}
	u, err := url.Parse(strings.TrimRight(api, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
		return nil, fmt.Errorf("-api %q: give the API's https URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com", api)
	}
	region := cfg.Region
	if m := executeAPIHost.FindStringSubmatch(u.Hostname()); m != nil {
		region = m[1]
	}
	if region == "" {
		return nil, errors.New("no AWS region: set AWS_REGION (or a profile's region)")
	}
	s := &stack{kind: "aws", api: u.String(), cfg: cfg, region: region}
	s.lambda = lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.Region = region })
	s.function = func(suffix string) (string, error) {
		if f.stackName == "" {
			return "", fmt.Errorf("give -stack-name: the function is named after its stack (<stack-name>-%s)", suffix)
		}
		return f.stackName + "-" + suffix, nil
	}
	return s, nil
}

// apiOutput reads the ApiUrl output of a CloudFormation stack (template.yaml's Outputs).
func apiOutput(ctx context.Context, cf *cloudformation.Client, name string) (string, error) {
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("stack %s: %w", name, err)
	}
	for _, st := range out.Stacks {
		for _, o := range st.Outputs {
			if aws.ToString(o.OutputKey) == "ApiUrl" {
				return aws.ToString(o.OutputValue), nil
			}
		}
	}
	return "", fmt.Errorf("stack %s has no ApiUrl output: is it pledge's template.yaml?", name)
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}
