package localstack

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/mail"
)

// Mail to the simulator's addresses produces the events real SES
// publishes for them, in shapes the mail-events function decodes.
func TestTheMailboxSimulatorsAddressesProduceSESsEvents(t *testing.T) {
	at := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	tags := map[string]string{mail.TagPerson: "p-1", mail.TagKind: "newsletter"}
	for to, want := range map[string][]string{
		"success@simulator.amazonses.com":              {"Email Sent/Send", "Email Delivered/Delivery"},
		"ooto+x@simulator.amazonses.com":               {"Email Sent/Send", "Email Delivered/Delivery"},
		"bounce@simulator.amazonses.com":               {"Email Sent/Send", "Email Bounced/Bounce/Permanent/General"},
		"Bo <suppressionlist@simulator.amazonses.com>": {"Email Sent/Send", "Email Bounced/Bounce/Permanent/OnAccountSuppressionList"},
		"complaint@simulator.amazonses.com":            {"Email Sent/Send", "Email Delivered/Delivery", "Email Complaint Received/Complaint/abuse"},
		"jo@example.com":                               {"Email Sent/Send"},
		"nobody@simulator.amazonses.com":               {"Email Sent/Send"},
	} {
		var got []string
		for _, raw := range sesEvents(Send{At: at, ConfigurationSet: "cs"}, SentMail{MessageID: "m-1", To: []string{to}, Tags: tags}) {
			var ev struct {
				Source     string          `json:"source"`
				DetailType string          `json:"detail-type"`
				Detail     json.RawMessage `json:"detail"`
			}
			if err := json.Unmarshal(raw, &ev); err != nil || ev.Source != "aws.ses" {
				t.Fatalf("%s: %s", to, raw)
			}
			me, err := mail.DecodeEvent(ev.Detail)
			if err != nil || me.PersonID != "p-1" || me.MessageID != "m-1" || !me.Sent.Equal(at) {
				t.Fatalf("%s: %s decodes to %+v, %v", to, raw, me, err)
			}
			got = append(got, strings.Join(slices.DeleteFunc([]string{ev.DetailType, string(me.Type), me.BounceType, me.BounceSubType, me.FeedbackType},
				func(s string) bool { return s == "" }), "/"))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v; want %v", to, got, want)
		}
	}
}
