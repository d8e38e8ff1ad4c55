package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/people"
)

// mailStatSK is a daily mail counter's sort key under the STATS partition:
// "<yyyy-mm-dd>#mail#<metric>", the day in UTC.
func mailStatSK(day time.Time, m mail.Metric) string {
	return day.UTC().Format("2006-01-02") + "#mail#" + string(m)
}

// CountMail adds one to the daily counter of metric m for day (UTC): one
// UpdateItem, ADD count 1 on STATS / "<yyyy-mm-dd>#mail#<metric>", which
// makes the item on a day's first event. The item holds pk, sk and count
// only: no address, no person key. The counter is as exact as its caller's
// calls: a call repeated counts twice. The mail-events function calls it
// once per event that ARRIVES, so the counters are at least once: an event
// SES over EventBridge delivers twice counts twice (see its countDaily). Errors: people.ErrBusy when DynamoDB
// throttled the write past the SDK's retries, or a wrapped fault.
func (s *Store) CountMail(ctx context.Context, day time.Time, m mail.Metric) (err error) {
	defer wrap(&err, "store.CountMail(%s)", mailStatSK(day, m))
	expr, err := expression.NewBuilder().WithUpdate(expression.Add(expression.Name("count"), expression.Value(1))).Build()
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(statsPK, mailStatSK(day, m)),
		UpdateExpression: expr.Update(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	if retryable(err) {
		return people.ErrBusy
	}
	return err
}

// MailCounts reads the daily mail counters of day (UTC), one consistent
// GetItem per metric: a metric without an item is absent from the map.
// For reports and tests; no function's hot path reads them.
func (s *Store) MailCounts(ctx context.Context, day time.Time) (counts map[mail.Metric]int64, err error) {
	defer wrap(&err, "store.MailCounts(%s)", day.UTC().Format("2006-01-02"))
	counts = map[mail.Metric]int64{}
	for _, m := range mail.Metrics {
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(statsPK, mailStatSK(day, m)),
			ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, err
		}
		if out.Item == nil {
			continue
		}
		var item struct {
			Count int64 `dynamodbav:"count"`
		}
		if err := attributevalue.UnmarshalMap(out.Item, &item); err != nil {
			return nil, err
		}
		counts[m] = item.Count
	}
	return counts, nil
}
