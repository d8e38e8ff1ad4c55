// Command requests serves the IAM-authorised admin routes of privacy
// requests: list them by status, read one, and what staff do with them
// (enter one made by mail or phone, complete, refuse, extend, record a
// downstream system's answer).
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/downstream"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/secrets"
	"github.com/smartprotect/pledge/shared/store"
)

func main() {
	ctx, log, env := context.Background(), slog.New(slog.NewJSONHandler(os.Stdout, nil)), config.FromOS()
	awsCfg := config.AWS(env)
	st, company, timing := store.New(config.DynamoDB(awsCfg), config.Table(env)), config.Company(env), config.PrivacyRequests(env)
	from, mailEvents, systems := config.Sender(env), config.MailConfigurationSet(env), config.Downstream(env)
	pepper := config.AddressPepper(ctx, env, secrets.FromSecretsManager(awsCfg))
	config.Must(log, env.Err())
	sender, err := mail.NewSender(config.SESv2(awsCfg), from, company.Name, company.PostalAddress, company.Contact)
	config.Must(log, err)
	sender.ConfigurationSet = mailEvents
	timing.Systems = systems.Systems
	bus := downstream.Bus{Name: systems.Bus, API: eventbridge.NewFromConfig(awsCfg, func(o *eventbridge.Options) { o.BaseEndpoint = config.Endpoint("EVENTBRIDGE") })}
	h := &handler{store: st, now: time.Now, log: log, staff: &desk{store: st, mail: sender, bus: bus, timing: timing,
		keyed: people.KeyedID(pepper), now: time.Now, newID: people.RandomID, log: log}}
	lambda.Start(h.handle)
}
