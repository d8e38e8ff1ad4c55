// Package mail sends pledge's mail through Amazon SES v2 with Simple content
// (HTML and text parts, custom headers), rendered from embedded templates
// that always carry the company's postal address.
package mail

import (
	"context"
	"embed"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/stencil"
)

//go:embed templates
var templateFiles embed.FS

// API is the part of the SES v2 client the sender uses.
type API interface {
	SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Sender renders and sends mail from one From address.
type Sender struct {
	ses           API
	from          string
	company       string
	postalAddress string
	templates     stencil.Set
}

var _ people.Mailer = (*Sender)(nil)

// NewSender parses the embedded templates once, at cold start.
func NewSender(ses API, from, company, postalAddress string) (*Sender, error) {
	templates, err := stencil.ParseFS(templateFiles, "templates")
	if err != nil {
		return nil, fmt.Errorf("mail.NewSender: %w", err)
	}
	return &Sender{ses: ses, from: from, company: company, postalAddress: postalAddress, templates: templates}, nil
}

// Header is one extra mail header.
type Header struct{ Name, Value string }

// send renders the named template pair and sends it to one recipient.
// htmlValues and textValues differ only where a part needs its own markup
// (lists); the company, its address and the greeting are added here.
func (s *Sender) send(ctx context.Context, to, subject, name, tmpl string, htmlValues, textValues stencil.Values, headers []Header) (err error) {
	greeting := ""
	if name != "" {
		greeting = " " + name
	}
	for _, v := range []stencil.Values{htmlValues, textValues} {
		v["company"], v["postal_address"], v["greeting_name"] = s.company, s.postalAddress, greeting
	}
	html, err := s.templates.Fill(tmpl+".html", htmlValues)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	text, err := s.templates.Fill(tmpl+".txt", textValues)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	var hs []types.MessageHeader
	for _, h := range headers {
		if strings.ContainsAny(h.Name+h.Value, "\r\n") {
			return fmt.Errorf("mail: header %q carries a line break", h.Name)
		}
		hs = append(hs, types.MessageHeader{Name: aws.String(h.Name), Value: aws.String(h.Value)})
	}
	_, err = s.ses.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from),
		Destination:      &types.Destination{ToAddresses: []string{to}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(subject), Charset: aws.String("UTF-8")},
			Body: &types.Body{
				Html: &types.Content{Data: aws.String(html), Charset: aws.String("UTF-8")},
				Text: &types.Content{Data: aws.String(text), Charset: aws.String("UTF-8")},
			},
			Headers: hs,
		}},
	})
	if err != nil {
		if kind := refusal(err); kind != nil {
			return fmt.Errorf("mail: SendEmail(%s): %w: %w", tmpl, kind, err)
		}
		return fmt.Errorf("mail: SendEmail(%s): %w", tmpl, err)
	}
	return nil
}

// SendConfirmation sends the double opt-in mail.
func (s *Sender) SendConfirmation(ctx context.Context, m people.ConfirmationMail) error {
	var htmlList, textList strings.Builder
	for _, p := range m.Purposes {
		htmlList.WriteString("<li>" + html.EscapeString(p.Label()) + "</li>")
		textList.WriteString("  - " + p.Label() + "\n")
	}
	expires := m.Expires.UTC().Format(time.RFC1123)
	return s.send(ctx, m.To, "Please confirm your sign-up to "+s.company, m.Name, "confirm",
		stencil.Values{"purposes": htmlList.String(), "link": m.Link, "expires": expires},
		stencil.Values{"purposes": textList.String(), "link": m.Link, "expires": expires},
		nil)
}

// MarketingMail is a mail sent because of a marketing consent. It cannot be
// sent without an unsubscribe URL: every marketing mail carries the RFC 8058
// one-click headers and a visible link.
type MarketingMail struct {
	PersonID       string // for logs; the address is never logged
	To, Name       string
	List           people.Purpose
	Subject        string
	Paragraphs     []string // plain text; escaped for the HTML part
	UnsubscribeURL string   // HTTPS (HTTP only on the local stack), carries a signed token
}

// SendMarketing sends a marketing mail with List-Unsubscribe and
// List-Unsubscribe-Post headers and the unsubscribe link in both parts.
// An error wraps ErrThrottled or ErrHalted when SES refused the send so: a
// bulk sender backs off or stops (see Pacer).
func (s *Sender) SendMarketing(ctx context.Context, m MarketingMail) error {
	if !m.List.Marketing() {
		return fmt.Errorf("mail.SendMarketing: %q is not a marketing list", m.List)
	}
	if !strings.HasPrefix(m.UnsubscribeURL, "https://") && !strings.HasPrefix(m.UnsubscribeURL, "http://") {
		return fmt.Errorf("mail.SendMarketing: a marketing mail needs an unsubscribe URL")
	}
	var htmlBody, textBody strings.Builder
	for _, p := range m.Paragraphs {
		htmlBody.WriteString("<p>" + html.EscapeString(p) + "</p>\n")
		textBody.WriteString(p + "\n\n")
	}
	common := func(body string) stencil.Values {
		return stencil.Values{"body": body, "list": m.List.Label(), "unsubscribe_url": m.UnsubscribeURL}
	}
	return s.send(ctx, m.To, m.Subject, m.Name, "marketing", common(htmlBody.String()), common(textBody.String()), []Header{
		{"List-Unsubscribe", "<" + m.UnsubscribeURL + ">"},
		{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
	})
}
