// Package mail sends pledge's mail through Amazon SES v2 with Simple content
// (HTML and text parts, custom headers), rendered from embedded templates
// that always carry the company's postal address.
package mail

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/smartprotect/pledge/shared/people"
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
	html          *htmltemplate.Template
	text          *texttemplate.Template
}

var _ people.Mailer = (*Sender)(nil)

// NewSender parses the embedded templates once, at cold start.
func NewSender(ses API, from, company, postalAddress string) (*Sender, error) {
	html, err := htmltemplate.ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("mail.NewSender: %w", err)
	}
	text, err := texttemplate.ParseFS(templateFiles, "templates/*.txt")
	if err != nil {
		return nil, fmt.Errorf("mail.NewSender: %w", err)
	}
	return &Sender{ses: ses, from: from, company: company, postalAddress: postalAddress, html: html, text: text}, nil
}

// message is what every template sees.
type message struct {
	Company       string
	PostalAddress string
	Name          string
	Data          any
}

// Header is one extra mail header.
type Header struct{ Name, Value string }

// send renders the named template pair and sends it to one recipient.
func (s *Sender) send(ctx context.Context, to, subject, name, tmpl string, data any, headers []Header) (err error) {
	m := message{Company: s.company, PostalAddress: s.postalAddress, Name: name, Data: data}
	var html, text bytes.Buffer
	if err := s.html.ExecuteTemplate(&html, tmpl+".html", m); err != nil {
		return fmt.Errorf("mail: rendering %s.html: %w", tmpl, err)
	}
	if err := s.text.ExecuteTemplate(&text, tmpl+".txt", m); err != nil {
		return fmt.Errorf("mail: rendering %s.txt: %w", tmpl, err)
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
				Html: &types.Content{Data: aws.String(html.String()), Charset: aws.String("UTF-8")},
				Text: &types.Content{Data: aws.String(text.String()), Charset: aws.String("UTF-8")},
			},
			Headers: hs,
		}},
	})
	if err != nil {
		return fmt.Errorf("mail: SendEmail(%s): %w", tmpl, err)
	}
	return nil
}

type confirmation struct {
	Purposes []people.Purpose
	Link     string
	Expires  string
}

// SendConfirmation sends the double opt-in mail.
func (s *Sender) SendConfirmation(ctx context.Context, m people.ConfirmationMail) error {
	data := confirmation{Purposes: m.Purposes, Link: m.Link, Expires: m.Expires.UTC().Format(time.RFC1123)}
	return s.send(ctx, m.To, "Please confirm your sign-up to "+s.company, m.Name, "confirm", data, nil)
}
