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
	company, policy, links := config.Company(env), config.Policy(env), config.ConfirmLinks(env)
	st := store.New(config.DynamoDB(awsCfg), config.Table(env))
	from, base, retention, limits := config.Sender(env), config.BaseURL(env), config.Retention(env), config.Limits(env)
	keys, pepper := config.TokenKeys(ctx, env, fetch), config.AddressPepper(ctx, env, fetch)
	mailEvents := config.MailConfigurationSet(env) // every mail's events, tagged with its person
	config.Must(log, env.Err())
	site, err := page.NewSite(company.Name, company.PostalAddress, company.Contact)
	config.Must(log, err)
	site.PolicyURL = policy.URL
	sender, err := mail.NewSender(config.SESv2(awsCfg), from, company.Name, company.PostalAddress, company.Contact)
	config.Must(log, err)
	sender.ConfigurationSet = mailEvents
	keyed := people.KeyedID(pepper)
	h := &handler{site: site, policy: policy, keys: keys, base: base, log: log, svc: people.Service{
		Store: st, Mailer: sender, PersonID: keyed, NewID: people.RandomID, Now: time.Now, LinkTTL: links.TTL,
		ResendInterval: links.ResendInterval, PolicyVersion: policy.Version, Retention: retention,
		Limiter: &people.Limiter{Counters: st, Limits: limits, Keyed: keyed, Now: time.Now},
	}}
	lambda.Start(web.ServeHead(h.handle))
}
