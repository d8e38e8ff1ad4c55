// Command retention applies the retention rules to what is due, daily.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/retention"
	"github.com/smartprotect/pledge/shared/store"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	awsCfg, cfg, err := config.FromEnvironment(context.Background())
	config.Must(log, err)
	sweep := &retention.Sweep{
		Store: store.New(config.DynamoDB(awsCfg), cfg.TableName), Retention: cfg.Retention,
		Log: log, Epoch: cfg.SweepEpoch, Margin: 30 * time.Second,
	}
	h := &handler{sweep: sweep, now: time.Now, log: log,
		allowOverride: os.Getenv("CLOCK_OVERRIDE") == "allow", dryRunDefault: os.Getenv("DRY_RUN") == "true"}
	lambda.Start(h.handle)
}
