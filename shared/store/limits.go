package store

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/shared/people"
)

var _ people.Counters = (*Store)(nil)

// A limit counter is the item LIMIT#<kind>#<key> / <window start>, with
// the count in "n" and the window's end in "ttl" (epoch seconds), after
// which DynamoDB deletes it. Its key is a keyed hash (see people.Limiter).
// It holds nothing else.

func limitPK(c people.Counter) string { return "LIMIT#" + c.Kind + "#" + c.Key }

func limitSK(c people.Counter) string { return c.Window.UTC().Format("2006-01-02T15:04:05Z") }

// Take counts one more in c unless it already holds c.Max: one UpdateItem,
// ADD n 1 on the condition that n is below c.Max, which sets the TTL when
// it creates the counter. A counter that is full answers false after that
// one request, and is not changed. Errors: people.ErrBusy when DynamoDB
// throttled the write past the SDK's retries, or a wrapped fault.
func (s *Store) Take(ctx context.Context, c people.Counter) (taken bool, err error) {
	defer wrap(&err, "store.Take(%s %s)", c.Kind, limitSK(c))
	n := expression.Name("n")
	update := expression.Add(n, expression.Value(1)).
		Set(expression.Name("ttl"), expression.IfNotExists(expression.Name("ttl"), expression.Value(c.Expires.Unix())))
	cond := expression.Or(expression.AttributeNotExists(n), n.LessThan(expression.Value(c.Max)))
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return false, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(limitPK(c), limitSK(c)),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var full *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &full):
		return false, nil
	case retryable(err):
		return false, people.ErrBusy
	case err != nil:
		return false, err
	}
	return true, nil
}

// GiveBack uncounts one that Take counted in c: one UpdateItem, ADD n -1 on
// the condition that n is above 0, so that a counter that DynamoDB's TTL
// already deleted is not made again. Errors: as Take's.
func (s *Store) GiveBack(ctx context.Context, c people.Counter) (err error) {
	defer wrap(&err, "store.GiveBack(%s %s)", c.Kind, limitSK(c))
	n := expression.Name("n")
	expr, err := expression.NewBuilder().WithUpdate(expression.Add(n, expression.Value(-1))).
		WithCondition(n.GreaterThan(expression.Value(0))).Build()
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(limitPK(c), limitSK(c)),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var gone *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &gone):
		return nil
	case retryable(err):
		return people.ErrBusy
	}
	return err
}
