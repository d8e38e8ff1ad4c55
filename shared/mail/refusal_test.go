package mail_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/people"
)

// refusing is an SES client that answers every send with err, as SES does
// once the SDK has given up its retries.
type refusing struct{ err error }

func (r refusing) SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	return nil, r.err
}

func TestASendSaysWhetherSESThrottledItOrCannotSendAtAll(t *testing.T) {
	for _, c := range []struct {
		name      string
		err       error
		throttled bool
		halted    bool
		code      string
	}{
		{"throttled", &types.TooManyRequestsException{Message: new("Maximum sending rate exceeded for jo@example.com")}, true, false, "TooManyRequestsException"},
		{"over a limit", &types.LimitExceededException{}, true, false, "LimitExceededException"},
		{"sending paused", &types.SendingPausedException{}, false, true, "SendingPausedException"},
		{"account suspended", &types.AccountSuspendedException{}, false, true, "AccountSuspendedException"},
		{"rejected", &types.MessageRejected{}, false, false, "MessageRejected"},
		{"not SES's answer", errors.New("connection reset"), false, false, "error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sender, err := mail.NewSender(refusing{c.err}, "news@example.com", "SmartProtect, Inc.", "street")
			if err != nil {
				t.Fatal(err)
			}
			err = sender.SendMarketing(context.Background(), mail.MarketingMail{To: "jo@example.com", List: people.Newsletter,
				Subject: "News", Paragraphs: []string{"Hello."}, UnsubscribeURL: "https://pledge.example/unsubscribe?t=x"})
			if !errors.Is(err, c.err) || errors.Is(err, mail.ErrThrottled) != c.throttled || errors.Is(err, mail.ErrHalted) != c.halted {
				t.Fatalf("SendMarketing = %v; want throttled %v, halted %v, wrapping SES's error", err, c.throttled, c.halted)
			}
			if code := mail.ErrorCode(err); code != c.code {
				t.Fatalf("ErrorCode = %q; want %q (never SES's text, which can carry an address)", code, c.code)
			}
		})
	}
}
