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
	"github.com/smartprotect/pledge/shared/store"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	awsCfg, cfg, err := config.FromEnvironment(context.Background())
	config.Must(log, err)
	ses := config.SESv2(awsCfg)
	sender, err := mail.NewSender(ses, cfg.FromAddress, cfg.CompanyName, cfg.CompanyAddress)
	config.Must(log, err)
	h := &handler{
		store: store.New(config.DynamoDB(awsCfg), cfg.TableName), mailer: sender, account: mail.NewAccount(ses),
		clock: mail.WallClock{}, keys: cfg.Keys, base: cfg.PublicBaseURL, unsubscribeTTL: cfg.UnsubscribeTTL, log: log,
	}
	lambda.Start(h.handle)
}
