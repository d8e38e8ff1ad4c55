// Command privacy serves privacy requests (policy section 11): the request
// form, the verification button, the status page and an access request's
// export.
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
	"github.com/smartprotect/pledge/shared/export"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/page"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/secrets"
	"github.com/smartprotect/pledge/shared/store"
	"github.com/smartprotect/pledge/shared/web"
)

func main() {
	ctx, log, env := context.Background(), slog.New(slog.NewJSONHandler(os.Stdout, nil)), config.FromOS()
	awsCfg := config.AWS(env)
	fetch := secrets.FromSecretsManager(awsCfg)
	company, st := config.Company(env), store.New(config.DynamoDB(awsCfg), config.Table(env))
	from, base, limits, timing := config.Sender(env), config.BaseURL(env), config.Limits(env), config.PrivacyRequests(env)
	mailEvents := config.MailConfigurationSet(env) // every mail's events, tagged with its person
	systems := config.Downstream(env)              // the systems every request is announced to
	keys, pepper := config.TokenKeys(ctx, env, fetch), config.AddressPepper(ctx, env, fetch)
	retention := config.Retention(env) // the export states the periods the functions run with
	retention.NoticeRecords = config.NoticeRecordsKept(env)
	config.Must(log, env.Err())
	site, err := page.NewSite(company.Name, company.PostalAddress, company.Contact)
	config.Must(log, err)
	sender, err := mail.NewSender(config.SESv2(awsCfg), from, company.Name, company.PostalAddress, company.Contact)
	config.Must(log, err)
	sender.ConfigurationSet = mailEvents
	keyed := people.KeyedID(pepper)
	timing.Systems = systems.Systems
	bus := downstream.Bus{Name: systems.Bus, API: eventbridge.NewFromConfig(awsCfg, func(o *eventbridge.Options) { o.BaseEndpoint = config.Endpoint("EVENTBRIDGE") })}
	h := &handler{requests: st, people: st, mail: sender, systems: bus, keys: keys, keyed: keyed, timing: timing, base: base, site: site,
		limits: &people.Limiter{Counters: st, Limits: limits, Keyed: keyed, Now: time.Now},
		export: accessExport{now: time.Now, Exporter: export.Exporter{Store: st, Facts: export.Facts{
			Controller: export.Controller{Name: company.Name, PostalAddress: company.PostalAddress}, Retention: retention}}},
		correct: st, correctMail: sender, now: time.Now, newID: people.RandomID, log: log}
	lambda.Start(web.ServeHead(h.handle))
}
