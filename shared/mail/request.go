package mail

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// RequestTopic is which mail of a privacy request is sent.
type RequestTopic int

// The mails of a privacy request.
const (
	RequestVerify   RequestTopic = iota + 1 // the verification link, to prove the mailbox asked
	RequestStatus                           // the status page's link (a deletion in its cool-off, or asking again)
	RequestExport                           // an access request's export link, and the status link
	RequestNoData                           // pledge holds nothing about the address
	RequestErased                           // the last mail of a deletion: it is done
	RequestRefused                          // staff refused the request: Words say why (policy §12)
	RequestExtended                         // staff extended the due date: Words say why (GDPR Art. 12(3))
	RequestDone                             // staff completed the request (content removed, or answered)
)

// RequestMail is one mail of a privacy request. It carries nothing the
// requester typed but the address it goes to.
type RequestMail struct {
	PersonID   string // the keyed id of the address: the mail's tag, never the address
	To         string
	Topic      RequestTopic
	Kind       string    // the request's kind, as a page names it ("Deletion of your data")
	Link       string    // the verification link (RequestVerify) or the export link (RequestExport)
	StatusLink string    // the status page (all but RequestVerify and RequestErased)
	Until      time.Time // when Link stops working, or (RequestStatus of a deletion) when the cool-off ends
	Due        time.Time // the request's due date (RequestExtended: the new one)
	Words      string    // RequestRefused, RequestExtended: why, as staff gave it; RequestDone: staff's note
}

// requestBody is a privacy request's mail, as both parts show it.
type requestBody struct {
	letterhead
	Subject    string // the mail's, as the HTML part's title
	Paragraphs []string
	Links      []namedLink
	Closing    string
}

type namedLink struct{ Label, URL string }

// Date is how mail and pages write a day: "4 January 2027" (UTC).
func Date(t time.Time) string { return t.UTC().Format("2 January 2006") }

// SendRequest sends one mail of a privacy request, tagged as a request mail
// of the person. The caller checks the person's deliverability first.
func (s *Sender) SendRequest(ctx context.Context, m RequestMail) error {
	subject, b, err := s.request(m)
	if err != nil {
		return err
	}
	return s.send(ctx, m.To, m.PersonID, subject, KindRequest, body{requestHTML(b), b.text()}, nil)
}

func (s *Sender) request(m RequestMail) (string, requestBody, error) {
	b := requestBody{letterhead: s.letterhead()}
	status := namedLink{"See where your request stands", m.StatusLink}
	var subject string
	switch m.Topic {
	case RequestVerify:
		subject = "Please confirm your privacy request to " + s.company
		b.Paragraphs = []string{"Someone, hopefully you, asked " + s.company + " for this: " + m.Kind + ".",
			"Nothing happens until you confirm. Open this link and press the button (it works once, until " + Date(m.Until) + "):"}
		b.Links = []namedLink{{"Confirm the request", m.Link}}
		b.Closing = "If you did not ask for this, ignore this mail: the request lapses after 7 days."
	case RequestStatus:
		subject = "Your privacy request to " + s.company
		b.Paragraphs = []string{"We have your request: " + m.Kind + ". We answer it by " + Date(m.Due) + "."}
		if !m.Until.IsZero() {
			b.Paragraphs = append(b.Paragraphs, "We will delete your data on "+Date(m.Until)+". Until then you can cancel on the request's page.")
		}
		b.Links = []namedLink{status}
	case RequestExport:
		subject = "Your data at " + s.company
		b.Paragraphs = []string{"Here is everything " + s.company + " holds about this address. The link works until " + Date(m.Until) + "."}
		b.Links = []namedLink{{"Open your data", m.Link}, status}
	case RequestNoData:
		subject = "Your privacy request to " + s.company
		b.Paragraphs = []string{"You asked for this: " + m.Kind + ". " + s.company + " holds no personal data about this address, so there is nothing to send or delete."}
		b.Links = []namedLink{status}
	case RequestErased:
		subject = "Your data at " + s.company + " is deleted"
		b.Paragraphs = []string{"As you asked, we have deleted your data. We keep only a record that we did so, without your address, " +
			"and, for the period the law requires, the proof of consents you gave and withdrew.",
			"This is the last mail we send to this address."}
	case RequestRefused:
		subject = "Your privacy request to " + s.company
		b.Paragraphs = []string{"You asked for this: " + m.Kind + ". We cannot do it, for this reason:", m.Words,
			"If you disagree, reply to this mail. You may also complain to a data protection authority."}
	case RequestExtended:
		subject = "Your privacy request to " + s.company + " needs more time"
		b.Paragraphs = []string{"You asked for this: " + m.Kind + ". We need more time to answer it, for this reason:", m.Words,
			"We will answer by " + Date(m.Due) + "."}
	case RequestDone:
		subject = "Your privacy request to " + s.company + " is done"
		b.Paragraphs = []string{"You asked for this: " + m.Kind + ". It is done."}
		if m.Words != "" {
			b.Paragraphs = append(b.Paragraphs, m.Words)
		}
	default:
		return "", requestBody{}, fmt.Errorf("mail: unknown privacy request mail %d", m.Topic)
	}
	b.Subject = subject
	for _, l := range b.Links {
		if !strings.HasPrefix(l.URL, "https://") && !strings.HasPrefix(l.URL, "http://") {
			return "", requestBody{}, fmt.Errorf("mail: a privacy request mail needs its links")
		}
	}
	return subject, b, nil
}

func (r requestBody) text() string {
	var b strings.Builder
	lines(&b, "Hello,", "")
	for _, p := range r.Paragraphs {
		lines(&b, p, "")
	}
	for _, l := range r.Links {
		lines(&b, l.Label+":", l.URL, "")
	}
	if r.Closing != "" {
		lines(&b, r.Closing, "")
	}
	lines(&b, "--")
	r.letterhead.text(&b)
	return b.String()
}
