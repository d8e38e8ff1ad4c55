// Package localstack runs pledge off AWS: moto_server for DynamoDB,
// aws-ses-v2-local for SES v2, every function built as its bootstrap under the
// Lambda Runtime Interface Emulator, and a gateway that serves the routes of
// template.yaml. template.yaml stays the single source of truth: the table,
// routes and environment are read from it, not repeated here.
package localstack

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"
)

// Template is the part of template.yaml the local stack uses.
type Template struct {
	Parameters map[string]struct {
		Default string `yaml:"Default"`
	} `yaml:"Parameters"`
	Globals struct {
		Function struct {
			Environment environment `yaml:"Environment"`
			Timeout     int         `yaml:"Timeout"`
		} `yaml:"Function"`
	} `yaml:"Globals"`
	Resources map[string]resource `yaml:"Resources"`
}

type environment struct {
	Variables map[string]yaml.Node `yaml:"Variables"`
}

type resource struct {
	Type       string    `yaml:"Type"`
	Properties yaml.Node `yaml:"Properties"`
}

type functionProps struct {
	CodeURI     string      `yaml:"CodeUri"`
	Timeout     int         `yaml:"Timeout"`
	Environment environment `yaml:"Environment"`
	Policies    []yaml.Node `yaml:"Policies"`
	Events      map[string]struct {
		Type       string `yaml:"Type"`
		Properties struct {
			Path   string `yaml:"Path"`
			Method string `yaml:"Method"`
			Auth   struct {
				Authorizer string `yaml:"Authorizer"`
			} `yaml:"Auth"`
			Pattern struct {
				Source     []string `yaml:"source"`
				DetailType []string `yaml:"detail-type"`
			} `yaml:"Pattern"`
		} `yaml:"Properties"`
	} `yaml:"Events"`
}

// Function is one AWS::Serverless::Function.
type Function struct {
	LogicalID string            // e.g. SignupFunction
	Dir       string            // e.g. functions/signup
	Env       map[string]string // resolved environment
	// EnvRefs names, for each variable of Env set with !Ref, what it
	// refers to (a parameter or resource logical id).
	EnvRefs map[string]string
	// Statements are the function's IAM policy statements.
	Statements []Statement
	Routes     []Route
	Timeout    int // seconds
	// SESEvents lists the SES event types (EventBridge detail-types, such as
	// "Email Sent") an EventBridgeRule of the function matches.
	SESEvents []string
}

// Route is one HttpApi event: "POST /signup" served by a function.
type Route struct {
	Method, Path string
	Function     string
	IAM          bool // Auth: Authorizer: AWS_IAM: only SigV4-signed requests pass
}

// Default reports whether r is API Gateway's $default route: an HttpApi
// event without Path and Method, which takes every request no other route
// matches.
func (r Route) Default() bool { return r.Method == "" && r.Path == "" }

// Key is the route key API Gateway puts in the event: "POST /signup", or
// "$default".
func (r Route) Key() string {
	if r.Default() {
		return "$default"
	}
	return r.Method + " " + r.Path
}

// LoadTemplate reads template.yaml.
func LoadTemplate(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t Template
	if err := yaml.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("localstack: %s: %w", path, err)
	}
	return &t, nil
}

// Refs resolves !Ref in the local stack: parameters take their override or
// their default; resources take their local name.
type Refs struct {
	Parameters map[string]string // overrides of parameter defaults
	Resources  map[string]string // local physical names, e.g. Table -> pledge-local
}

func (t *Template) resolve(n yaml.Node, refs Refs) (string, error) {
	switch {
	case n.Tag == "!Ref":
		if v, ok := refs.Parameters[n.Value]; ok {
			return v, nil
		}
		if p, ok := t.Parameters[n.Value]; ok {
			return p.Default, nil
		}
		if v, ok := refs.Resources[n.Value]; ok {
			return v, nil
		}
		if r, ok := t.Resources[n.Value]; ok && (r.Type == "AWS::Serverless::Function" || r.Type == "AWS::SES::ConfigurationSet" || r.Type == "AWS::Events::EventBus") {
			return n.Value, nil // locally functions, configuration sets and event buses are named by their logical ids
		}
		return "", fmt.Errorf("!Ref %s has no local value", n.Value)
	case n.Kind == yaml.ScalarNode && !strings.HasPrefix(n.Tag, "!"):
		return n.Value, nil
	}
	return "", fmt.Errorf("the local stack cannot resolve %s %q", n.Tag, n.Value)
}

// Functions returns every function with its routes and resolved environment.
func (t *Template) Functions(refs Refs) ([]Function, error) {
	var out []Function
	for id, r := range t.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		var p functionProps
		err := r.Properties.Decode(&p)
		if err != nil {
			return nil, fmt.Errorf("localstack: %s: %w", id, err)
		}
		f := Function{LogicalID: id, Dir: functionDir(id), Env: map[string]string{}, EnvRefs: map[string]string{}, Timeout: t.Globals.Function.Timeout}
		if p.Timeout > 0 {
			f.Timeout = p.Timeout
		}
		for _, vars := range []map[string]yaml.Node{t.Globals.Function.Environment.Variables, p.Environment.Variables} {
			for k, n := range vars {
				v, err := t.resolve(n, refs)
				if err != nil {
					return nil, fmt.Errorf("localstack: %s: %s: %w", id, k, err)
				}
				f.Env[k] = v
				if n.Tag == "!Ref" {
					f.EnvRefs[k] = n.Value
				}
			}
		}
		if f.Statements, err = t.statements(p.Policies, refs); err != nil {
			return nil, fmt.Errorf("localstack: %s: %w", id, err)
		}
		for _, e := range p.Events {
			switch {
			case e.Type == "HttpApi":
				f.Routes = append(f.Routes, Route{Method: e.Properties.Method, Path: e.Properties.Path, Function: id,
					IAM: e.Properties.Auth.Authorizer == "AWS_IAM"})
			case e.Type == "EventBridgeRule" && slices.Contains(e.Properties.Pattern.Source, "aws.ses"):
				f.SESEvents = append(f.SESEvents, e.Properties.Pattern.DetailType...)
			}
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LogicalID < out[j].LogicalID })
	return out, nil
}

// Routes returns every HttpApi route of every function, as Functions
// would, without resolving anything else: what the API contract is held to.
func (t *Template) Routes() ([]Route, error) {
	var out []Route
	for id, r := range t.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		var p functionProps
		if err := r.Properties.Decode(&p); err != nil {
			return nil, fmt.Errorf("localstack: %s: %w", id, err)
		}
		for _, e := range p.Events {
			if e.Type == "HttpApi" {
				out = append(out, Route{Method: e.Properties.Method, Path: e.Properties.Path, Function: id,
					IAM: e.Properties.Auth.Authorizer == "AWS_IAM"})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path+" "+out[i].Method < out[j].Path+" "+out[j].Method })
	return out, nil
}

// functionDir maps a logical id to its directory: SignupFunction -> functions/signup.
func functionDir(logicalID string) string {
	return filepath.Join("functions", strings.ToLower(strings.TrimSuffix(logicalID, "Function")))
}

// tableProps mirrors the CloudFormation properties of AWS::DynamoDB::Table
// that CreateTable needs; their names match the API's.
type tableProps struct {
	BillingMode          string `yaml:"BillingMode"`
	AttributeDefinitions []struct {
		AttributeName string `yaml:"AttributeName"`
		AttributeType string `yaml:"AttributeType"`
	} `yaml:"AttributeDefinitions"`
	KeySchema              []keyElement `yaml:"KeySchema"`
	GlobalSecondaryIndexes []struct {
		IndexName  string       `yaml:"IndexName"`
		KeySchema  []keyElement `yaml:"KeySchema"`
		Projection struct {
			ProjectionType   string   `yaml:"ProjectionType"`
			NonKeyAttributes []string `yaml:"NonKeyAttributes"`
		} `yaml:"Projection"`
	} `yaml:"GlobalSecondaryIndexes"`
	TimeToLiveSpecification struct {
		AttributeName string `yaml:"AttributeName"`
		Enabled       bool   `yaml:"Enabled"`
	} `yaml:"TimeToLiveSpecification"`
}

type keyElement struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

func (k keyElement) api() types.KeySchemaElement {
	return types.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: types.KeyType(k.KeyType)}
}

// Table returns the CreateTable input for the logical table id, named name,
// and its TTL attribute ("" if none).
func (t *Template) Table(logicalID, name string) (*dynamodb.CreateTableInput, string, error) {
	r, ok := t.Resources[logicalID]
	if !ok || r.Type != "AWS::DynamoDB::Table" {
		return nil, "", fmt.Errorf("localstack: no AWS::DynamoDB::Table %s in the template", logicalID)
	}
	var p tableProps
	if err := r.Properties.Decode(&p); err != nil {
		return nil, "", fmt.Errorf("localstack: %s: %w", logicalID, err)
	}
	in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: types.BillingMode(p.BillingMode)}
	for _, a := range p.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName), AttributeType: types.ScalarAttributeType(a.AttributeType)})
	}
	for _, k := range p.KeySchema {
		in.KeySchema = append(in.KeySchema, k.api())
	}
	for _, g := range p.GlobalSecondaryIndexes {
		gsi := types.GlobalSecondaryIndex{IndexName: aws.String(g.IndexName), Projection: &types.Projection{
			ProjectionType: types.ProjectionType(g.Projection.ProjectionType), NonKeyAttributes: g.Projection.NonKeyAttributes}}
		for _, k := range g.KeySchema {
			gsi.KeySchema = append(gsi.KeySchema, k.api())
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, gsi)
	}
	ttl := ""
	if p.TimeToLiveSpecification.Enabled {
		ttl = p.TimeToLiveSpecification.AttributeName
	}
	return in, ttl, nil
}
