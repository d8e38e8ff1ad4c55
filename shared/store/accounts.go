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

var _ people.AccountStore = (*Store)(nil)

// SetAccount records an account event on the person and moves their
// retention clock, in one conditional write: on the version read, or, for a
// person the event creates (p.Version 0), on there being nobody yet. A
// person with an account, open or closed, is a recipient of policy notices
// while pledge holds their address.
func (s *Store) SetAccount(ctx context.Context, p people.Person, ch people.AccountChange) (err error) {
	defer wrap(&err, "store.SetAccount(%s)", p.ID)
	pk := personPK(p.ID)
	upd := expression.
		Set(expression.Name("account"), expression.Value(string(ch.Account.State))).
		Set(expression.Name("accountAt"), expression.Value(stamp(ch.Account.At))).
		Set(expression.Name("updatedAt"), expression.Value(stamp(ch.Now))).
		Set(expression.Name("rcpt"), expression.Value(recipientShard(p.ID))).
		Add(expression.Name("version"), expression.Value(1))
	upd = withClock(upd, ch.Clock, pk)
	cond := expression.Name("version").Equal(expression.Value(p.Version))
	if p.Version == 0 {
		upd = upd.
			Set(expression.Name("email"), expression.Value(ch.Email)).
			Set(expression.Name("name"), expression.Value(ch.Name)).
			Set(expression.Name("createdAt"), expression.Value(stamp(ch.Now)))
		cond = expression.AttributeNotExists(expression.Name("pk"))
	}
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(pk, profileSK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return people.ErrConflict
	}
	return err
}
