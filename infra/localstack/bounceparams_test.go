package localstack

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"gopkg.in/yaml.v3"
)

// TestTheTransientBounceWindowIsAParameterWithIssue12sDefaults: issue 12,
// item 2: transient bounces count in a rolling window, "default 3 in 30
// days, parameters", and rest the address for a period (parameter). The
// template's parameters default to exactly that (and to the code's
// DefaultBounceRule, so a deploy without them behaves as a local run), and
// the mail-events function reads each of them.
func TestTheTransientBounceWindowIsAParameterWithIssue12sDefaults(t *testing.T) {
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Parameters map[string]struct {
			Type    string `yaml:"Type"`
			Default string `yaml:"Default"`
		} `yaml:"Parameters"`
		Resources map[string]struct {
			Properties struct {
				Environment struct {
					Variables map[string]yaml.Node `yaml:"Variables"`
				} `yaml:"Environment"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(d.Parameters["BounceTransients"].Default)
	if err != nil || n != 3 || n != people.DefaultBounceRule.Transients {
		t.Errorf("BounceTransients defaults to %q; want 3 (DefaultBounceRule: %d)", d.Parameters["BounceTransients"].Default, people.DefaultBounceRule.Transients)
	}
	window, err := time.ParseDuration(d.Parameters["BounceWindow"].Default)
	if err != nil || window != 30*24*time.Hour || window != people.DefaultBounceRule.Window {
		t.Errorf("BounceWindow defaults to %q; want 30 days (DefaultBounceRule: %s)", d.Parameters["BounceWindow"].Default, people.DefaultBounceRule.Window)
	}
	rest, err := time.ParseDuration(d.Parameters["BounceRest"].Default)
	if err != nil || rest <= 0 || rest != people.DefaultBounceRule.Rest {
		t.Errorf("BounceRest defaults to %q; want DefaultBounceRule's %s", d.Parameters["BounceRest"].Default, people.DefaultBounceRule.Rest)
	}
	env := d.Resources["MailEventsFunction"].Properties.Environment.Variables
	for v, param := range map[string]string{"BOUNCE_TRANSIENTS": "BounceTransients", "BOUNCE_WINDOW": "BounceWindow", "BOUNCE_REST": "BounceRest"} {
		if n := env[v]; n.Tag != "!Ref" || n.Value != param {
			t.Errorf("MailEventsFunction's %s = %s %q; want !Ref %s", v, n.Tag, n.Value, param)
		}
	}
}
