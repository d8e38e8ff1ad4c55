package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/smartprotect/pledge/shared/notice"
)

// BulkAPI is the part of the SES v2 client that sends notices.
type BulkAPI interface {
	API
	AccountAPI
	SendBulkEmail(context.Context, *sesv2.SendBulkEmailInput, ...func(*sesv2.Options)) (*sesv2.SendBulkEmailOutput, error)
}

// NoticeSender sends policy-change notices: the same mail to many people,
// up to 50 to a SendBulkEmail call.
type NoticeSender struct {
	ses BulkAPI
	// Sender's ConfigurationSet publishes a send event per accepted notice,
	// which marks the recipient's record sent even when the sender was
	// killed before it could.
	*Sender
}

var _ notice.Mailer = (*NoticeSender)(nil)

// NewNoticeSender wraps a Sender with the bulk calls.
func NewNoticeSender(ses BulkAPI, s *Sender) *NoticeSender { return &NoticeSender{ses: ses, Sender: s} }

// maxBulk is SES's limit of destinations per SendBulkEmail call.
const maxBulk = 50

// MaxBatch is the most recipients one call takes.
func (s *NoticeSender) MaxBatch() int { return maxBulk }

// MaxSendRate reads the account's max send rate (messages per second); 0
// when sending is disabled.
func (s *NoticeSender) MaxSendRate(ctx context.Context) (float64, error) {
	return NewAccount(s.ses).MaxSendRate(ctx)
}

// noticeTemplate carries the whole rendered mail as template data: nothing
// of the policy text is ever parsed as a template, and the triple braces
// keep SES from escaping what is already HTML.
var noticeTemplate = &types.EmailTemplateContent{
	Subject: aws.String("{{{subject}}}"),
	Html:    aws.String("{{{html}}}"),
	Text:    aws.String("{{{text}}}"),
}

// noticeData is the TemplateData of noticeTemplate.
type noticeData struct {
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	Text    string `json:"text"`
}

// render fills the notice for pol, greeting name ("" for "Hello,"); it is
// otherwise the same for every recipient.
func (s *NoticeSender) render(pol notice.Policy, name string) (string, error) {
	effective := Day(pol.Effective)
	n := noticeBody{s.letterhead(), name, effective, pol.URL, pol.Summary}
	h, t, err := body{noticeHTML(n), n.text()}.render()
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(noticeData{
		Subject: "Changes to the " + s.company + " privacy policy, effective " + effective,
		HTML:    h, Text: t,
	})
	return string(b), err
}

// SendNotice sends pol's notice to every recipient: one SendBulkEmail call,
// or SendEmail for a single recipient. It returns a Delivery per recipient.
func (s *NoticeSender) SendNotice(ctx context.Context, pol notice.Policy, to []notice.Recipient) ([]notice.Delivery, error) {
	if len(to) == 0 || len(to) > maxBulk {
		return nil, fmt.Errorf("mail.SendNotice: %d recipients; a call takes 1 to %d", len(to), maxBulk)
	}
	data, err := s.render(pol, "")
	if err != nil {
		return nil, fmt.Errorf("mail.SendNotice: %w", err)
	}
	// A recipient with a name gets the whole template data of their own
	// (BulkEmailEntry.ReplacementEmailContent): whether SES merges an
	// entry's data with the default or replaces it, the mail is complete.
	named := make([]string, len(to))
	for i, r := range to {
		if r.Name == "" {
			continue
		}
		if named[i], err = s.render(pol, r.Name); err != nil {
			return nil, fmt.Errorf("mail.SendNotice: %w", err)
		}
	}
	tags := make([][]types.MessageTag, len(to))
	for i, r := range to {
		if tags[i], err = tagsFor(KindNotice, r.ID, pol.Version); err != nil {
			return nil, fmt.Errorf("mail.SendNotice: %w", err)
		}
	}
	tmpl := &types.Template{TemplateContent: noticeTemplate, TemplateData: aws.String(data)}
	if len(to) == 1 {
		if named[0] != "" {
			tmpl.TemplateData = aws.String(named[0])
		}
		out, err := s.ses.SendEmail(ctx, &sesv2.SendEmailInput{
			FromEmailAddress: aws.String(s.from), ReplyToAddresses: []string{s.contact}, ConfigurationSetName: s.configurationSet(), EmailTags: tags[0],
			Destination: &types.Destination{ToAddresses: []string{to[0].Email}},
			Content:     &types.EmailContent{Template: tmpl},
		}, sendOnce)
		if answerLost(ctx, err) {
			return nil, fmt.Errorf("mail.SendNotice: %w: %w", notice.ErrAnswerLost, sesFailure("SendEmail", err))
		}
		if err != nil {
			return whole(sesFailure("SendEmail", err), 1)
		}
		return []notice.Delivery{{Result: notice.Accepted, MessageID: aws.ToString(out.MessageId)}}, nil
	}
	entries := make([]types.BulkEmailEntry, len(to))
	for i, r := range to {
		entries[i] = types.BulkEmailEntry{Destination: &types.Destination{ToAddresses: []string{r.Email}}, ReplacementTags: tags[i]}
		if named[i] != "" {
			entries[i].ReplacementEmailContent = &types.ReplacementEmailContent{
				ReplacementTemplate: &types.ReplacementTemplate{ReplacementTemplateData: aws.String(named[i])}}
		}
	}
	out, err := s.ses.SendBulkEmail(ctx, &sesv2.SendBulkEmailInput{
		FromEmailAddress: aws.String(s.from), ReplyToAddresses: []string{s.contact}, ConfigurationSetName: s.configurationSet(),
		DefaultContent:   &types.BulkEmailContent{Template: tmpl},
		BulkEmailEntries: entries,
	}, sendOnce)
	if answerLost(ctx, err) {
		return nil, fmt.Errorf("mail.SendNotice: %w: %w", notice.ErrAnswerLost, sesFailure("SendBulkEmail", err))
	}
	if err != nil {
		return whole(sesFailure("SendBulkEmail", err), len(to))
	}
	if len(out.BulkEmailEntryResults) != len(to) {
		return nil, fmt.Errorf("mail.SendNotice: SES answered %d results for %d recipients", len(out.BulkEmailEntryResults), len(to))
	}
	ds := make([]notice.Delivery, len(to))
	for i, r := range out.BulkEmailEntryResults {
		ds[i] = delivery(r)
	}
	return ds, nil
}

// sendOnce keeps the SDK from making a notice call again after a transport
// error: SES takes no idempotency token, so a call whose answer was lost
// may have been accepted, and a second one would send every recipient a
// second notice. Throttling is still retried: SES refused that call whole.
func sendOnce(o *sesv2.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.Retryables = []retry.IsErrorRetryable{retry.NoRetryCanceledError{}, retry.RetryableErrorCode{Codes: retry.DefaultThrottleErrorCodes}}
	})
}

// answerLost reports whether err leaves unknown what SES did with the call:
// it never answered (the connection failed once the request could have
// left, or the deadline passed while it was out).
func answerLost(ctx context.Context, err error) bool {
	var send *smithyhttp.RequestSendError
	return err != nil && (errors.As(err, &send) || ctx.Err() != nil ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled))
}

func (s *Sender) configurationSet() *string {
	if s.ConfigurationSet == "" {
		return nil
	}
	return aws.String(s.ConfigurationSet)
}

// delivery classifies one entry's result. SES does not retry entries, and
// the SDK cannot: throttled entries come back for the caller to resend.
func delivery(r types.BulkEmailEntryResult) notice.Delivery {
	d := notice.Delivery{MessageID: aws.ToString(r.MessageId), Reason: string(r.Status)}
	switch r.Status {
	case types.BulkEmailStatusSuccess:
		d.Result, d.Reason = notice.Accepted, ""
	case types.BulkEmailStatusAccountThrottled, types.BulkEmailStatusTransientFailure:
		d.Result = notice.Throttled
	case types.BulkEmailStatusAccountDailyQuotaExceeded, types.BulkEmailStatusAccountSuspended,
		types.BulkEmailStatusAccountSendingPaused, types.BulkEmailStatusConfigurationSetSendingPaused,
		types.BulkEmailStatusMailFromDomainNotVerified, types.BulkEmailStatusTemplateNotFound,
		types.BulkEmailStatusConfigurationSetNotFound, types.BulkEmailStatusInvalidSendingPoolName:
		d.Result = notice.Halted
	default: // MESSAGE_REJECTED, INVALID_PARAMETER, FAILED: this recipient
		d.Result = notice.Rejected
	}
	return d
}

// whole turns a failed call into per-recipient results where the error
// says what to do with all of them, or returns it.
func whole(err error, n int) ([]notice.Delivery, error) {
	var rejected *types.MessageRejected
	result := notice.Delivery{}
	switch kind := refusal(err); {
	case kind == ErrThrottled:
		result.Result, result.Reason = notice.Throttled, "throttled"
	case kind == ErrHalted:
		result.Result, result.Reason = notice.Halted, "account cannot send"
	case errors.As(err, &rejected) && n == 1:
		result.Result, result.Reason = notice.Rejected, "MESSAGE_REJECTED"
	default:
		return nil, fmt.Errorf("mail.SendNotice: %w", err)
	}
	ds := make([]notice.Delivery, n)
	for i := range ds {
		ds[i] = result
	}
	return ds, nil
}
