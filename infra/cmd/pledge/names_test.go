package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/smartprotect/pledge/infra/localstack"
	"gopkg.in/yaml.v3"
)

// TestTheInvokedFunctionsAreNamedAsTheTemplateNamesThem holds functions
// equal to template.yaml: each logical ID's FunctionName is
// `!Sub ${AWS::StackName}-<suffix>`, the name `-stack aws` invokes.
func TestTheInvokedFunctionsAreNamedAsTheTemplateNamesThem(t *testing.T) {
	root, err := localstack.Root()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				FunctionName yaml.Node `yaml:"FunctionName"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &tmpl); err != nil {
		t.Fatal(err)
	}
	for suffix, id := range functions {
		r, ok := tmpl.Resources[id]
		if !ok || r.Type != "AWS::Serverless::Function" {
			t.Errorf("template.yaml has no function %s", id)
			continue
		}
		if n := r.Properties.FunctionName; n.Tag != "!Sub" || n.Value != "${AWS::StackName}-"+suffix {
			t.Errorf("%s's FunctionName is %s %q, want !Sub ${AWS::StackName}-%s", id, n.Tag, n.Value, suffix)
		}
	}
}
