// Command unsubscribe serves the link in every marketing mail: RFC 8058
// one-click unsubscribe and the preferences page.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/smartprotect/pledge/shared/config"
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
	st := store.New(config.DynamoDB(awsCfg), cfg.TableName)
	subs := &people.Subscriptions{Store: st, NewID: people.RandomID, Now: time.Now,
		Pseudonym: people.KeyedID(cfg.AddressPepper), Retention: cfg.Retention}
	h := &handler{subs: subs, people: st, keys: cfg.Keys, site: site, now: time.Now, log: log}
	lambda.Start(h.handle)
}
