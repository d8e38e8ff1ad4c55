package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/retention"
)

var _ retention.Store = (*Store)(nil)

// dueIndex is the sparse GSI of items with a retention clock: duePK is
// "DUE#<yyyy-mm-dd>", dueSK "<due stamp>#<rule>#<pk>".
const dueIndex = "due"

func dueKeys(c people.Clock, pk string) (string, string) {
	return "DUE#" + c.Due.UTC().Format("2006-01-02"), stamp(c.Due) + "#" + string(c.Rule) + "#" + pk
}

// withClock files the item under c's due day, or takes it out of the due
// index when no clock runs (a person whose account is open).
func withClock(upd expression.UpdateBuilder, c people.Clock, pk string) expression.UpdateBuilder {
	if c.IsZero() {
		return upd.Remove(expression.Name("duePK")).Remove(expression.Name("dueSK"))
	}
	duePK, dueSK := dueKeys(c, pk)
	return upd.Set(expression.Name("duePK"), expression.Value(duePK)).Set(expression.Name("dueSK"), expression.Value(dueSK))
}

const (
	suppressedSK = "SUPPRESSED"
	sweepPK      = "SWEEP"
	cursorSK     = "CURSOR"
	statsPK      = "STATS"
)

// DueEntries returns one page of the due index for day.
func (s *Store) DueEntries(ctx context.Context, day, cursor string) (entries []retention.Entry, next string, err error) {
	defer wrap(&err, "store.DueEntries(%s)", day)
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("duePK").Equal(expression.Value("DUE#" + day))).Build()
	if err != nil {
		return nil, "", err
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(dueIndex), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}
	if cursor != "" {
		parts := strings.SplitN(cursor, "\x00", 3) // pk, sk, dueSK: see next below
		if len(parts) != 3 {
			return nil, "", errors.New("malformed page cursor")
		}
		in.ExclusiveStartKey = key(parts[0], parts[1])
		in.ExclusiveStartKey["duePK"] = &types.AttributeValueMemberS{Value: "DUE#" + day}
		in.ExclusiveStartKey["dueSK"] = &types.AttributeValueMemberS{Value: parts[2]}
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", err
	}
	var items []struct {
		PK    string `dynamodbav:"pk"`
		SK    string `dynamodbav:"sk"`
		DueSK string `dynamodbav:"dueSK"`
	}
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return nil, "", err
	}
	for _, it := range items {
		parts := strings.SplitN(it.DueSK, "#", 3)
		if len(parts) != 3 {
			continue // not ours to act on
		}
		entries = append(entries, retention.Entry{PK: it.PK, SK: it.SK, Day: day, Rule: people.Rule(parts[1]), Due: parseStamp(parts[0]), DueSK: it.DueSK})
	}
	if len(out.LastEvaluatedKey) > 0 && len(items) > 0 {
		last := items[len(items)-1]
		next = last.PK + "\x00" + last.SK + "\x00" + last.DueSK
	}
	return entries, next, nil
}

// Erase carries out an entry's rule in one transaction, guarded by the
// entry's clock: a person whose clock moved (they came back) is left alone.
func (s *Store) Erase(ctx context.Context, e retention.Entry, r people.Retention, now time.Time) (retention.Outcome, error) {
	switch {
	case e.SK == profileSK:
		return s.erasePerson(ctx, e, r, now)
	case e.SK == suppressedSK && e.Rule == people.RuleLedgerProof:
		return s.purgeLedger(ctx, e)
	case e.PK == policyPK && e.Rule == people.RuleNoticeRecords:
		return s.purgeNoticeRecords(ctx, e)
	case strings.HasPrefix(e.SK, "C#") && e.Rule == people.RuleLedgerProof:
		return s.purgeWithdrawn(ctx, e)
	}
	return retention.Moved, nil // a kind this sweep does not know: leave it
}

// sameClock is the condition that e's clock still runs as filed.
func sameClock(e retention.Entry) expression.ConditionBuilder {
	return expression.And(
		expression.Name("duePK").Equal(expression.Value("DUE#"+e.Day)),
		expression.Name("dueSK").Equal(expression.Value(e.DueSK)))
}

// erasePerson deletes the profile and list memberships, keeps a suppression
// marker (keyed by the keyed hash of the address, nothing else) that also
// starts the ledger's proof clock, and counts the erasure in the month's
// aggregates, all in one transaction. No read comes first: the condition
// says whether the clock still runs as filed.
func (s *Store) erasePerson(ctx context.Context, e retention.Entry, r people.Retention, now time.Time) (out retention.Outcome, err error) {
	id := e.PersonID()
	defer wrap(&err, "store.Erase(%s)", id)
	cond := expression.And(sameClock(e), stillApplies(e.Rule))
	del, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return 0, err
	}
	items := []types.TransactWriteItem{{Delete: &types.Delete{
		TableName: aws.String(s.table), Key: key(e.PK, profileSK),
		ConditionExpression: del.Condition(), ExpressionAttributeNames: del.Names(), ExpressionAttributeValues: del.Values(),
	}}}
	items = append(items, s.leave(id, people.Purposes)...)
	proofPK, proofSK := dueKeys(people.Clock{Rule: people.RuleLedgerProof, Due: now.Add(r.LedgerProof)}, e.PK)
	marker, err := attributevalue.MarshalMap(suppressionItem{PK: e.PK, SK: suppressedSK, ErasedAt: stamp(now), DuePK: proofPK, DueSK: proofSK})
	if err != nil {
		return 0, err
	}
	items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: marker}})
	count, err := expression.NewBuilder().WithUpdate(expression.Add(expression.Name("count"), expression.Value(1))).Build()
	if err != nil {
		return 0, err
	}
	items = append(items, types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.table), Key: key(statsPK, now.UTC().Format("2006-01")+"#erased#"+string(e.Rule)),
		UpdateExpression: count.Update(), ExpressionAttributeNames: count.Names(), ExpressionAttributeValues: count.Values(),
	}})
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if conditionFailedAt(err, 0) {
		return s.reclock(ctx, e, r, now)
	}
	if err != nil {
		return 0, err
	}
	return retention.Erased, nil
}

// stillApplies is the condition that a person's rule holds as it is stored.
// Writes that do not read the person first (sign-up, one-click unsubscribe)
// file a clock without knowing all of it: a testimonial consent may outlive
// a one-click unsubscribe, or an account be open. The condition catches
// those, and reclock files the clock that does apply.
func stillApplies(rule people.Rule) expression.ConditionBuilder {
	account := expression.Name("account")
	noAccount := expression.AttributeNotExists(account)
	switch rule {
	case people.RuleUnconfirmed, people.RuleNoPurpose:
		return expression.And(noAccount, expression.AttributeNotExists(expression.Name("active")))
	case people.RuleClosedAccount:
		return account.Equal(expression.Value(string(people.AccountClosed)))
	}
	return expression.Or(noAccount, account.NotEqual(expression.Value(string(people.AccountOpen))))
}

// reclock decides about a person whose erasure condition failed: if the
// clock moved, nothing is left to do; if it still runs as filed but the rule
// no longer applies (see stillApplies), the clock restarts under the rule
// that does apply, or stops while an account is open.
func (s *Store) reclock(ctx context.Context, e retention.Entry, r people.Retention, now time.Time) (retention.Outcome, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(e.PK, profileSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, err
	}
	var it personItem
	if out.Item == nil || attributevalue.UnmarshalMap(out.Item, &it) != nil || it.DueSK != e.DueSK {
		return retention.Moved, nil
	}
	p := it.person()
	upd := withClock(expression.UpdateBuilder{}, r.PersonClock(p.Status, p.Active, p.Account, now), e.PK)
	expr, err := expression.NewBuilder().WithCondition(sameClock(e)).WithUpdate(upd).Build()
	if err != nil {
		return 0, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(e.PK, profileSK), UpdateExpression: expr.Update(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return retention.Moved, nil
	}
	if err != nil {
		return 0, err
	}
	return retention.Rescheduled, nil
}

// suppressionItem is all that is left of an erased person.
type suppressionItem struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	ErasedAt string `dynamodbav:"erasedAt"`
	DuePK    string `dynamodbav:"duePK,omitempty"`
	DueSK    string `dynamodbav:"dueSK,omitempty"`
}

// purgeLedger deletes the ledger entries written before the erasure whose
// proof period ended, then stops the marker's clock. The marker stays.
func (s *Store) purgeLedger(ctx context.Context, e retention.Entry) (out retention.Outcome, err error) {
	defer wrap(&err, "store.purgeLedger(%s)", e.PersonID())
	got, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(e.PK, suppressedSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, err
	}
	var marker suppressionItem
	if got.Item == nil || attributevalue.UnmarshalMap(got.Item, &marker) != nil || marker.DueSK != e.DueSK {
		return retention.Moved, nil
	}
	erased := expression.Key("pk").Equal(expression.Value(e.PK)).
		And(expression.Key("sk").Between(expression.Value("C#"), expression.Value("C#"+marker.ErasedAt+"#~")))
	if err := s.deleteMatching(ctx, erased, nil); err != nil {
		return 0, err
	}
	stop, err := expression.NewBuilder().WithCondition(sameClock(e)).
		WithUpdate(expression.Remove(expression.Name("duePK")).Remove(expression.Name("dueSK"))).Build()
	if err != nil {
		return 0, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(e.PK, suppressedSK), UpdateExpression: stop.Update(),
		ConditionExpression: stop.Condition(), ExpressionAttributeNames: stop.Names(), ExpressionAttributeValues: stop.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return retention.Moved, nil
	}
	if err != nil {
		return 0, err
	}
	return retention.Erased, nil
}

// purgeWithdrawn deletes a withdrawal's ledger entry and the earlier
// entries of the consents it ended, once they are no longer needed as
// proof. Entries of other purposes, and of the same purpose given again
// later, stay: they prove consents in force.
func (s *Store) purgeWithdrawn(ctx context.Context, e retention.Entry) (out retention.Outcome, err error) {
	defer wrap(&err, "store.purgeWithdrawn(%s)", e.PersonID())
	got, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(e.PK, e.SK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, err
	}
	var w consentItem
	if got.Item == nil || attributevalue.UnmarshalMap(got.Item, &w) != nil || w.DueSK != e.DueSK {
		return retention.Moved, nil // gone with the person's own proof period already
	}
	ended := map[string]bool{w.Purpose: true}
	if people.Purpose(w.Purpose) == people.AllMarketing {
		for _, p := range people.MarketingPurposes {
			ended[string(p)] = true
		}
	}
	upToWithdrawal := expression.Key("pk").Equal(expression.Value(e.PK)).
		And(expression.Key("sk").Between(expression.Value("C#"), expression.Value(e.SK)))
	err = s.deleteMatching(ctx, upToWithdrawal, func(item map[string]types.AttributeValue) bool { return ended[avString(item["purpose"])] })
	if err != nil {
		return 0, err
	}
	return retention.Erased, nil
}

// purgeNoticeRecords deletes the per-recipient records of an old version's
// notice once they are no longer needed as proof; the version itself, with
// its counts (nothing personal), stays. The deletes are idempotent: a run cut
// off halfway leaves the entry due and the next one finishes.
func (s *Store) purgeNoticeRecords(ctx context.Context, e retention.Entry) (out retention.Outcome, err error) {
	version := strings.TrimPrefix(e.SK, "V#")
	defer wrap(&err, "store.purgeNoticeRecords(%s)", version)
	if err := s.deleteMatching(ctx, expression.Key("pk").Equal(expression.Value(noticePK(version))), nil); err != nil {
		return 0, err
	}
	stop, err := expression.NewBuilder().WithCondition(sameClock(e)).
		WithUpdate(expression.Remove(expression.Name("duePK")).Remove(expression.Name("dueSK"))).Build()
	if err != nil {
		return 0, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(e.PK, e.SK), UpdateExpression: stop.Update(),
		ConditionExpression: stop.Condition(), ExpressionAttributeNames: stop.Names(), ExpressionAttributeValues: stop.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return retention.Moved, nil
	}
	if err != nil {
		return 0, err
	}
	return retention.Erased, nil
}

// deleteMatching deletes the items the key condition finds (those match
// says yes to, when it is given), 25 to a request.
func (s *Store) deleteMatching(ctx context.Context, cond expression.KeyConditionBuilder, match func(map[string]types.AttributeValue) bool) error {
	expr, err := expression.NewBuilder().WithKeyCondition(cond).Build()
	if err != nil {
		return err
	}
	pages := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ProjectionExpression: aws.String("pk, sk, purpose"), // all match may look at
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		var reqs []types.WriteRequest
		for _, it := range page.Items {
			if match == nil || match(it) {
				reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key(avString(it["pk"]), avString(it["sk"]))}})
			}
		}
		for start := 0; start < len(reqs); start += 25 {
			if err := s.batchWrite(ctx, reqs[start:min(start+25, len(reqs))]); err != nil {
				return err
			}
		}
	}
	return nil
}

// batchWrite writes reqs, retrying what DynamoDB leaves unprocessed.
func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for attempt := 0; len(reqs) > 0; attempt++ {
		if attempt > 0 {
			if err := pause(ctx, attempt); err != nil {
				return err
			}
		}
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{s.table: reqs}})
		if err != nil {
			return err
		}
		reqs = out.UnprocessedItems[s.table]
	}
	return nil
}

// pause waits before the attempt-th try of what a batch call left
// unprocessed, longer each time.
func pause(ctx context.Context, attempt int) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(attempt*attempt) * 50 * time.Millisecond):
		return nil
	}
}

// Cursor is the first day not yet swept clean.
func (s *Store) Cursor(ctx context.Context) (day string, err error) {
	defer wrap(&err, "store.Cursor")
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(sweepPK, cursorSK), ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return "", err
	}
	var it struct {
		Day string `dynamodbav:"day"`
	}
	err = attributevalue.UnmarshalMap(out.Item, &it)
	return it.Day, err
}

// SetCursor records the first day not yet swept clean.
func (s *Store) SetCursor(ctx context.Context, day string) (err error) {
	defer wrap(&err, "store.SetCursor")
	item := key(sweepPK, cursorSK)
	item["day"] = &types.AttributeValueMemberS{Value: day}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	return err
}

// runItem is a sweep's summary; it expires after a year.
type runItem struct {
	PK          string         `dynamodbav:"pk"`
	SK          string         `dynamodbav:"sk"`
	Started     string         `dynamodbav:"started"`
	Finished    string         `dynamodbav:"finished"`
	DryRun      bool           `dynamodbav:"dryRun"`
	FirstDay    string         `dynamodbav:"firstDay"`
	LastDay     string         `dynamodbav:"lastDay"`
	Done        bool           `dynamodbav:"done"`
	Due         map[string]int `dynamodbav:"due"`
	Erased      map[string]int `dynamodbav:"erased"`
	Moved       int            `dynamodbav:"moved"`
	Rescheduled int            `dynamodbav:"rescheduled"`
	Failed      int            `dynamodbav:"failed"`
	TTL         time.Time      `dynamodbav:"ttl,unixtime"`
}

// SaveRun records a run's summary.
func (s *Store) SaveRun(ctx context.Context, sum retention.Summary) (err error) {
	defer wrap(&err, "store.SaveRun")
	counts := func(m map[people.Rule]int) map[string]int {
		out := map[string]int{}
		for k, v := range m {
			out[string(k)] = v
		}
		return out
	}
	item, err := attributevalue.MarshalMap(runItem{
		PK: sweepPK, SK: "RUN#" + stamp(sum.Started), Started: stamp(sum.Started), Finished: stamp(sum.Finished),
		DryRun: sum.DryRun, FirstDay: sum.FirstDay, LastDay: sum.LastDay, Done: sum.Done,
		Due: counts(sum.Due), Erased: counts(sum.Erased), Moved: sum.Moved, Rescheduled: sum.Rescheduled, Failed: sum.Failed,
		TTL: sum.Started.AddDate(1, 0, 0),
	})
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	return err
}

// Imported is a person brought in from another system, with the clock the
// retention rules give them.
type Imported struct {
	Person people.Person
	Clock  people.Clock
}

// Import writes people in batches of 25, without ledger entries (there is no
// proof to import) or list memberships: for moving an existing subscriber
// base in, and for benchmarks that need large tables quickly.
func (s *Store) Import(ctx context.Context, in []Imported) (err error) {
	defer wrap(&err, "store.Import(%d)", len(in))
	var reqs []types.WriteRequest
	for i, im := range in {
		p := im.Person
		it := personItem{
			PK: personPK(p.ID), SK: profileSK, Email: p.Email, Name: p.Name, Status: string(p.Status),
			Active: names(p.Active), Pending: names(p.Pending), PolicyVersion: p.PolicyVersion,
			CreatedAt: stamp(p.CreatedAt), UpdatedAt: stamp(p.UpdatedAt), Version: 1,
		}
		if p.Account.State != people.NoAccount {
			it.Account, it.AccountAt = string(p.Account.State), stamp(p.Account.At)
		}
		if !im.Clock.IsZero() {
			it.DuePK, it.DueSK = dueKeys(im.Clock, it.PK)
		}
		av, err := attributevalue.MarshalMap(it)
		if err != nil {
			return err
		}
		if p.Status != people.Unconfirmed || p.Account.State != people.NoAccount {
			av["rcpt"] = &types.AttributeValueMemberS{Value: recipientShard(p.ID)}
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
		if len(reqs) == 25 || i == len(in)-1 {
			if err := s.batchWrite(ctx, reqs); err != nil {
				return err
			}
			reqs = nil
		}
	}
	return nil
}

func names(ps []people.Purpose) []string {
	if len(ps) == 0 {
		return nil // no attribute at all: DynamoDB has no empty sets
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}
