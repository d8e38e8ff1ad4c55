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
	svc := &people.Service{
		Store: store.New(config.DynamoDB(awsCfg), cfg.TableName),
		NewID: people.RandomID, Now: time.Now, PolicyVersion: cfg.PolicyVersion,
		PersonID: people.KeyedID(cfg.AddressPepper), Retention: cfg.Retention,
	}
	h := &handler{svc: svc, keys: cfg.Keys, site: site, now: time.Now, log: log}
	lambda.Start(h.handle)
}
