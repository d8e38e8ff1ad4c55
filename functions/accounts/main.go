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
	"github.com/smartprotect/pledge/shared/secrets"
	"github.com/smartprotect/pledge/shared/store"
)

func main() {
	ctx, log, env := context.Background(), slog.New(slog.NewJSONHandler(os.Stdout, nil)), config.FromOS()
	awsCfg := config.AWS(env)
	st, retention := store.New(config.DynamoDB(awsCfg), config.Table(env)), config.Retention(env)
	pepper := config.AddressPepper(ctx, env, secrets.FromSecretsManager(awsCfg))
	config.Must(log, env.Err())
	accounts := &people.Accounts{Store: st, PersonID: people.KeyedID(pepper), Now: time.Now, Retention: retention, MaxSkew: 5 * time.Minute}
	h := &handler{accounts: accounts, log: log}
	lambda.Start(h.handle)
}
