package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/page"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/web"
)

// pageBytes prints the size of every page and of both parts of every mail,
// rendered with sample values, as a table: what the inline CSS costs.
func pageBytes() error {
	site, err := page.NewSite("SmartProtect, Inc.", "514 S. Stratford Road, Suite 201, Winston-Salem, NC 27103, USA", "privacy@smartprotectusa.com")
	if err != nil {
		return err
	}
	site.PolicyURL = "https://www.smartprotectusa.com/privacy-policy"
	const link = "https://pledge.example.com/unsubscribe?t=v1.abcdefghijklmnopqrstuvwxyz0123456789"
	rows := []struct {
		name string
		resp func() int
	}{
		{"sign-up form", func() int {
			return len(site.Page(http.StatusOK, "Sign up", page.SignupPage(page.SignupForm{Company: site.Company, FormID: "signup-form",
				PolicyVersion: "2015-03-22", PolicyURL: "https://www.smartprotectusa.com/privacy-policy", Purposes: people.Purposes})).Body)
		}},
		{"sign-up form, refused (new)", func() int {
			return len(site.Page(http.StatusBadRequest, "Please check the form", page.SignupPage(page.SignupForm{Company: site.Company, FormID: "signup-form",
				PolicyVersion: "2015-03-22", PolicyURL: "https://www.smartprotectusa.com/privacy-policy", Purposes: people.Purposes,
				Email: "jo@example.com", Problem: page.Problem{Field: "purposes", Message: "Please tick at least one thing you would like to receive."}})).Body)
		}},
		{"not-found page (new)", func() int { return len(site.NotFound(htmlRequest()).Body) }},
		{"thank-you page", func() int { return len(site.Page(http.StatusOK, "Check your inbox", page.ThanksPage()).Body) }},
		{"confirm page", func() int {
			return len(site.Page(http.StatusOK, "Confirm your sign-up", page.ConfirmPage(page.ConfirmForm{Token: "v1.token", Purposes: people.MarketingPurposes, Name: "Jo"})).Body)
		}},
		{"confirmed page", func() int {
			return len(site.Page(http.StatusOK, "You are signed up", page.OutcomePage(page.Outcome{Heading: "You are signed up", Message: "Thank you.", Preferences: link, SignUp: true})).Body)
		}},
		{"preferences page", func() int {
			rows := []page.PurposeState{{Purpose: people.Newsletter, On: true}, {Purpose: people.Offers}, {Purpose: people.Surveys, Pending: true}, {Purpose: people.Testimonials, On: true}}
			return len(site.Page(http.StatusOK, "Your email preferences", page.PreferencesPage(page.Preferences{MaskedEmail: "j***@example.com", Action: link, Purposes: rows, Requests: "/privacy"})).Body)
		}},
		{"unsubscribed page", func() int {
			return len(site.Page(http.StatusOK, "Unsubscribed", page.UnsubscribedPage(page.Unsubscribed{Company: site.Company, Preferences: link})).Body)
		}},
		{"new link page", func() int {
			return len(site.Page(http.StatusGone, "A new link to your preferences", page.NewLinkPage(page.NewLink{Reason: "This link has expired.", StopAction: link})).Body)
		}},
		{"error page", func() int {
			r, _ := site.Fail(htmlRequest(), people.Errorf(people.Invalid, "email", "this is not an email address"))
			return len(r.Body)
		}},
	}
	fmt.Println("| page or mail | bytes (HTML) | bytes (text part) |")
	fmt.Println("| --- | ---: | ---: |")
	for _, r := range rows {
		fmt.Printf("| %s | %d | |\n", r.name, r.resp())
	}
	form := site.Page(http.StatusOK, "Sign up", page.NotFoundPage()).Body
	if i, j := strings.Index(form, "<style>"), strings.Index(form, "</style>"); i >= 0 && j > i {
		fmt.Printf("| of each page: the inline style sheet | %d | |\n", j-i-len("<style>"))
	}
	mails, err := sampleMails()
	if err != nil {
		return err
	}
	for _, m := range mails {
		fmt.Printf("| %s mail | %d | %d |\n", m.name, len(m.html), len(m.text))
	}
	return nil
}

// htmlRequest is a browser's request.
func htmlRequest() web.Request {
	return web.Request{Headers: map[string]string{"accept": "text/html"}}
}

// sentMail is one mail as SES received it.
type sentMail struct{ name, html, text string }

// capture is an SES client that keeps what it is asked to send.
type capture struct{ sent []*sesv2.SendEmailInput }

func (c *capture) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	c.sent = append(c.sent, in)
	return &sesv2.SendEmailOutput{MessageId: aws.String("m")}, nil
}

func (c *capture) SendBulkEmail(context.Context, *sesv2.SendBulkEmailInput, ...func(*sesv2.Options)) (*sesv2.SendBulkEmailOutput, error) {
	return nil, fmt.Errorf("bench: one recipient goes through SendEmail")
}

func (c *capture) GetAccount(context.Context, *sesv2.GetAccountInput, ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error) {
	return &sesv2.GetAccountOutput{SendQuota: &types.SendQuota{MaxSendRate: 14}}, nil
}

func sampleMails() ([]sentMail, error) {
	ses := &capture{}
	s, err := mail.NewSender(ses, "SmartProtect <no-reply@example.com>", "SmartProtect, Inc.", "514 S. Stratford Road, Suite 201, Winston-Salem, NC 27103, USA", "privacy@smartprotectusa.com")
	if err != nil {
		return nil, err
	}
	ctx, at := context.Background(), time.Date(2026, 12, 2, 3, 35, 14, 0, time.UTC)
	const link = "https://pledge.example.com/confirm?t=v1.abcdefghijklmnopqrstuvwxyz0123456789"
	names := []string{"confirmation", "preferences link", "newsletter", "policy notice"}
	errs := []error{
		s.SendConfirmation(ctx, people.ConfirmationMail{PersonID: "p1", To: "jo@example.com", Purposes: people.MarketingPurposes, Link: link, Expires: at}),
		s.SendPreferencesLink(ctx, people.PreferencesLinkMail{PersonID: "p1", To: "jo@example.com", Link: link}),
		s.SendMarketing(ctx, mail.MarketingMail{PersonID: "p1", To: "jo@example.com", Name: "Jo", List: people.Newsletter, Subject: "News",
			Paragraphs: []string{"This month we made the app faster.", "Thank you for reading."}, UnsubscribeURL: link}),
	}
	_, err = mail.NewNoticeSender(ses, s).SendNotice(ctx, notice.Policy{Version: "2027-03", Effective: time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC),
		Summary: "We now keep sign-up records for a shorter time.\n\nWe explain your rights more plainly.", URL: "https://www.smartprotectusa.com/privacy-policy"},
		[]notice.Recipient{{ID: "p1", Email: "jo@example.com"}})
	errs = append(errs, err)
	var out []sentMail
	for i, in := range ses.sent {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if c := in.Content.Simple; c != nil {
			out = append(out, sentMail{names[i], aws.ToString(c.Body.Html.Data), aws.ToString(c.Body.Text.Data)})
			continue
		}
		var data struct{ HTML, Text string }
		if err := json.Unmarshal([]byte(aws.ToString(in.Content.Template.TemplateData)), &data); err != nil {
			return nil, err
		}
		out = append(out, sentMail{names[i], data.HTML, data.Text})
	}
	return out, nil
}
