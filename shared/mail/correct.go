package mail

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// CorrectionTopic is which mail of a correction request is sent.
type CorrectionTopic int

// The mails of a correction (besides the verification every request gets).
const (
	// CorrectionConfirmAddress goes to the new address: its link, once
	// pressed, moves the person there.
	CorrectionConfirmAddress CorrectionTopic = iota + 1
	// CorrectionDone goes to the address in force once the correction is
	// carried out.
	CorrectionDone
)

// CorrectionMail is one mail of a correction request. It carries nothing
// the requester typed but the address it goes to.
type CorrectionMail struct {
	PersonID   string // the keyed id the mail is tagged with (the new address's, for CorrectionConfirmAddress)
	To         string
	Topic      CorrectionTopic
	Link       string    // the new mailbox's confirmation link (CorrectionConfirmAddress)
	StatusLink string    // the request's status page
	Until      time.Time // when Link stops working
}

// SendCorrection sends one mail of a correction request, tagged as a
// request mail of the person. The caller checks deliverability first
// (nothing is known of a new address).
func (s *Sender) SendCorrection(ctx context.Context, m CorrectionMail) error {
	subject, b, err := s.correction(m)
	if err != nil {
		return err
	}
	return s.send(ctx, m.To, m.PersonID, subject, KindRequest, body{correctionHTML(subject, b), b.text()}, nil)
}

func (s *Sender) correction(m CorrectionMail) (string, requestBody, error) {
	b := requestBody{letterhead: s.letterhead()}
	status := namedLink{"See where your request stands", m.StatusLink}
	var subject string
	switch m.Topic {
	case CorrectionConfirmAddress:
		subject = "Please confirm your new address at " + s.company
		b.Paragraphs = []string{"Someone, hopefully you, asked " + s.company + " to use this address instead of the one we hold, and confirmed it from that address.",
			"Nothing moves until you confirm from here. Open this link and press the button (it works once, until " + Date(m.Until) + "):"}
		b.Links = []namedLink{{"Confirm the new address", m.Link}, status}
		b.Closing = "If you did not ask for this, ignore this mail: nothing will change."
	case CorrectionDone:
		subject = "Your details at " + s.company + " are corrected"
		b.Paragraphs = []string{"As you asked, we have corrected your details. Your consents and their history are as they were."}
		b.Links = []namedLink{status}
	default:
		return "", requestBody{}, fmt.Errorf("mail: unknown correction mail %d", m.Topic)
	}
	for _, l := range b.Links {
		if !strings.HasPrefix(l.URL, "https://") && !strings.HasPrefix(l.URL, "http://") {
			return "", requestBody{}, fmt.Errorf("mail: a correction mail needs its links")
		}
	}
	return subject, b, nil
}
