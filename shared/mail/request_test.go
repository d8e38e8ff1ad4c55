package mail

import (
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/web/webtest"
)

// requestMails renders every mail of a privacy request with v in every
// field a person (the token in a link) or an operator (company, postal
// address) controls.
func requestMails(t *testing.T, v string) map[string]noticeData {
	t.Helper()
	sender, err := NewSender(nil, "from@example.com", v, v, "privacy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]noticeData{}
	for name, topic := range map[string]RequestTopic{"verify": RequestVerify, "status": RequestStatus, "export": RequestExport, "no data": RequestNoData, "erased": RequestErased,
		"refused": RequestRefused, "extended": RequestExtended, "done": RequestDone} {
		_, b, err := sender.request(RequestMail{PersonID: "p", To: "jo@example.com", Topic: topic, Kind: v, Link: "https://x.example/" + v,
			StatusLink: "https://x.example/s?" + v, Until: time.Date(2027, 1, 7, 9, 0, 0, 0, time.UTC), Due: time.Date(2027, 2, 3, 9, 0, 0, 0, time.UTC), Words: v})
		if err != nil {
			t.Fatal(err)
		}
		h, text, err := body{requestHTML(b), b.text()}.render()
		if err != nil {
			t.Fatal(err)
		}
		out[name] = noticeData{HTML: h, Text: text}
	}
	return out
}

func TestEveryRequestMailKeepsHostileValuesInTheirPlace(t *testing.T) {
	for _, v := range webtest.Hostile {
		plain := requestMails(t, webtest.Plainly(v))
		for name, m := range requestMails(t, v) {
			t.Run(name+" with "+v, func(t *testing.T) {
				webtest.CheckHTML(t, plain[name].HTML, m.HTML, v)
				webtest.CheckText(t, m.Text, v)
			})
		}
	}
}

func TestRequestMailsSayTheirDatesAsPeopleWriteThemAndRefuseMissingLinks(t *testing.T) {
	sender, _ := NewSender(nil, "from@example.com", "SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	subject, b, err := sender.request(RequestMail{Topic: RequestStatus, Kind: "Deletion of your data", StatusLink: "https://x.example/s",
		Until: time.Date(2027, 1, 7, 9, 0, 0, 0, time.UTC), Due: time.Date(2027, 2, 3, 9, 0, 0, 0, time.UTC)})
	if err != nil || !strings.Contains(subject, "SmartProtect, Inc.") || !strings.Contains(b.text(), "by 3 February 2027") || !strings.Contains(b.text(), "on 7 January 2027") {
		t.Fatalf("%q\n%s\n%v", subject, b.text(), err)
	}
	if _, _, err := sender.request(RequestMail{Topic: RequestExport, Kind: "x"}); err == nil {
		t.Fatal("an export mail without its links was rendered")
	}
	if _, _, err := sender.request(RequestMail{Topic: 99}); err == nil {
		t.Fatal("an unknown topic was rendered")
	}
}

func TestEveryRequestMailHasTheFrameOfEveryMail(t *testing.T) {
	for name, m := range requestMails(t, "SmartProtect, Inc.") {
		for _, want := range []string{`<html lang="en">`, `<title>`, `name="viewport"`, `href="mailto:privacy@example.com"`} {
			if !strings.Contains(m.HTML, want) {
				t.Errorf("the %s mail lacks %s (language, title, viewport and contact address, as every mail has):\n%s", name, want, m.HTML)
			}
		}
	}
}

func TestStaffMailsSayWhyAndByWhen(t *testing.T) {
	sender, _ := NewSender(nil, "from@example.com", "SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	_, b, err := sender.request(RequestMail{Topic: RequestRefused, Kind: "Removal of your testimonial or forum posts", Words: "The post is evidence in a court case."})
	if err != nil || !strings.Contains(b.text(), "The post is evidence in a court case.") || !strings.Contains(b.text(), "Removal of your testimonial") {
		t.Fatalf("refused:\n%s\n%v", b.text(), err)
	}
	_, b, err = sender.request(RequestMail{Topic: RequestExtended, Kind: "A copy of your data", Words: "Three archives.", Due: time.Date(2027, 4, 3, 9, 0, 0, 0, time.UTC)})
	if err != nil || !strings.Contains(b.text(), "Three archives.") || !strings.Contains(b.text(), "by 3 April 2027") {
		t.Fatalf("extended:\n%s\n%v", b.text(), err)
	}
}

func TestStaffMailsHaveNoSlipsOfCopy(t *testing.T) {
	sender, _ := NewSender(nil, "from@example.com", "SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	for _, m := range []RequestMail{
		{Topic: RequestRefused, Kind: "Removal of your testimonial or forum posts", Words: "The law requires us to keep this data for now. A court ordered us to keep the post."},
		{Topic: RequestExtended, Kind: "A copy of your data", Words: "Your data spans three archives.", Due: time.Date(2027, 4, 3, 9, 0, 0, 0, time.UTC)},
		{Topic: RequestDone, Kind: "Removal of your testimonial or forum posts"},
	} {
		subject, b, err := sender.request(m)
		if err != nil {
			t.Fatal(err)
		}
		if slips := webtest.Slips(subject + "\n" + b.text()); len(slips) != 0 {
			t.Errorf("mail %d: %v\n%s", m.Topic, slips, b.text())
		}
	}
}
