// Command signup serves the sign-up form and records sign-ups with
// per-purpose consent, sending the double opt-in mail.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
	"github.com/smartprotect/pledge/shared/web"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	awsCfg, cfg, err := config.FromEnvironment(context.Background())
	config.Must(log, err)
	site, err := web.NewSite(cfg.CompanyName, cfg.CompanyAddress)
	config.Must(log, err)
	sender, err := mail.NewSender(config.SESv2(awsCfg), cfg.FromAddress, cfg.CompanyName, cfg.CompanyAddress)
	config.Must(log, err)
	h := &handler{site: site, cfg: cfg, log: log, svc: people.Service{
		Store: store.New(config.DynamoDB(awsCfg), cfg.TableName), Mailer: sender,
		PersonID: people.KeyedID(cfg.AddressPepper), NewID: people.RandomID, Now: time.Now,
		ResendInterval: cfg.ResendInterval, PolicyVersion: cfg.PolicyVersion, Retention: cfg.Retention,
	}}
	lambda.Start(h.handle)
}
