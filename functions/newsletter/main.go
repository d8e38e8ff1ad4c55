// Command newsletter sends a marketing mail to everyone subscribed to a list,
// each with a one-click unsubscribe link of their own, at the SES account's
// max send rate.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/secrets"
	"github.com/smartprotect/pledge/shared/store"
)

func main() {
	ctx, log, env := context.Background(), slog.New(slog.NewJSONHandler(os.Stdout, nil)), config.FromOS()
	awsCfg := config.AWS(env)
	company, from, st := config.Company(env), config.Sender(env), store.New(config.DynamoDB(awsCfg), config.Table(env))
	base, unsubscribeTTL := config.BaseURL(env), config.UnsubscribeTTL(env)
	keys := config.TokenKeys(ctx, env, secrets.FromSecretsManager(awsCfg))
	mailEvents := config.MailConfigurationSet(env) // every mail's events, tagged with its person
	config.Must(log, env.Err())
	ses := config.SESv2(awsCfg)
	sender, err := mail.NewSender(ses, from, company.Name, company.PostalAddress, company.Contact)
	config.Must(log, err)
	sender.ConfigurationSet = mailEvents
	h := &handler{
		store: st, mailer: sender, account: mail.NewAccount(ses), clock: mail.WallClock{},
		keys: keys, base: base, unsubscribeTTL: unsubscribeTTL, log: log,
	}
	lambda.Start(h.handle)
}
