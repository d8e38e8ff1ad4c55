package mail

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/web/webtest"
)

// everyMail renders every mail, HTML and text, with v in every field a
// person (their name, the token in a link) or an operator (company, postal
// address, link bases, subject, paragraphs, policy version, URL and summary)
// controls, through the same code the senders use.
func everyMail(t *testing.T, v string) map[string]noticeData {
	t.Helper()
	sender, err := NewSender(nil, "from@example.com", v, v, v)
	if err != nil {
		t.Fatal(err)
	}
	return mailsOf(t, sender, v)
}

// mailsOf renders every mail of sender with v in every other field.
func mailsOf(t *testing.T, sender *Sender, v string) map[string]noticeData {
	t.Helper()
	parts := func(b body) noticeData {
		h, text, err := b.render()
		if err != nil {
			t.Fatal(err)
		}
		return noticeData{HTML: h, Text: text}
	}
	var n noticeData
	data, err := NewNoticeSender(nil, sender).render(notice.Policy{
		Version: v, Effective: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), Summary: v + "\n\n" + v, URL: v,
	}, v)
	if err != nil || json.Unmarshal([]byte(data), &n) != nil {
		t.Fatalf("notice data %s: %v", data, err)
	}
	return map[string]noticeData{
		"the confirmation mail": parts(sender.confirmation(people.ConfirmationMail{
			To: "jo@example.com", Purposes: people.Purposes, NewName: true, Link: v, Expires: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		})),
		"a confirmation of a name alone": parts(sender.confirmation(people.ConfirmationMail{
			To: "jo@example.com", NewName: true, Link: v, Expires: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		})),
		"a fresh preferences link": parts(sender.preferencesLink(people.PreferencesLinkMail{To: "jo@example.com", Link: v})),
		"a marketing mail": parts(sender.marketing(MarketingMail{
			To: "jo@example.com", Name: v, List: people.Newsletter, Subject: v, Paragraphs: []string{v, v}, UnsubscribeURL: v,
		})),
		"the policy notice": n,
	}
}

func TestEveryMailKeepsHostileValuesInTheirPlace(t *testing.T) {
	for _, v := range webtest.Hostile {
		plain := everyMail(t, webtest.Plainly(v))
		for name, m := range everyMail(t, v) {
			t.Run(name+" with "+v, func(t *testing.T) {
				webtest.CheckHTML(t, plain[name].HTML, m.HTML, v)
				webtest.CheckText(t, m.Text, v)
			})
		}
	}
}

func TestTheNoticeSubjectCarriesTheCompanyAsWritten(t *testing.T) {
	v := webtest.Hostile[0]
	sender, _ := NewSender(nil, "from@example.com", v, "street", "privacy@example.com")
	var n noticeData
	data, _ := NewNoticeSender(nil, sender).render(notice.Policy{Version: "v2", Effective: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), URL: "https://x"}, "")
	if err := json.Unmarshal([]byte(data), &n); err != nil || n.Subject != "Changes to the "+v+" privacy policy, effective 31 January 2027" {
		t.Fatalf("subject = %q, %v", n.Subject, err)
	}
}
