// Command privacyclock moves privacy requests along on a schedule: expiry
// of unverified requests, deletions after their cool-off, reminders and
// overdue notices (EventBridge events) and the overdue metric.
package main

import (
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/downstream"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/store"
)

func main() {
	log, env := slog.New(slog.NewJSONHandler(os.Stdout, nil)), config.FromOS()
	awsCfg := config.AWS(env)
	st, retention, company := store.New(config.DynamoDB(awsCfg), config.Table(env)), config.Retention(env), config.Company(env)
	from, mailEvents, override := config.Sender(env), config.MailConfigurationSet(env), config.ClockOverride(env)
	systems := config.Downstream(env)
	config.Must(log, env.Err())
	sender, err := mail.NewSender(config.SESv2(awsCfg), from, company.Name, company.PostalAddress, company.Contact)
	config.Must(log, err)
	sender.ConfigurationSet = mailEvents
	events := eventbridge.NewFromConfig(awsCfg, func(o *eventbridge.Options) { o.BaseEndpoint = config.Endpoint("EVENTBRIDGE") })
	h := &handler{requests: st, moves: st, mail: sender, events: bus{events}, downstream: downstream.Bus{API: events, Name: systems.Bus}, retention: retention, now: time.Now,
		allowOverride: override, log: log, metrics: emf(os.Stdout, lambdacontext.FunctionName)}
	lambda.Start(h.handle)
}
