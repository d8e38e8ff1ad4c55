// Command mailevents reads the events SES publishes for every mail pledge
// sends (through its one configuration set, over EventBridge) and maps each
// back to its person by the mail's tags. A notice's send event marks the
// recipient's record sent, so a notices run killed after SES accepted its
// call, or that lost SES's answer, does not send it a second time; bounces,
// complaints and deliveries go through the deliverability rules of
// people.Feedbacks. Each event is also counted in a daily mail metric,
// written as an embedded-metric-format line on standard output (emf).
package main

import (
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

func main() {
	log, env := slog.New(slog.NewJSONHandler(os.Stdout, nil)), config.FromOS()
	st := store.New(config.DynamoDB(config.AWS(env)), config.Table(env))
	feedback := &people.Feedbacks{Store: st, Rule: config.Bounces(env), Retention: config.Retention(env), NewID: people.RandomID, Now: time.Now}
	config.Must(log, env.Err())
	h := &handler{store: st, feedback: feedback, counts: emf(os.Stdout, lambdacontext.FunctionName), now: time.Now, log: log}
	lambda.Start(h.invoke)
}
