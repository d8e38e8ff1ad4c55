// Command notices tells every recipient of a material policy version about
// it, once, at the SES account's pace, resuming where the last run stopped.
package main

import (
	"context"
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
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	awsCfg, cfg, err := config.FromEnvironment(context.Background())
	config.Must(log, err)
	ses := config.SESv2(awsCfg)
	sender, err := mail.NewSender(ses, cfg.FromAddress, cfg.CompanyName, cfg.CompanyAddress)
	config.Must(log, err)
	notices := mail.NewNoticeSender(ses, sender)
	notices.ConfigurationSet = cfg.NoticeConfigurationSet
	h := &handler{fanout: &notice.Fanout{
		Store: store.New(config.DynamoDB(awsCfg), cfg.TableName), Mail: notices,
		MaxRate: cfg.NoticeMaxRate, Lease: cfg.NoticeLease, SettleGrace: cfg.NoticeSettleGrace, CatchUpEvery: cfg.NoticeCatchUpEvery,
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
