// Command retention applies the retention rules to what is due, daily.
package main

import (
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/retention"
	"github.com/smartprotect/pledge/shared/store"
)

func main() {
	log, env := slog.New(slog.NewJSONHandler(os.Stdout, nil)), config.FromOS()
	st, periods, settings := store.New(config.DynamoDB(config.AWS(env)), config.Table(env)), config.Retention(env), config.Sweep(env)
	config.Must(log, env.Err())
	sweep := &retention.Sweep{Store: st, Retention: periods, Log: log, Epoch: settings.Epoch, Margin: 30 * time.Second}
	h := &handler{sweep: sweep, now: time.Now, log: log, allowOverride: settings.AllowClockOverride, dryRunDefault: settings.DryRun}
	lambda.Start(h.handle)
}
