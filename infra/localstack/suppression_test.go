package localstack

import (
	"os"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestTheConfigurationSetKeepsComplainersReachableForNotices: issue 12
// says a complaint about a policy notice does not stop notices (they are
// owed by law). SES's account-level suppression list, on for complaints
// in new accounts, would drop every later mail to an address that
// complained once, notices included; the configuration set every mail
// goes through therefore has SES suppress after hard bounces only (which
// make the person undeliverable in pledge too).
func TestTheConfigurationSetKeepsComplainersReachableForNotices(t *testing.T) {
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				SuppressionOptions *struct {
					SuppressedReasons []string `yaml:"SuppressedReasons"`
				} `yaml:"SuppressionOptions"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	sets := 0
	for id, r := range d.Resources {
		if r.Type != "AWS::SES::ConfigurationSet" {
			continue
		}
		sets++
		if o := r.Properties.SuppressionOptions; o == nil || !slices.Equal(o.SuppressedReasons, []string{"BOUNCE"}) {
			t.Errorf("%s suppresses %+v; want hard bounces only (SuppressedReasons [BOUNCE])", id, o)
		}
	}
	if sets != 1 {
		t.Fatalf("%d configuration sets; want pledge's one", sets)
	}
}
