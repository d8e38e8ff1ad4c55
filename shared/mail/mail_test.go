package mail_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/people"
)

var ses *localstack.Emulator

// TestMain runs the tests against aws-ses-v2-local, reading sent mail back
// from its /store API.
func TestMain(m *testing.M) {
	os.Exit(func() int {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		root, err := localstack.Root()
		if err == nil {
			ses, err = localstack.StartSES(ctx, root, filepath.Join(root, ".build/logs/mail-test"), localstack.SESAccount{MaxSendRate: 14, SendingEnabled: true})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer ses.Stop()
		return m.Run()
	}())
}

func TestSendConfirmationDeliversBothPartsWithTheCompanyAddress(t *testing.T) {
	ctx := context.Background()
	sender, err := mail.NewSender(ses.SESClient(), "SmartProtect <no-reply@example.com>", "SmartProtect, Inc.", "514 S. Stratford Road, Winston-Salem")
	if err != nil {
		t.Fatal(err)
	}
	box := localstack.Mailbox{URL: ses.URL}
	link := "https://pledge.example/confirm?t=abc.def"
	err = sender.SendConfirmation(ctx, people.ConfirmationMail{
		PersonID: "p1", To: "jo@example.com", Name: "Jo <b>& Co</b>",
		Purposes: []people.Purpose{people.Newsletter, people.Surveys}, Link: link,
		Expires: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := box.To(ctx, "jo@example.com")
	if err != nil || len(got) != 1 {
		t.Fatalf("captured %d mails to jo@example.com, %v", len(got), err)
	}
	m := got[0]
	checks := []struct {
		what string
		ok   bool
	}{
		{"the From address", m.From == "SmartProtect <no-reply@example.com>"},
		{"a subject naming the company", m.Subject == "Please confirm your sign-up to SmartProtect, Inc."},
		{"the link in the text part", strings.Contains(m.Body.Text, link)},
		{"the link in the HTML part", strings.Contains(m.Body.HTML, `href="`+link+`"`)},
		{"the postal address in both parts", strings.Contains(m.Body.Text, "514 S. Stratford Road") && strings.Contains(m.Body.HTML, "514 S. Stratford Road")},
		{"the purposes in both parts", strings.Contains(m.Body.Text, "Customer surveys") && strings.Contains(m.Body.HTML, "<li>Newsletter</li>")},
		{"the name escaped in HTML", strings.Contains(m.Body.HTML, "Jo &lt;b&gt;&amp; Co&lt;/b&gt;")},
		{"the name as typed in text", strings.Contains(m.Body.Text, "Hello Jo <b>& Co</b>,")},
		{"the expiry", strings.Contains(m.Body.Text, "Thu, 26 Nov 2026 12:00:00 UTC")},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("the mail lacks %s:\n%+v", c.what, m)
		}
	}
}

func TestSendFailsLoudlyWhenSESRefuses(t *testing.T) {
	sender, _ := mail.NewSender(ses.SESClient(), "", "SmartProtect, Inc.", "street")
	err := sender.SendConfirmation(context.Background(), people.ConfirmationMail{To: "jo@example.com", Link: "https://x"})
	if err == nil {
		t.Fatal("a send without a From address was not reported")
	}
}

func TestSendMarketingCarriesOneClickHeadersAndAVisibleLink(t *testing.T) {
	ctx := context.Background()
	sender, _ := mail.NewSender(ses.SESClient(), "news@example.com", "SmartProtect, Inc.", "514 S. Stratford Road")
	link := "https://pledge.example/unsubscribe?t=tok.sig"
	err := sender.SendMarketing(ctx, mail.MarketingMail{
		To: "reader@example.com", List: people.Newsletter, Subject: "News",
		Paragraphs: []string{"First <news>", "Second"}, UnsubscribeURL: link,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := localstack.Mailbox{URL: ses.URL}.To(ctx, "reader@example.com")
	if len(got) != 1 {
		t.Fatalf("%d mails", len(got))
	}
	headers := map[string]string{}
	for _, h := range got[0].Headers {
		headers[h.Name] = h.Value
	}
	if headers["List-Unsubscribe"] != "<"+link+">" || headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
		t.Fatalf("headers = %v", headers)
	}
	if !strings.Contains(got[0].Body.Text, link) || !strings.Contains(got[0].Body.HTML, `href="`+link+`"`) || !strings.Contains(got[0].Body.HTML, "<p>First &lt;news&gt;</p>") {
		t.Fatalf("bodies = %s\n%s", got[0].Body.Text, got[0].Body.HTML)
	}
}

func TestSendMarketingRefusesAMailWithoutAnUnsubscribeLink(t *testing.T) {
	sender, _ := mail.NewSender(ses.SESClient(), "news@example.com", "SmartProtect, Inc.", "street")
	for _, m := range []mail.MarketingMail{
		{To: "r@example.com", List: people.Newsletter, Subject: "x"},
		{To: "r@example.com", List: people.Testimonials, Subject: "x", UnsubscribeURL: "https://x/unsubscribe?t=1"},
	} {
		if err := sender.SendMarketing(context.Background(), m); err == nil {
			t.Errorf("SendMarketing(%+v) sent", m)
		}
	}
}
