package mail_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/mail/mailtest"
	"github.com/smartprotect/pledge/shared/notice"
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
			sender, err := mail.NewSender(refusing{c.err}, "news@example.com", "SmartProtect, Inc.", "street", "privacy@example.com")
			if err != nil {
				t.Fatal(err)
			}
			err = sender.SendMarketing(context.Background(), mail.MarketingMail{PersonID: "p1", To: "jo@example.com", List: people.Newsletter,
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

// TestSESsTextNeverLeavesTheSender: SES's MessageRejected lists addresses
// in its text; every sending path returns the code alone, and still lets a
// caller tell what SES answered.
func TestSESsTextNeverLeavesTheSender(t *testing.T) {
	ctx := context.Background()
	sender, err := mail.NewSender(mailtest.Rejecting{}, "news@example.com", "SmartProtect, Inc.", "street", "privacy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	notices := mail.NewNoticeSender(mailtest.Rejecting{}, sender)
	pol := notice.Policy{Version: "v2", Material: true, Summary: "Changes.", URL: "https://example.com/p", Effective: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	one := []notice.Recipient{{ID: "p1", Email: "jo@example.com"}}
	two := append(one, notice.Recipient{ID: "p2", Email: "al@example.com"})
	paths := map[string]func() (error, string){
		"confirmation (SendEmail)": func() (error, string) {
			return sender.SendConfirmation(ctx, people.ConfirmationMail{PersonID: "p1", To: "jo@example.com", Link: "https://pledge.example/confirm?t=x", Purposes: []people.Purpose{people.Newsletter}}), ""
		},
		"newsletter (SendEmail)": func() (error, string) {
			return sender.SendMarketing(ctx, mail.MarketingMail{PersonID: "p1", To: "jo@example.com", List: people.Newsletter, Subject: "News",
				Paragraphs: []string{"Hello."}, UnsubscribeURL: "https://pledge.example/unsubscribe?t=x"}), ""
		},
		"a notice to one (SendEmail)": func() (error, string) {
			ds, err := notices.SendNotice(ctx, pol, one)
			return err, fmt.Sprint(ds)
		},
		"a notice to many (SendBulkEmail)": func() (error, string) {
			ds, err := notices.SendNotice(ctx, pol, two)
			return err, fmt.Sprint(ds)
		},
	}
	for name, send := range paths {
		t.Run(name, func(t *testing.T) {
			err, deliveries := send()
			said := fmt.Sprintf("%v %+v %s", err, err, deliveries)
			for _, addr := range []string{mailtest.RejectedAddress, "jo@example.com", "al@example.com"} {
				if strings.Contains(said, addr) {
					t.Fatalf("the send said %q, which names %s", said, addr)
				}
			}
			if err == nil && !strings.Contains(deliveries, "MESSAGE_REJECTED") {
				t.Fatalf("neither an error nor a rejected delivery: %s", deliveries)
			}
			var rejected *types.MessageRejected
			if err != nil && (!errors.As(err, &rejected) || mail.ErrorCode(err) != "MessageRejected" || !strings.Contains(err.Error(), "MessageRejected")) {
				t.Fatalf("err = %v (code %s); want SES's MessageRejected, said by its code", err, mail.ErrorCode(err))
			}
		})
	}
}
