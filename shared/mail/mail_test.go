package mail_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/notice"
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
	sender, err := mail.NewSender(ses.SESClient(), "SmartProtect <no-reply@example.com>", "SmartProtect, Inc.", "514 S. Stratford Road, Winston-Salem", "privacy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	sender.ConfigurationSet = "pledge-mail"
	ses.Calls.RecordSends()
	box := localstack.Mailbox{URL: ses.URL}
	link := "https://pledge.example/confirm?t=abc.def"
	err = sender.SendConfirmation(ctx, people.ConfirmationMail{
		PersonID: "p1", To: "jo@example.com", NewName: true,
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
		{"the contact address as Reply-To", len(m.ReplyTo) == 1 && m.ReplyTo[0] == "privacy@example.com"},
		{"no header of its own (none names the person: the message tags do)", len(m.Headers) == 0},
		{"the contact address in both parts", strings.Contains(m.Body.Text, "privacy@example.com") && strings.Contains(m.Body.HTML, `href="mailto:privacy@example.com"`)},
		{"a subject naming the company", m.Subject == "Please confirm your sign-up to SmartProtect, Inc."},
		{"the link in the text part", strings.Contains(m.Body.Text, link)},
		{"the link in the HTML part", strings.Contains(m.Body.HTML, `href="`+link+`"`)},
		{"the postal address in both parts", strings.Contains(m.Body.Text, "514 S. Stratford Road") && strings.Contains(m.Body.HTML, "514 S. Stratford Road")},
		{"the purposes in both parts", strings.Contains(m.Body.Text, "Customer surveys") && strings.Contains(m.Body.HTML, "<li>Newsletter</li>")},
		{"a greeting without a name in both parts", strings.Contains(m.Body.Text, "Hello,\n") && strings.Contains(m.Body.HTML, "<p>Hello,</p>")},
		{"the name change named, not shown", strings.Contains(m.Body.Text, "the name given on the form")},
		{"the expiry", strings.Contains(m.Body.Text, "26 November 2026 at 12:00 UTC") && strings.Contains(m.Body.HTML, "26 November 2026 at 12:00 UTC")},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("the mail lacks %s:\n%+v", c.what, m)
		}
	}
	sent := lastMail(t)
	if sent.set != "pledge-mail" || fmt.Sprint(sent.Tags) != fmt.Sprint(map[string]string{mail.TagPerson: "p1", mail.TagKind: "confirm"}) {
		t.Fatalf("the confirmation went through %q tagged %v; want pledge-mail, the person's key and its kind", sent.set, sent.Tags)
	}
	if err := sender.SendConfirmation(ctx, people.ConfirmationMail{To: "nokey@example.com", Link: link}); err == nil {
		t.Fatal("a mail without the person's key was sent: its events could not find them")
	}
}

type sentMail struct {
	localstack.SentMail
	set string
}

// lastMail is the last mail the emulator accepted, with its configuration set.
func lastMail(t *testing.T) sentMail {
	t.Helper()
	sends := ses.Calls.Sends()
	if len(sends) == 0 || len(sends[len(sends)-1].Mails) == 0 {
		t.Fatal("no send recorded")
	}
	last := sends[len(sends)-1]
	return sentMail{last.Mails[len(last.Mails)-1], last.ConfigurationSet}
}

func TestSendFailsLoudlyWhenSESRefuses(t *testing.T) {
	sender, _ := mail.NewSender(ses.SESClient(), "", "SmartProtect, Inc.", "street", "privacy@example.com")
	err := sender.SendConfirmation(context.Background(), people.ConfirmationMail{PersonID: "p1", To: "jo@example.com", Link: "https://x"})
	if err == nil || !strings.Contains(err.Error(), "SES") {
		t.Fatalf("a send without a From address = %v; want SES's refusal", err)
	}
}

func TestSendMarketingCarriesOneClickHeadersAndAVisibleLink(t *testing.T) {
	ctx := context.Background()
	sender, _ := mail.NewSender(ses.SESClient(), "news@example.com", "SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	sender.ConfigurationSet = "pledge-mail"
	ses.Calls.RecordSends()
	link := "https://pledge.example/unsubscribe?t=tok.sig"
	err := sender.SendMarketing(ctx, mail.MarketingMail{
		PersonID: "reader-1", To: "reader@example.com", List: people.Newsletter, Subject: "News",
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
	if sent := lastMail(t); sent.set != "pledge-mail" || fmt.Sprint(sent.Tags) != fmt.Sprint(map[string]string{mail.TagPerson: "reader-1", mail.TagKind: "newsletter"}) {
		t.Fatalf("the newsletter went through %q tagged %v", sent.set, sent.Tags)
	}
}

func TestSendMarketingRefusesAMailWithoutAnUnsubscribeLink(t *testing.T) {
	sender, _ := mail.NewSender(ses.SESClient(), "news@example.com", "SmartProtect, Inc.", "street", "privacy@example.com")
	for _, m := range []mail.MarketingMail{
		{PersonID: "r1", To: "r@example.com", List: people.Newsletter, Subject: "x"},
		{PersonID: "r1", To: "r@example.com", List: people.Testimonials, Subject: "x", UnsubscribeURL: "https://x/unsubscribe?t=1"},
	} {
		if err := sender.SendMarketing(context.Background(), m); err == nil {
			t.Errorf("SendMarketing(%+v) sent", m)
		}
	}
}

func TestANoticeGoesToEachRecipientInOneBulkCallWithTheirOwnHeader(t *testing.T) {
	ctx := context.Background()
	sender, _ := mail.NewSender(ses.SESClient(), "privacy@example.com", "SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	notices := mail.NewNoticeSender(ses.SESClient(), sender)
	notices.ConfigurationSet = "pledge-mail"
	ses.Calls.RecordSends()
	if rate, err := notices.MaxSendRate(ctx); err != nil || rate != 14 {
		t.Fatalf("max send rate = %v, %v; want the account's 14", rate, err)
	}
	pol := notice.Policy{Version: "v7", Effective: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), Material: true,
		Summary: "We keep <survey> answers for 12 months.\n\nNothing else changes.", URL: "https://example.com/privacy/v7"}
	to := []notice.Recipient{{ID: "n-1", Email: "n1@example.com", Name: "Jo <Tester>"}, {ID: "n-2", Email: "n2@example.com"}, {ID: "n-3", Email: "not an address"}}
	greetings := map[string][2]string{ // the HTML and text greeting each recipient's mail must carry
		"n1@example.com": {"<p>Hello Jo &lt;Tester&gt;,</p>", "Hello Jo <Tester>,\n"},
		"n2@example.com": {"<p>Hello,</p>", "Hello,\n"},
	}
	ds, err := notices.SendNotice(ctx, pol, to)
	if err != nil || len(ds) != 3 {
		t.Fatalf("SendNotice = %+v, %v", ds, err)
	}
	if ds[0].Result != notice.Accepted || ds[1].Result != notice.Accepted || ds[0].MessageID == "" || ds[2].Result != notice.Rejected {
		t.Fatalf("deliveries = %+v; want two accepted and the bad address rejected", ds)
	}
	box := localstack.Mailbox{URL: ses.URL}
	for _, r := range to[:2] {
		got, err := box.To(ctx, r.Email)
		if err != nil || len(got) != 1 {
			t.Fatalf("%d notices to %s, %v", len(got), r.Email, err)
		}
		m := got[0]
		headers := map[string]string{}
		for _, h := range m.Headers {
			headers[h.Name] = h.Value
		}
		checks := []struct {
			what string
			ok   bool
		}{
			{"the effective date in the subject", m.Subject == "Changes to the SmartProtect, Inc. privacy policy, effective 31 January 2027"},
			{"the summary escaped in HTML, paragraphs kept", strings.Contains(m.Body.HTML, "<p>We keep &lt;survey&gt; answers for 12 months.</p>") && strings.Contains(m.Body.HTML, "<p>Nothing else changes.</p>")},
			{"the summary as written in text", strings.Contains(m.Body.Text, "We keep <survey> answers for 12 months.")},
			{"the policy link", strings.Contains(m.Body.HTML, `href="https://example.com/privacy/v7"`) && strings.Contains(m.Body.Text, "https://example.com/privacy/v7")},
			{"the postal address", strings.Contains(m.Body.Text, "514 S. Stratford Road")},
			{"no header naming the person or the notice", !strings.Contains(fmt.Sprint(m.Headers), r.ID) && !strings.Contains(fmt.Sprint(m.Headers), "X-Pledge")},
			{"no unsubscribe header: this is not marketing", headers["List-Unsubscribe"] == ""},
			{"the contact address as Reply-To", len(m.ReplyTo) == 1 && m.ReplyTo[0] == "privacy@example.com"},
			{"their own greeting, by name where we have one", strings.Contains(m.Body.HTML, greetings[r.Email][0]) && strings.Contains(m.Body.Text, greetings[r.Email][1])},
		}
		for _, c := range checks {
			if !c.ok {
				t.Errorf("the notice to %s lacks %s:\n%+v", r.Email, c.what, m)
			}
		}
	}
	sends := ses.Calls.Sends()
	if len(sends) == 0 || sends[len(sends)-1].ConfigurationSet != "pledge-mail" || len(sends[len(sends)-1].Mails) != 2 {
		t.Fatalf("the bulk call = %+v; want it sent through the configuration set, two mails accepted", sends)
	}
	for i, m := range sends[len(sends)-1].Mails {
		want := map[string]string{mail.TagPerson: to[i].ID, mail.TagKind: "notice", mail.TagNotice: "v7"}
		if fmt.Sprint(m.Tags) != fmt.Sprint(want) {
			t.Errorf("the notice to %s is tagged %v; want its own %v", m.To, m.Tags, want)
		}
	}
	// One recipient goes by SendEmail, with the same content.
	one, err := notices.SendNotice(ctx, pol, []notice.Recipient{{ID: "n-4", Email: "n4@example.com", Name: "Ana"}})
	if err != nil || len(one) != 1 || one[0].Result != notice.Accepted {
		t.Fatalf("a single notice = %+v, %v", one, err)
	}
	if got, _ := box.To(ctx, "n4@example.com"); len(got) != 1 || !strings.Contains(got[0].Body.Text, "Nothing else changes.") || !strings.Contains(got[0].Body.Text, "Hello Ana,\n") {
		t.Fatalf("the single notice = %+v", got)
	}
	if _, err := notices.SendNotice(ctx, pol, make([]notice.Recipient, 51)); err == nil {
		t.Fatal("a call of 51 recipients must be refused before SES sees it")
	}
}

func TestANoticeCarriesBracesAndMarkupInItsTextToTheInbox(t *testing.T) {
	ctx := context.Background()
	const company = `Brace {{{html}}} & "Co" {{subject}}`
	sender, err := mail.NewSender(ses.SESClient(), "privacy@example.com", company, "1 <Road>", "privacy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	summary := "We keep {{text}} and {{{html}}} as written.\n\n<script>alert(1)</script> stays text."
	pol := notice.Policy{Version: "v8", Effective: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), Summary: summary, URL: "https://example.com/privacy/v8"}
	if ds, err := mail.NewNoticeSender(ses.SESClient(), sender).SendNotice(ctx, pol, []notice.Recipient{{ID: "b-1", Email: "braces@example.com"}}); err != nil || ds[0].Result != notice.Accepted {
		t.Fatalf("SendNotice = %+v, %v", ds, err)
	}
	got, err := localstack.Mailbox{URL: ses.URL}.To(ctx, "braces@example.com")
	if err != nil || len(got) != 1 {
		t.Fatalf("%d notices, %v", len(got), err)
	}
	m := got[0]
	// SES fills {{{html}}} and the others once: nothing of the data is read
	// as a template, so braces arrive as written, in every part.
	if m.Subject != "Changes to the "+company+" privacy policy, effective 1 March 2027" || !strings.Contains(m.Body.Text, summary) ||
		!strings.Contains(m.Body.Text, company) || !strings.Contains(m.Body.HTML, "We keep {{text}} and {{{html}}} as written.") ||
		!strings.Contains(m.Body.HTML, "&lt;script&gt;alert(1)&lt;/script&gt; stays text.") || strings.Contains(m.Body.HTML, "<script>") {
		t.Fatalf("the notice changed on its way:\n%+v", m)
	}
}

func TestANoticeCallWhoseAnswerIsLostIsNotSentAgainAndSaysSo(t *testing.T) {
	ctx := context.Background()
	sender, _ := mail.NewSender(ses.SESClient(), "privacy@example.com", "SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	notices := mail.NewNoticeSender(ses.SESClient(), sender)
	faults := localstack.NewSESFaults(1, 1)
	ses.Calls.LoseSESAnswers(faults)
	defer ses.Calls.LoseSESAnswers(nil)
	pol := notice.Policy{Version: "v8", Effective: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), Material: true,
		Summary: "Lost answers.", URL: "https://example.com/privacy/v8"}
	for _, to := range [][]notice.Recipient{
		{{ID: "l-1", Email: "lost1@example.com"}, {ID: "l-2", Email: "lost2@example.com"}}, // SendBulkEmail
		{{ID: "l-3", Email: "lost3@example.com"}},                                          // SendEmail
	} {
		before := ses.Calls.Total()
		ds, err := notices.SendNotice(ctx, pol, to)
		if !errors.Is(err, notice.ErrAnswerLost) || ds != nil {
			t.Fatalf("a send whose answer was lost = %+v, %v; want ErrAnswerLost", ds, err)
		}
		if calls := ses.Calls.Total() - before; calls != 1 {
			t.Fatalf("%d calls for one send whose answer was lost; the SDK must not send it again", calls)
		}
		box := localstack.Mailbox{URL: ses.URL}
		for _, r := range to {
			if got, _ := box.To(ctx, r.Email); len(got) != 1 {
				t.Fatalf("%s got %d notices; SES took the call once", r.Email, len(got))
			}
		}
	}
	if faults.Lost() != 2 {
		t.Fatalf("%d answers lost; want 2", faults.Lost())
	}
}
