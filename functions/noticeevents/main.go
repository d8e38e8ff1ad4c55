// Command noticeevents records SES's send events for policy notices: each
// marks one recipient's record sent, so a notices run killed after SES
// accepted its call does not send those notices a second time.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/store"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	awsCfg, cfg, err := config.FromEnvironment(context.Background())
	config.Must(log, err)
	h := &handler{store: store.New(config.DynamoDB(awsCfg), cfg.TableName), now: time.Now, log: log}
	lambda.Start(h.handle)
}
