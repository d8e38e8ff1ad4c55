package mail

import (
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/web/webtest"
)

// correctionMails renders both mails of a correction with v in every field
// a person (the token in a link) or an operator controls.
func correctionMails(t *testing.T, v string) map[string]noticeData {
	t.Helper()
	sender, err := NewSender(nil, "from@example.com", v, v, "privacy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]noticeData{}
	for name, topic := range map[string]CorrectionTopic{"new address": CorrectionConfirmAddress, "done": CorrectionDone} {
		subject, b, err := sender.correction(CorrectionMail{PersonID: "p", To: "jo@example.com", Topic: topic, Link: "https://x.example/c?" + v,
			StatusLink: "https://x.example/s?" + v, Until: time.Date(2027, 1, 7, 9, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		h, text, err := body{correctionHTML(subject, b), b.text()}.render()
		if err != nil {
			t.Fatal(err)
		}
		out[name] = noticeData{HTML: h, Text: text}
	}
	return out
}

func TestEveryCorrectionMailKeepsHostileValuesInTheirPlace(t *testing.T) {
	for _, v := range webtest.Hostile {
		plain := correctionMails(t, webtest.Plainly(v))
		for name, m := range correctionMails(t, v) {
			t.Run(name+" with "+v, func(t *testing.T) {
				webtest.CheckHTML(t, plain[name].HTML, m.HTML, v)
				webtest.CheckText(t, m.Text, v)
			})
		}
	}
}

func TestTheNewAddressMailCarriesItsLinkInBothPartsAndRefusesMissingLinks(t *testing.T) {
	m := correctionMails(t, "SmartProtect")["new address"]
	for _, part := range []string{m.HTML, m.Text} {
		if !strings.Contains(part, "https://x.example/c?SmartProtect") || !strings.Contains(part, "7 January 2027") {
			t.Fatalf("a part lacks the link or its end:\n%s", part)
		}
	}
	if !strings.Contains(m.HTML, `<html lang="en">`) || !strings.Contains(m.HTML, "<title>Please confirm your new address at SmartProtect</title>") {
		t.Fatalf("the HTML part lacks its frame:\n%s", m.HTML)
	}
	sender, _ := NewSender(nil, "from@example.com", "SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	if _, _, err := sender.correction(CorrectionMail{Topic: CorrectionConfirmAddress, StatusLink: "https://x.example/s"}); err == nil {
		t.Fatal("a new address's mail without its link was rendered")
	}
	if _, _, err := sender.correction(CorrectionMail{Topic: 99}); err == nil {
		t.Fatal("an unknown topic was rendered")
	}
}
