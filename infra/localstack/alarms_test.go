package localstack

import (
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// alarmTemplate is the part of template.yaml that declares the alarms.
type alarmTemplate struct {
	Parameters map[string]struct {
		Type    string `yaml:"Type"`
		Default string `yaml:"Default"`
	} `yaml:"Parameters"`
	Conditions map[string]yaml.Node `yaml:"Conditions"`
	Resources  map[string]struct {
		Type       string `yaml:"Type"`
		Properties struct {
			Namespace          string    `yaml:"Namespace"`
			MetricName         string    `yaml:"MetricName"`
			ComparisonOperator string    `yaml:"ComparisonOperator"`
			Threshold          yaml.Node `yaml:"Threshold"`
			Dimensions         []struct {
				Name  string    `yaml:"Name"`
				Value yaml.Node `yaml:"Value"`
			} `yaml:"Dimensions"`
			AlarmActions yaml.Node `yaml:"AlarmActions"`
			OKActions    yaml.Node `yaml:"OKActions"`
		} `yaml:"Properties"`
	} `yaml:"Resources"`
}

// toTopic reports whether n is !If [HasAlarmTopic, [!Ref AlarmTopicArn],
// !Ref AWS::NoValue]: the alarm topic when one is given, nothing otherwise.
func toTopic(n yaml.Node) bool {
	if n.Tag != "!If" || len(n.Content) != 3 || n.Content[0].Value != "HasAlarmTopic" {
		return false
	}
	then, otherwise := n.Content[1], n.Content[2]
	return then.Kind == yaml.SequenceNode && len(then.Content) == 1 && then.Content[0].Tag == "!Ref" &&
		then.Content[0].Value == "AlarmTopicArn" && otherwise.Tag == "!Ref" && otherwise.Value == "AWS::NoValue"
}

// TestTheAlarmsWatchSESReputationAndTheMailEventsFunctionAndNotifyTheTopic:
// issue 12 item 6. SES pauses an account whose bounce or complaint rate
// stays high (which would stop the notices the policy owes), so the
// template alarms on both, at the parameters' thresholds (2% and 0.1%
// unless the deployer says otherwise), and on the mail-events function's
// errors; every alarm notifies AlarmTopicArn, when one is given.
func TestTheAlarmsWatchSESReputationAndTheMailEventsFunctionAndNotifyTheTopic(t *testing.T) {
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var d alarmTemplate
	if err := yaml.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	for name, def := range map[string]string{"BounceRateAlarmThreshold": "0.02", "ComplaintRateAlarmThreshold": "0.001"} {
		if p, ok := d.Parameters[name]; !ok || p.Type != "Number" || p.Default != def {
			t.Errorf("parameter %s = %+v (declared %v); want a Number defaulting to %s", name, p, ok, def)
		}
	}
	if p, ok := d.Parameters["AlarmTopicArn"]; !ok || p.Type != "String" {
		t.Errorf("parameter AlarmTopicArn = %+v (declared %v); want a String", p, ok)
	}
	cond := d.Conditions["HasAlarmTopic"]
	if cond.Tag != "!Not" || len(cond.Content) != 1 || cond.Content[0].Tag != "!Equals" || len(cond.Content[0].Content) != 2 ||
		cond.Content[0].Content[0].Tag != "!Ref" || cond.Content[0].Content[0].Value != "AlarmTopicArn" || cond.Content[0].Content[1].Value != "" {
		t.Errorf("condition HasAlarmTopic is not !Not [!Equals [!Ref AlarmTopicArn, \"\"]]")
	}

	type watch struct{ namespace, metric, threshold, function string }
	want := map[watch]bool{
		{"AWS/SES", "Reputation.BounceRate", "!Ref BounceRateAlarmThreshold", ""}:       false,
		{"AWS/SES", "Reputation.ComplaintRate", "!Ref ComplaintRateAlarmThreshold", ""}: false,
		{"AWS/Lambda", "Errors", " 1", "MailEventsFunction"}:                            false,
		{"pledge", "OverdueRequests", " 1", "PrivacyClockFunction"}:                     false,
		{"AWS/Lambda", "Errors", " 1", "PrivacyClockFunction"}:                          false,
	}
	for id, r := range d.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		p := r.Properties
		w := watch{p.Namespace, p.MetricName, p.Threshold.Tag + " " + p.Threshold.Value, ""}
		if w.threshold == "!!int 1" || w.threshold == "!!float 1" {
			w.threshold = " 1"
		}
		for _, dim := range p.Dimensions {
			if dim.Name == "FunctionName" && dim.Value.Tag == "!Ref" {
				w.function = dim.Value.Value
			}
		}
		if _, ok := want[w]; !ok {
			t.Errorf("alarm %s watches %+v, which is none of %v", id, w, want)
			continue
		}
		want[w] = true
		if p.ComparisonOperator != "GreaterThanOrEqualToThreshold" {
			t.Errorf("alarm %s compares %s; want GreaterThanOrEqualToThreshold", id, p.ComparisonOperator)
		}
		if !toTopic(p.AlarmActions) || !toTopic(p.OKActions) {
			t.Errorf("alarm %s does not notify AlarmTopicArn (if HasAlarmTopic) when it fires and clears", id)
		}
	}
	for w, found := range want {
		if !found {
			t.Errorf("no alarm watches %+v", w)
		}
	}
}
