// Command confirm serves the double opt-in link: a page with one button, and
// the POST that activates the purposes the link names.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/link"
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
	keys, pepper := config.TokenKeys(ctx, env, fetch), config.AddressPepper(ctx, env, fetch)
	policyURL, unsubscribeTTL := config.PolicyPage(env), config.UnsubscribeTTL(env)
	config.Must(log, env.Err())
	site, err := page.NewSite(company.Name, company.PostalAddress, company.Contact)
	config.Must(log, err)
	site.PolicyURL = policyURL
	svc := &people.Service{Store: st, NewID: people.RandomID, Now: time.Now, PersonID: people.KeyedID(pepper), Retention: retention}
	// The confirmed page links to the person's preferences: a link like the
	// one in every mail, on the page's own domain.
	prefs := link.Minter{Keys: keys, PreferencesTTL: unsubscribeTTL}
	h := &handler{svc: svc, people: st, keys: keys, prefs: prefs, site: site, now: time.Now, log: log}
	lambda.Start(web.ServeHead(h.handle))
}
