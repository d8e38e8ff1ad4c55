package mailtest

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
)

// RejectedAddress is the address SES names in Rejecting's errors: a test
// looks for it (and for the recipients) in what was logged and returned.
const RejectedAddress = "rejected.person@example.net"

// Rejecting is an SES v2 client that refuses every call as SES does when an
// identity fails verification: MessageRejected, its text listing an
// address, inside the SDK's operation error.
type Rejecting struct{}

func rejected(op string) error {
	return &smithy.OperationError{ServiceID: "SESv2", OperationName: op, Err: &types.MessageRejected{
		Message: aws.String("Email address is not verified. The following identities failed the check in region US-EAST-1: " + RejectedAddress),
	}}
}

// SendEmail refuses.
func (Rejecting) SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	return nil, rejected("SendEmail")
}

// SendBulkEmail refuses.
func (Rejecting) SendBulkEmail(context.Context, *sesv2.SendBulkEmailInput, ...func(*sesv2.Options)) (*sesv2.SendBulkEmailOutput, error) {
	return nil, rejected("SendBulkEmail")
}

// GetAccount answers a sending account at 14 messages per second.
func (Rejecting) GetAccount(context.Context, *sesv2.GetAccountInput, ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error) {
	return &sesv2.GetAccountOutput{SendingEnabled: true, SendQuota: &types.SendQuota{MaxSendRate: 14}}, nil
}
