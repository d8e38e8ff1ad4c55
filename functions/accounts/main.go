// Command accounts serves the IAM-authorised route by which the product
// tells pledge that an account opened or closed, so that the retention
// clocks follow the account (policy section 11).
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
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	awsCfg, cfg, err := config.FromEnvironment(context.Background())
	config.Must(log, err)
	accounts := &people.Accounts{
		Store: store.New(config.DynamoDB(awsCfg), cfg.TableName), PersonID: people.KeyedID(cfg.AddressPepper),
		Now: time.Now, Retention: cfg.Retention, MaxSkew: 5 * time.Minute,
	}
	h := &handler{accounts: accounts, log: log}
	lambda.Start(h.handle)
}
