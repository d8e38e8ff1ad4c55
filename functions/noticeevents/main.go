// Command noticeevents records SES's send events for policy notices: each
// marks one recipient's record sent, so a notices run killed after SES
// accepted its call does not send those notices a second time.
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
