// Command policies serves the IAM-authorised admin routes: publish a policy
// version, and show how its notice is progressing.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/store"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	awsCfg, cfg, err := config.FromEnvironment(context.Background())
	config.Must(log, err)
	fns := awslambda.NewFromConfig(awsCfg, func(o *awslambda.Options) { o.BaseEndpoint = config.Endpoint("LAMBDA") })
	h := &handler{
		store: store.New(config.DynamoDB(awsCfg), cfg.TableName), kicker: lambdaKicker{fns, cfg.NoticesFunction},
		minNotice: cfg.NoticeMinimum, recordsKept: cfg.Retention.NoticeRecords, now: time.Now, log: log,
	}
	lambda.Start(h.handle)
}
