package localstack

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// deployTemplate is the part of template.yaml a deployment depends on
// beyond what the local stack runs.
type deployTemplate struct {
	Parameters map[string]struct {
		Type           string    `yaml:"Type"`
		Default        yaml.Node `yaml:"Default"`
		AllowedPattern string    `yaml:"AllowedPattern"`
	} `yaml:"Parameters"`
	Resources map[string]struct {
		Type       string `yaml:"Type"`
		Properties struct {
			FunctionName  yaml.Node `yaml:"FunctionName"`
			LoggingConfig struct {
				LogGroup yaml.Node `yaml:"LogGroup"`
			} `yaml:"LoggingConfig"`
			LogGroupName    yaml.Node `yaml:"LogGroupName"`
			RetentionInDays yaml.Node `yaml:"RetentionInDays"`
		} `yaml:"Properties"`
	} `yaml:"Resources"`
}

func loadDeployTemplate(t *testing.T) deployTemplate {
	t.Helper()
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var d deployTemplate
	if err := yaml.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestEveryFunctionLogsToItsOwnGroupWithARetention: Lambda's own log
// groups keep logs for ever, and logs carry person keys; each function must
// log to a group the template declares, named as Lambda names a function's
// group, with the retention of the LogRetentionDays parameter (90 days
// unless the deployer says otherwise).
func TestEveryFunctionLogsToItsOwnGroupWithARetention(t *testing.T) {
	d := loadDeployTemplate(t)
	if p := d.Parameters["LogRetentionDays"]; p.Default.Value != "90" {
		t.Fatalf("LogRetentionDays = %+v; want a default of 90 days", p)
	}
	functions, used := 0, map[string]bool{}
	for id, r := range d.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		functions++
		name, group := r.Properties.FunctionName, r.Properties.LoggingConfig.LogGroup
		if group.Tag != "!Ref" || name.Tag != "!Sub" {
			t.Errorf("%s: FunctionName %q, LoggingConfig.LogGroup %s %q; want a !Sub name and a !Ref to its log group", id, name.Value, group.Tag, group.Value)
			continue
		}
		g, ok := d.Resources[group.Value]
		switch {
		case !ok || g.Type != "AWS::Logs::LogGroup":
			t.Errorf("%s logs to %s, which is no AWS::Logs::LogGroup of the template", id, group.Value)
		case g.Properties.LogGroupName.Value != "/aws/lambda/"+name.Value:
			t.Errorf("%s's log group is named %q; want /aws/lambda/%s", id, g.Properties.LogGroupName.Value, name.Value)
		case g.Properties.RetentionInDays.Tag != "!Ref" || g.Properties.RetentionInDays.Value != "LogRetentionDays":
			t.Errorf("%s's log group keeps logs for %s %q; want !Ref LogRetentionDays", id, g.Properties.RetentionInDays.Tag, g.Properties.RetentionInDays.Value)
		case used[group.Value]:
			t.Errorf("%s shares its log group %s", id, group.Value)
		}
		used[group.Value] = true
	}
	if functions == 0 {
		t.Fatal("no function in template.yaml")
	}
}

// TestADeployNeedsAnHTTPSPublicBaseURL: without PublicBaseUrl a deploy
// would succeed and every newsletter then fail; over http, List-Unsubscribe
// breaks RFC 8058. CloudFormation checks AllowedPattern against the whole
// value.
func TestADeployNeedsAnHTTPSPublicBaseURL(t *testing.T) {
	d := loadDeployTemplate(t)
	for _, name := range []string{"PublicBaseUrl", "PolicyUrl"} {
		p, ok := d.Parameters[name]
		if !ok || p.AllowedPattern == "" {
			t.Fatalf("%s = %+v; want an AllowedPattern", name, p)
		}
		pattern := regexp.MustCompile("^(?:" + p.AllowedPattern + ")$")
		for value, want := range map[string]bool{
			"https://pledge.example.com": true, "https://abc123.execute-api.us-east-1.amazonaws.com": true,
			"https://www.example.com/privacy-policy": true,
			"http://pledge.example.com":              false, "": false, "pledge.example.com": false, "https://": false,
		} {
			if pattern.MatchString(value) != want {
				t.Errorf("%s accepts %q: %v; want %v", name, value, !want, want)
			}
		}
	}
	if p := d.Parameters["PublicBaseUrl"]; p.Default.Kind != 0 {
		t.Fatalf("PublicBaseUrl has the default %q; a deploy must be given it", p.Default.Value)
	}
}

// TestMakeDevNeverWaitsForABrowserInstall: the browser test's Chromium is
// a prerequisite of `make test` only. With no browser installed, `make dev`
// plans no install and `make test` does (make -n runs nothing).
func TestMakeDevNeverWaitsForABrowserInstall(t *testing.T) {
	plan := func(target string) string {
		out, err := exec.Command("make", "-C", "../..", "-n", target, "CHROMIUM=/nonexistent/chromium").CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		return string(out)
	}
	if dev := plan("dev"); strings.Contains(dev, "chromium") {
		t.Fatalf("make dev would install a browser:\n%s", dev)
	}
	if test := plan("test"); !strings.Contains(test, "install -y -qq --no-install-recommends chromium") {
		t.Fatalf("make test would not install the browser its browser test needs:\n%s", test)
	}
}

// TestEveryPageAnswersHEAD: API Gateway HTTP API routes HEAD only where the
// template declares it, and link checkers send HEAD. Every public GET route
// (a page) has a HEAD route to the same function, whose main serves it with
// web.ServeHead; IAM-authorised admin routes answer scripts only.
func TestEveryPageAnswersHEAD(t *testing.T) {
	tmpl, err := LoadTemplate("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tmpl.Functions(Refs{Parameters: map[string]string{"TokenKeysSecretArn": "", "AddressPepperSecretArn": ""}, Resources: map[string]string{"Table": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	pages := 0
	for _, f := range fns {
		routes := map[string]bool{}
		for _, r := range f.Routes {
			routes[r.Method+" "+r.Path] = true
		}
		serves := false
		for _, r := range f.Routes {
			if r.Method != "GET" || r.IAM {
				continue
			}
			pages++
			if !routes["HEAD "+r.Path] {
				t.Errorf("%s serves GET %s but template.yaml declares no HEAD %s", f.LogicalID, r.Path, r.Path)
			}
			serves = true
		}
		if main, err := os.ReadFile("../../" + f.Dir + "/main.go"); serves && (err != nil || !strings.Contains(string(main), "web.ServeHead(")) {
			t.Errorf("%s serves pages, but its main does not answer HEAD with web.ServeHead: %v", f.LogicalID, err)
		}
	}
	if pages == 0 {
		t.Fatal("no page route in template.yaml")
	}
}
