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

// clockOf reads a clock back from its due-index sort key.
func clockOf(dueSK string) people.Clock {
	parts := strings.SplitN(dueSK, "#", 3)
	if len(parts) != 3 {
		return people.Clock{}
	}
	return people.Clock{Rule: people.Rule(parts[1]), Due: parseStamp(parts[0])}
}

const (
	suppressedSK = "SUPPRESSED"
	sweepPK      = "SWEEP"
	cursorSK     = "CURSOR"
	statsPK      = "STATS"
)

// entryKey is an entry's handle as the sweep carries it back to Purge: the
// item's key and the clock it was filed under, opaque to package retention.
func entryKey(pk, sk, dueSK string) string { return pk + "\x00" + sk + "\x00" + dueSK }

func parseEntryKey(k string) (pk, sk, dueSK string, err error) {
	parts := strings.SplitN(k, "\x00", 3)
	if len(parts) != 3 {
		return "", "", "", errors.New("malformed due entry key")
	}
	return parts[0], parts[1], parts[2], nil
}

// DueEntries returns one page of the due index for day, after cursor (an
// entry key, "" for the first page), and the next page's cursor ("" after
// the last).
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
		pk, sk, dueSK, err := parseEntryKey(cursor)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = key(pk, sk)
		in.ExclusiveStartKey["duePK"] = &types.AttributeValueMemberS{Value: "DUE#" + day}
		in.ExclusiveStartKey["dueSK"] = &types.AttributeValueMemberS{Value: dueSK}
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
		c := clockOf(it.DueSK)
		kind := kindOf(it.PK, it.SK, c.Rule)
		if kind == 0 {
			continue // not ours to act on
		}
		e := retention.Entry{Key: entryKey(it.PK, it.SK, it.DueSK), Kind: kind, Day: day, Rule: c.Rule, Due: c.Due}
		if strings.HasPrefix(it.PK, "P#") {
			e.PersonID = it.PK[len("P#"):]
		}
		entries = append(entries, e)
	}
	if len(out.LastEvaluatedKey) > 0 && len(items) > 0 {
		last := items[len(items)-1]
		next = entryKey(last.PK, last.SK, last.DueSK)
	}
	return entries, next, nil
}

// kindOf says what kind of item a due entry is (0: none the sweep knows).
func kindOf(pk, sk string, rule people.Rule) retention.Kind {
	switch {
	case strings.HasPrefix(pk, "P#") && sk == profileSK:
		return retention.Person
	case sk == suppressedSK && rule == people.RuleLedgerProof:
		return retention.ErasedLedger
	case strings.HasPrefix(sk, "C#") && rule == people.RuleLedgerProof:
		return retention.Withdrawal
	case pk == policyPK && rule == people.RuleNoticeRecords:
		return retention.NoticeRecords
	}
	return 0
}

// Purge deletes what a non-person entry's clock ended, if that clock still
// runs as filed: an erased person's ledger (the marker stays), a
// withdrawal's entry with the earlier entries of the purposes endedBy says
// it ended, or an old policy version's per-recipient notice records. It
// decides nothing: which entries a withdrawal ended is the domain's answer.
func (s *Store) Purge(ctx context.Context, e retention.Entry, endedBy func(people.Purpose) []people.Purpose) (retention.Outcome, error) {
	pk, sk, dueSK, err := parseEntryKey(e.Key)
	if err != nil {
		return 0, err
	}
	switch e.Kind {
	case retention.ErasedLedger:
		return s.purgeLedger(ctx, pk, dueSK)
	case retention.Withdrawal:
		return s.purgeWithdrawn(ctx, pk, sk, dueSK, endedBy)
	case retention.NoticeRecords:
		return s.purgeNoticeRecords(ctx, pk, sk, dueSK)
	}
	return retention.Moved, nil // a kind this store does not purge: leave it
}

// sameClock is the condition that an item's clock still runs as filed.
func sameClock(dueSK string) expression.ConditionBuilder {
	return expression.And(
		expression.Name("duePK").Equal(expression.Value("DUE#"+clockOf(dueSK).Due.UTC().Format("2006-01-02"))),
		expression.Name("dueSK").Equal(expression.Value(dueSK)))
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
func (s *Store) purgeLedger(ctx context.Context, pk, dueSK string) (out retention.Outcome, err error) {
	defer wrap(&err, "store.purgeLedger(%s)", pk)
	got, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(pk, suppressedSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, err
	}
	var marker suppressionItem
	if got.Item == nil || attributevalue.UnmarshalMap(got.Item, &marker) != nil || marker.DueSK != dueSK {
		return retention.Moved, nil
	}
	erased := expression.Key("pk").Equal(expression.Value(pk)).
		And(expression.Key("sk").Between(expression.Value("C#"), expression.Value("C#"+marker.ErasedAt+"#~")))
	if err := s.deleteMatching(ctx, erased, nil); err != nil {
		return 0, err
	}
	return s.stopClock(ctx, pk, suppressedSK, dueSK)
}

// stopClock takes an item out of the due index once its clock's work is
// done, if the clock still runs as filed.
func (s *Store) stopClock(ctx context.Context, pk, sk, dueSK string) (retention.Outcome, error) {
	stop, err := expression.NewBuilder().WithCondition(sameClock(dueSK)).
		WithUpdate(expression.Remove(expression.Name("duePK")).Remove(expression.Name("dueSK"))).Build()
	if err != nil {
		return 0, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(pk, sk), UpdateExpression: stop.Update(),
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
func (s *Store) purgeWithdrawn(ctx context.Context, pk, sk, dueSK string, endedBy func(people.Purpose) []people.Purpose) (out retention.Outcome, err error) {
	defer wrap(&err, "store.purgeWithdrawn(%s)", pk)
	got, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, err
	}
	var w consentItem
	if got.Item == nil || attributevalue.UnmarshalMap(got.Item, &w) != nil || w.DueSK != dueSK {
		return retention.Moved, nil // gone with the person's own proof period already
	}
	ended := map[string]bool{}
	for _, p := range endedBy(people.Purpose(w.Purpose)) {
		ended[string(p)] = true
	}
	upToWithdrawal := expression.Key("pk").Equal(expression.Value(pk)).
		And(expression.Key("sk").Between(expression.Value("C#"), expression.Value(sk)))
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
func (s *Store) purgeNoticeRecords(ctx context.Context, pk, sk, dueSK string) (out retention.Outcome, err error) {
	version := strings.TrimPrefix(sk, "V#")
	defer wrap(&err, "store.purgeNoticeRecords(%s)", version)
	if err := s.deleteMatching(ctx, expression.Key("pk").Equal(expression.Value(noticePK(version))), nil); err != nil {
		return 0, err
	}
	return s.stopClock(ctx, pk, sk, dueSK)
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
		p.Clock = im.Clock
		av, err := attributevalue.MarshalMap(newPersonItem(p, 1))
		if err != nil {
			return err
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
