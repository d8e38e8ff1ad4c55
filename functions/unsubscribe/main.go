// Command unsubscribe serves the link in every marketing mail: RFC 8058
// one-click unsubscribe and the preferences page, whose grants it mails a
// confirm link for, and fresh links to it by mail.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/link"
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
	company, st, retention := config.Company(env), store.New(config.DynamoDB(awsCfg), config.Table(env)), config.Retention(env)
	from, base, links, unsubscribeTTL := config.Sender(env), config.BaseURL(env), config.ConfirmLinks(env), config.UnsubscribeTTL(env)
	limits, mailEvents, policyURL := config.Limits(env), config.MailConfigurationSet(env), config.PolicyPage(env)
	keys, pepper := config.TokenKeys(ctx, env, fetch), config.AddressPepper(ctx, env, fetch)
	config.Must(log, env.Err())
	site, err := page.NewSite(company.Name, company.PostalAddress, company.Contact)
	config.Must(log, err)
	site.PolicyURL = policyURL
	sender, err := mail.NewSender(config.SESv2(awsCfg), from, company.Name, company.PostalAddress, company.Contact)
	config.Must(log, err)
	sender.ConfigurationSet = mailEvents // every mail's events, tagged with its person
	keyed := people.KeyedID(pepper)
	proto := people.Subscriptions{Store: st, Mailer: sender, NewID: people.RandomID, Now: time.Now, PersonID: keyed,
		Pseudonym: keyed, Retention: retention, LinkTTL: links.TTL, ResendInterval: links.ResendInterval,
		Limits: &people.Limiter{Counters: st, Limits: limits, Keyed: keyed, Now: time.Now}}
	subs := func(base string) subscriptions {
		s := proto
		s.Links = link.Minter{Keys: keys, Base: base, PreferencesTTL: unsubscribeTTL}
		return &s
	}
	h := &handler{subs: subs, base: base, people: st, keys: keys, site: site, now: time.Now, log: log}
	lambda.Start(web.ServeHead(h.handle))
}
