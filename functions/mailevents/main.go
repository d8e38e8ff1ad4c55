// Command mailevents reads the events SES publishes for every mail pledge
// sends (through its one configuration set, over EventBridge) and maps each
// back to its person by the mail's tags. Today a notice's send event marks
// the recipient's record sent, so a notices run killed after SES accepted
// its call, or that lost SES's answer, does not send it a second time.
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
	h := &handler{store: st, counts: st, now: time.Now, log: log}
	lambda.Start(h.handle)
}
