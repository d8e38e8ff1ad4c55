// Command notices tells every recipient of a material policy version about
// it, once, at the SES account's pace, resuming where the last run stopped.
package main

import (
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

func main() {
	log, env := slog.New(slog.NewJSONHandler(os.Stdout, nil)), config.FromOS()
	awsCfg := config.AWS(env)
	company, from, settings := config.Company(env), config.Sender(env), config.NoticeSending(env)
	st := store.New(config.DynamoDB(awsCfg), config.Table(env))
	mailEvents := config.MailConfigurationSet(env) // every mail's events, tagged with its person
	config.Must(log, env.Err())
	ses := config.SESv2(awsCfg)
	sender, err := mail.NewSender(ses, from, company.Name, company.PostalAddress, company.Contact)
	config.Must(log, err)
	notices := mail.NewNoticeSender(ses, sender)
	sender.ConfigurationSet = mailEvents
	h := &handler{fanout: &notice.Fanout{
		Store: st, Mail: notices,
		MaxRate: settings.MaxRate, Lease: settings.Lease, SettleGrace: settings.SettleGrace, CatchUpEvery: settings.CatchUpEvery,
		// Pages of 5,000 recipients (about 0.5 MB; the store reads on where
		// DynamoDB's 1 MB stops a page): few large reads cost the same read
		// units as many small ones, and each is read while the page before
		// it is sent (100 s at 50/s).
		Margin: 10 * time.Second, PageSize: 5000, ClaimConcurrency: 8,
		Pace:     func(rate float64, maxBatch int) notice.Pacer { return mail.NewPacer(rate, maxBatch, mail.WallClock{}) },
		NewRunID: people.RandomID, Now: time.Now, Log: log,
	}, log: log}
	lambda.Start(h.handle)
}
