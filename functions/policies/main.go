// Command policies serves the IAM-authorised admin routes: publish a policy
// version, and show how its notice is progressing.
package main

import (
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/store"
)

func main() {
	log, env := slog.New(slog.NewJSONHandler(os.Stdout, nil)), config.FromOS()
	awsCfg := config.AWS(env)
	st, publishing, recordsKept := store.New(config.DynamoDB(awsCfg), config.Table(env)), config.Publishing(env), config.NoticeRecordsKept(env)
	config.Must(log, env.Err())
	fns := awslambda.NewFromConfig(awsCfg, func(o *awslambda.Options) { o.BaseEndpoint = config.Endpoint("LAMBDA") })
	h := &handler{store: st, kicker: lambdaKicker{fns, publishing.NoticesFunction},
		minNotice: publishing.Minimum, recordsKept: recordsKept, now: time.Now, log: log}
	lambda.Start(h.handle)
}
