package mail

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// AccountAPI is the part of the SES v2 client that reads the account's
// sending limits.
type AccountAPI interface {
	GetAccount(context.Context, *sesv2.GetAccountInput, ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error)
}

// Account reads the SES account's sending limits, which every bulk sender
// paces itself by (see Pacer).
type Account struct{ ses AccountAPI }

// NewAccount reads limits through ses.
func NewAccount(ses AccountAPI) Account { return Account{ses: ses} }

// MaxSendRate reads the account's max send rate (messages per second); 0
// when sending is disabled.
func (a Account) MaxSendRate(ctx context.Context) (float64, error) {
	out, err := a.ses.GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil {
		return 0, sesFailure("GetAccount", err)
	}
	if !out.SendingEnabled || out.SendQuota == nil {
		return 0, nil
	}
	return out.SendQuota.MaxSendRate, nil
}

// The refusals a send can end in that say what to do next; a send's error
// wraps one of them (errors.Is) when SES answered so, after the SDK's own
// retries.
var (
	// ErrThrottled: SES refused the call for the account's rate; send
	// again after a backoff (Pacer.Throttled).
	ErrThrottled = errors.New("mail: SES throttled the send")
	// ErrHalted: the account cannot send now (sending paused or suspended,
	// the MAIL FROM domain not verified): stop the run.
	ErrHalted = errors.New("mail: the SES account cannot send now")
)

// refusal classifies an SES call's error as ErrThrottled, ErrHalted, or
// neither (nil).
func refusal(err error) error {
	var (
		tooMany   *types.TooManyRequestsException
		limit     *types.LimitExceededException
		paused    *types.SendingPausedException
		suspended *types.AccountSuspendedException
		notVer    *types.MailFromDomainNotVerifiedException
	)
	switch {
	case errors.As(err, &tooMany), errors.As(err, &limit):
		return ErrThrottled
	case errors.As(err, &paused), errors.As(err, &suspended), errors.As(err, &notVer):
		return ErrHalted
	}
	return nil
}

// sesError is an SES call's error as pledge reports it: the call and SES's
// error code, never SES's text, which can list addresses (MessageRejected's
// does: "...failed the check in region ...: jo@example.com"). errors.Is and
// errors.As still reach SES's own error and what the send was refused as.
type sesError struct {
	call, code string
	err        error
}

func (e *sesError) Error() string { return "mail: SES " + e.call + ": " + e.code }
func (e *sesError) Unwrap() error { return e.err }

// sesFailure wraps the error of an SES call (SendEmail, SendBulkEmail,
// GetAccount) so that its text is the call and the code alone, and
// errors.Is finds ErrThrottled or ErrHalted when SES refused the call so.
func sesFailure(call string, err error) error {
	if refused := refusal(err); refused != nil {
		err = &refusedError{refused, err}
	}
	return &sesError{call: call, code: ErrorCode(err), err: err}
}

// refusedError is SES's error classified as one of the refusals.
type refusedError struct{ refusal, err error }

func (e *refusedError) Error() string   { return e.refusal.Error() }
func (e *refusedError) Unwrap() []error { return []error{e.refusal, e.err} }

// ErrorCode is what a log may say of a mail error: SES's error code (the
// SDK's text can carry an address), ErrThrottled's or ErrHalted's word, or
// "error" for anything else.
func ErrorCode(err error) string {
	var api interface{ ErrorCode() string }
	switch {
	case errors.As(err, &api):
		return api.ErrorCode()
	case errors.Is(err, ErrThrottled):
		return "throttled"
	case errors.Is(err, ErrHalted):
		return "halted"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "context ended"
	}
	return "error"
}
