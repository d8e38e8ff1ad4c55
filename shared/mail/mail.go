// Package mail sends pledge's mail through Amazon SES v2 with Simple content
// (HTML and text parts, custom headers), rendered from typed bodies (templ
// components for HTML, Go for text) that always carry the company's postal
// address.
package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/smartprotect/pledge/shared/people"
)

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
	contact       string // the Reply-To of every mail, and in every footer
	// ConfigurationSet names pledge's SES configuration set, which publishes
	// every mail's events (send, delivery, bounce, complaint, delay,
	// reject) to the mail-events function ("" sends without one: no events).
	ConfigurationSet string
}

var _ people.Mailer = (*Sender)(nil)

// NewSender returns a sender of mail from the address from. The company
// name, postal address and contact address are required: every mail
// carries them, and the contact is its Reply-To (the From is a no-reply
// address).
func NewSender(ses API, from, company, postalAddress, contact string) (*Sender, error) {
	if company == "" || postalAddress == "" || contact == "" {
		return nil, errors.New("mail.NewSender: a company name, a postal address and a contact address are required")
	}
	return &Sender{ses: ses, from: from, company: company, postalAddress: postalAddress, contact: contact}, nil
}

// Header is one extra mail header.
type Header struct{ Name, Value string }

// send renders b and sends it to one recipient, personID, with the tags
// of a mail of kind.
func (s *Sender) send(ctx context.Context, to, personID, subject string, kind Kind, b body, headers []Header) (err error) {
	tags, err := tagsFor(kind, personID, "")
	if err != nil {
		return err
	}
	html, text, err := b.render()
	if err != nil {
		return err
	}
	var hs []types.MessageHeader
	for _, h := range headers {
		if strings.ContainsAny(h.Name+h.Value, "\r\n") {
			return fmt.Errorf("mail: header %q carries a line break", h.Name)
		}
		hs = append(hs, types.MessageHeader{Name: aws.String(h.Name), Value: aws.String(h.Value)})
	}
	_, err = s.ses.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from), ReplyToAddresses: []string{s.contact}, ConfigurationSetName: s.configurationSet(), EmailTags: tags,
		Destination: &types.Destination{ToAddresses: []string{to}},
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
		return fmt.Errorf("mail: sending the %s mail: %w", kind, sesFailure("SendEmail", err))
	}
	return nil
}

// SendConfirmation sends the double opt-in mail.
func (s *Sender) SendConfirmation(ctx context.Context, m people.ConfirmationMail) error {
	return s.send(ctx, m.To, m.PersonID, "Please confirm your sign-up to "+s.company, KindConfirm, s.confirmation(m), nil)
}

func (s *Sender) confirmation(m people.ConfirmationMail) body {
	b := confirmBody{s.letterhead(), m.Purposes, m.NewName, m.Link, When(m.Expires)}
	return body{confirmHTML(b), b.text()}
}

var _ people.SubscriptionMailer = (*Sender)(nil)

// SendPreferencesLink sends a fresh link to the preferences page.
func (s *Sender) SendPreferencesLink(ctx context.Context, m people.PreferencesLinkMail) error {
	return s.send(ctx, m.To, m.PersonID, "Your link to your email preferences at "+s.company, KindLink, s.preferencesLink(m), nil)
}

func (s *Sender) preferencesLink(m people.PreferencesLinkMail) body {
	b := preferencesLinkBody{s.letterhead(), m.Link}
	return body{preferencesLinkHTML(b), b.text()}
}

// MarketingMail is a mail sent because of a marketing consent. It cannot be
// sent without an unsubscribe URL: every marketing mail carries the RFC 8058
// one-click headers and a visible link.
type MarketingMail struct {
	PersonID       string // required: the mail's tags name the person; logs carry it, never the address
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
	return s.send(ctx, m.To, m.PersonID, m.Subject, KindNewsletter, s.marketing(m), []Header{
		{"List-Unsubscribe", "<" + m.UnsubscribeURL + ">"},
		{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
	})
}

func (s *Sender) marketing(m MarketingMail) body {
	b := marketingBody{s.letterhead(), m.Subject, m.Name, m.List.Label(), m.Paragraphs, m.UnsubscribeURL}
	return body{marketingHTML(b), b.text()}
}
