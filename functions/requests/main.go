// Command requests serves the IAM-authorised admin routes of privacy
// requests: list them by status, read one.
package main

import (
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/store"
)

func main() {
	log, env := slog.New(slog.NewJSONHandler(os.Stdout, nil)), config.FromOS()
	st := store.New(config.DynamoDB(config.AWS(env)), config.Table(env))
	config.Must(log, env.Err())
	h := &handler{store: st, now: time.Now, log: log}
	lambda.Start(h.handle)
}
