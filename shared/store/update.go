package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/smartprotect/pledge/shared/people"
)

// Retry is how UpdatePerson retries a change that lost a race or was
// throttled: up to Attempts rounds of read-decide-write, waiting a random
// time up to Base·2^round (at most Cap) between them ("full jitter", so
// that writers who collided do not collide again in step).
type Retry struct {
	Attempts  int
	Base, Cap time.Duration
}

// DefaultRetry waits about 4 s at most in all (half that on average), and
// never past the invocation's deadline less retryMargin: a person under 200
// concurrent requests, a fifth of them answered as DynamoDB answers under
// contention, still sees every one written (make bench -only races).
var DefaultRetry = Retry{Attempts: 12, Base: 10 * time.Millisecond, Cap: time.Second}

// retryMargin is the time a pause leaves before ctx's deadline for the read
// and write that follow it and the answer, so that a change that cannot be
// made in time is a clean ErrBusy rather than a timeout.
const retryMargin = time.Second

// errLostRace is a write whose condition on what was read failed, or that
// a concurrent transaction cancelled: read again and decide again.
var errLostRace = errors.New("store: the person changed since it was read")

// UpdatePerson is the one way a person changes (see people.Store): a
// consistent read, decide, one conditional write — a PutItem of the profile,
// or one TransactWriteItems when ledger entries, list memberships or an
// erasure go with it — and on a lost race or throttling the same again,
// after a jittered pause, up to s.retry.Attempts times. Past that, or when
// ctx's deadline leaves no time for the pause and a last round, it answers
// people.ErrBusy and has written nothing.
func (s *Store) UpdatePerson(ctx context.Context, personID string, decide people.Decide) (ch people.Change, err error) {
	defer wrap(&err, "store.UpdatePerson(%s)", personID)
	// The SDK's own retries sleep too: the calls get a deadline that leaves
	// retryMargin to answer busy rather than be cut off by the invocation's.
	calls, cancel := withMargin(ctx)
	defer cancel()
	for round := range s.retry.Attempts {
		if round > 0 {
			if !s.pauseBeforeRetry(ctx, round) {
				break
			}
		}
		p, moving, err := s.readPerson(calls, personID)
		switch {
		case err == nil && moving != "":
			// The person is moving to the key of a corrected address
			// (move.go): no change until it is done.
			return people.Change{}, people.ErrBusy
		case errors.Is(err, people.ErrNotFound):
			p = people.Person{ID: personID}
		case retryable(err):
			continue
		case err != nil && calls.Err() != nil && ctx.Err() == nil:
			return people.Change{}, people.ErrBusy
		case err != nil:
			return people.Change{}, err
		}
		ch, err := decide(p)
		if err != nil || ch.IsZero() {
			return people.Change{}, err
		}
		err = s.write(calls, p, ch)
		switch {
		case errors.Is(err, errLostRace) || retryable(err):
			continue
		case err != nil && calls.Err() != nil && ctx.Err() == nil:
			return people.Change{}, people.ErrBusy
		case err != nil:
			return people.Change{}, err
		}
		return ch, nil
	}
	return people.Change{}, people.ErrBusy
}

// withMargin is ctx with its deadline, if it has one, brought retryMargin
// earlier.
func withMargin(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, deadline.Add(-retryMargin))
	}
	return context.WithCancel(ctx)
}

// pauseBeforeRetry waits before round, and reports false when ctx ends
// first or its deadline would come within retryMargin of the wait's end.
func (s *Store) pauseBeforeRetry(ctx context.Context, round int) bool {
	ceiling := min(s.retry.Cap, s.retry.Base<<min(round, 20))
	d := time.Duration(rand.Int64N(int64(ceiling) + 1))
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d+retryMargin {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// retryable reports whether err is DynamoDB saying "not now" in a way the
// SDK's own retries did not get past: throttling, a transaction that another
// one touching the same items cancelled, or a fault on DynamoDB's side (a
// 500, after which the write may or may not have been done: the next round
// reads which, and decides on that).
func retryable(err error) bool {
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		for _, r := range tc.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded":
				return true
			}
		}
		return false
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
			"TransactionInProgressException", "TransactionConflictException", "InternalServerError", "ServiceUnavailable":
			return true
		}
	}
	var status interface{ HTTPStatusCode() int }
	return errors.As(err, &status) && status.HTTPStatusCode() >= 500
}

// write persists ch on the condition that the person is still as read
// (same version, or still nobody).
func (s *Store) write(ctx context.Context, read people.Person, ch people.Change) error {
	if ch.Erase != nil {
		return s.erase(ctx, read, *ch.Erase)
	}
	if ch.After == nil {
		return errors.New("store: a change must write the profile or erase it")
	}
	cond := expression.Name("version").Equal(expression.Value(read.Version))
	if !read.Exists() {
		// Nobody, or a forward pointer a move left (move.go): a new person
		// under that key (the old address signing up again) replaces it.
		cond = expression.AttributeNotExists(expression.Name("pk")).Or(expression.AttributeExists(expression.Name("movedTo")))
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return err
	}
	profile, err := attributevalue.MarshalMap(newPersonItem(*ch.After, read.Version+1))
	if err != nil {
		return err
	}
	put := &types.Put{
		TableName: aws.String(s.table), Item: profile, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}
	if len(ch.Events) == 0 && len(ch.Joined) == 0 && len(ch.Left) == 0 {
		// The profile alone: a PutItem costs half a transaction's capacity.
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: put.TableName, Item: put.Item, ConditionExpression: put.ConditionExpression,
			ExpressionAttributeNames: put.ExpressionAttributeNames, ExpressionAttributeValues: put.ExpressionAttributeValues,
		})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return errLostRace
		}
		return err
	}
	items := []types.TransactWriteItem{{Put: put}}
	for _, q := range ch.Joined {
		av, err := attributevalue.MarshalMap(memberItem{PK: listPK(q), SK: personPK(read.ID), Since: ch.After.UpdatedAt.UTC().Format(stampLayout)})
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: av}})
	}
	items = append(items, s.leave(read.ID, ch.Left)...)
	events, err := s.appendOnly(ch.Events)
	if err != nil {
		return err
	}
	return s.transact(ctx, append(items, events...))
}

// transact writes items in one transaction; a failed condition on the
// first (the person's profile) is a lost race.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) error {
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if conditionFailedAt(err, 0) {
		return errLostRace
	}
	return err
}

// erase deletes the person's profile and list memberships, keeps a
// suppression marker (keyed by the keyed hash of the address, nothing else)
// whose clock ends the ledger's proof period, and counts the erasure in the
// month's aggregates, all in one transaction, if the person is still as read.
func (s *Store) erase(ctx context.Context, read people.Person, e people.Erasure) error {
	pk := personPK(read.ID)
	cond, err := expression.NewBuilder().WithCondition(expression.Name("version").Equal(expression.Value(read.Version))).Build()
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Delete: &types.Delete{
		TableName: aws.String(s.table), Key: key(pk, profileSK),
		ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names(), ExpressionAttributeValues: cond.Values(),
	}}}
	items = append(items, s.leave(read.ID, people.Purposes)...)
	forwards, err := s.forwardsTo(ctx, read)
	if err != nil {
		return err
	}
	items = append(items, forwards...)
	marker := suppressionItem{PK: pk, SK: suppressedSK, ErasedAt: stamp(e.At)}
	if !e.ProofClock.IsZero() {
		marker.DuePK, marker.DueSK = dueKeys(e.ProofClock, pk)
	}
	av, err := attributevalue.MarshalMap(marker)
	if err != nil {
		return err
	}
	items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: av}})
	count, err := expression.NewBuilder().WithUpdate(expression.Add(expression.Name("count"), expression.Value(1))).Build()
	if err != nil {
		return err
	}
	items = append(items, types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.table), Key: key(statsPK, e.At.UTC().Format("2006-01")+"#erased#"+string(e.Rule)),
		UpdateExpression: count.Update(), ExpressionAttributeNames: count.Names(), ExpressionAttributeValues: count.Values(),
	}})
	err = s.transact(ctx, items)
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		for _, r := range tc.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return errLostRace // a forward pointer replaced meanwhile
			}
		}
	}
	return err
}

// forwardsTo are the deletes of the forward pointers the person read left
// in the keys they moved from (move.go), each on the condition that it
// still points to them (or to a key they moved from since): a key a new person has taken since (the old
// address signed up again) is theirs and stays. One consistent read per
// key moved from; none for a person who never moved.
func (s *Store) forwardsTo(ctx context.Context, read people.Person) ([]types.TransactWriteItem, error) {
	var items []types.TransactWriteItem
	for _, from := range read.MovedFrom {
		it, _, err := s.profileItem(ctx, from)
		if err != nil {
			return nil, err
		}
		// A pointer to a key the person later moved from too (a second
		// correction) is theirs as well.
		if it == nil || it.MovedTo != read.ID && (it.MovedTo == "" || !slices.Contains(read.MovedFrom, it.MovedTo)) {
			continue
		}
		cond, err := expression.NewBuilder().WithCondition(expression.Name("movedTo").Equal(expression.Value(it.MovedTo))).Build()
		if err != nil {
			return nil, err
		}
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(personPK(from), profileSK),
			ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names(), ExpressionAttributeValues: cond.Values()}})
	}
	return items, nil
}

var _ people.UnreadStore = (*Store)(nil)

// UpdateUnread writes u in one transaction — the profile updated in place,
// the lists left, the ledger entries put — on the condition that the
// person is as u.Assumed (people.Assumption.Holds, stated as DynamoDB
// conditions). It reports false, having written nothing, when they are not,
// or when the write lost a race or was throttled: the caller then reads and
// decides, with UpdatePerson's retries.
func (s *Store) UpdateUnread(ctx context.Context, personID string, u people.Unread) (written bool, err error) {
	defer wrap(&err, "store.UpdateUnread(%s)", personID)
	expr, err := expression.NewBuilder().WithCondition(assumed(u.Assumed)).WithUpdate(unreadUpdate(personID, u)).Build()
	if err != nil {
		return false, err
	}
	items := []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(s.table), Key: key(personPK(personID), profileSK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}}
	items = append(items, s.leave(personID, u.Left)...)
	events, err := s.appendOnly(u.Events)
	if err != nil {
		return false, err
	}
	err = s.transact(ctx, append(items, events...))
	if errors.Is(err, errLostRace) || retryable(err) {
		return false, nil
	}
	return err == nil, err
}

// assumed states a as a condition on the profile item.
func assumed(a people.Assumption) expression.ConditionBuilder {
	active, pending := expression.Name("active"), expression.Name("pending")
	var anyOf []expression.ConditionBuilder
	for _, q := range a.AnyOf {
		anyOf = append(anyOf, expression.Contains(active, string(q)), expression.Contains(pending, string(q)))
	}
	// A forward pointer (move.go) has no status and fails the condition:
	// the caller's read follows it (people.FollowMoves).
	cond := expression.And(expression.AttributeExists(expression.Name("pk")), expression.AttributeNotExists(expression.Name(movingAttr)),
		expression.Name("updatedAt").LessThan(expression.Value(stamp(a.WrittenBefore))), or(anyOf))
	for _, q := range a.NoneActive {
		cond = expression.And(cond, expression.Not(expression.Contains(active, string(q))))
	}
	var statuses []expression.ConditionBuilder
	for _, st := range a.Status {
		statuses = append(statuses, expression.Name("status").Equal(expression.Value(string(st))))
	}
	cond = expression.And(cond, or(statuses))
	if a.NoAccount {
		cond = expression.And(cond, expression.AttributeNotExists(expression.Name("account")))
	}
	if a.NoLinks {
		cond = expression.And(cond, expression.AttributeNotExists(expression.Name("links")))
	}
	return cond
}

// or is the disjunction of cs (which must not be empty).
func or(cs []expression.ConditionBuilder) expression.ConditionBuilder {
	if len(cs) == 1 {
		return cs[0]
	}
	return expression.Or(cs[0], cs[1], cs[2:]...)
}

// unreadUpdate is u as an update of the profile in place.
func unreadUpdate(personID string, u people.Unread) expression.UpdateBuilder {
	removed := make([]string, len(u.Remove))
	for i, q := range u.Remove {
		removed[i] = string(q)
	}
	set := &types.AttributeValueMemberSS{Value: removed}
	upd := expression.
		Delete(expression.Name("active"), expression.Value(set)).
		Delete(expression.Name("pending"), expression.Value(set)).
		Set(expression.Name("status"), expression.Value(string(u.Status))).
		Set(expression.Name("updatedAt"), expression.Value(stamp(u.At))).
		Add(expression.Name("version"), expression.Value(1))
	if u.Clock.IsZero() {
		upd = upd.Remove(expression.Name("duePK")).Remove(expression.Name("dueSK"))
	} else {
		duePK, dueSK := dueKeys(u.Clock, personPK(personID))
		upd = upd.Set(expression.Name("duePK"), expression.Value(duePK)).Set(expression.Name("dueSK"), expression.Value(dueSK))
	}
	if u.Recipient {
		upd = upd.Set(expression.Name("rcpt"), expression.Value(recipientShard(personID)))
	}
	return upd
}
