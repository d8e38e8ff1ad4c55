package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
)

var _ notice.Store = (*Store)(nil)

// Policy versions and the sender lease live under one partition; notice
// records under one partition per version.
const (
	policyPK = "POLICY"
	senderSK = "SENDER"
	// recipientIndex is the sparse GSI of people we may send a notice to
	// (confirmed addresses), spread over recipientShards partitions so no
	// single index partition takes every sign-up's write.
	recipientIndex  = "recipients"
	recipientShards = 8
)

func versionSK(v string) string { return "V#" + v }
func noticePK(v string) string  { return "N#" + v }

// recipientShard spreads people over the index partitions by their id,
// which is already a uniform hash.
func recipientShard(personID string) string {
	var h byte
	if personID != "" {
		h = personID[len(personID)-1]
	}
	return "R#" + strconv.Itoa(int(h)%recipientShards)
}

type policyItem struct {
	PK          string  `dynamodbav:"pk"`
	SK          string  `dynamodbav:"sk"`
	Version     string  `dynamodbav:"version"`
	Effective   string  `dynamodbav:"effective"`
	Material    bool    `dynamodbav:"material"`
	Summary     string  `dynamodbav:"summary"`
	URL         string  `dynamodbav:"url"`
	PublishedAt string  `dynamodbav:"publishedAt"`
	PublishedBy string  `dynamodbav:"publishedBy,omitempty"`
	State       string  `dynamodbav:"state"`
	Total       int     `dynamodbav:"total"`
	Sent        int     `dynamodbav:"sent"`
	Failed      int     `dynamodbav:"failed"`
	Undeliv     int     `dynamodbav:"undeliverable,omitempty"`
	StartedAt   string  `dynamodbav:"startedAt,omitempty"`
	FinishedAt  string  `dynamodbav:"finishedAt,omitempty"`
	Rate        float64 `dynamodbav:"rate,omitempty"`
	Cursor      string  `dynamodbav:"cursor,omitempty"`
	Walked      bool    `dynamodbav:"walked,omitempty"`
	CaughtUpAt  string  `dynamodbav:"caughtUpAt,omitempty"`
	CatchCursor string  `dynamodbav:"catchCursor,omitempty"`
	DuePK       string  `dynamodbav:"duePK,omitempty"` // when its notice records go (retention)
	DueSK       string  `dynamodbav:"dueSK,omitempty"`
}

func (it policyItem) version() notice.Version {
	return notice.Version{
		Policy: notice.Policy{Version: it.Version, Effective: parseStamp(it.Effective), Material: it.Material, Summary: it.Summary,
			URL: it.URL, PublishedAt: parseStamp(it.PublishedAt), PublishedBy: it.PublishedBy},
		Progress: notice.Progress{State: notice.State(it.State), Total: it.Total, Sent: it.Sent, Failed: it.Failed, Undeliverable: it.Undeliv,
			StartedAt: parseStamp(it.StartedAt), FinishedAt: parseStamp(it.FinishedAt), Rate: it.Rate, Cursor: it.Cursor, Walked: it.Walked,
			CaughtUpAt: parseStamp(it.CaughtUpAt), CatchCursor: it.CatchCursor},
	}
}

// Publish stores a policy version. Publishing the same version again
// changes nothing (created is false); a different one under the same name
// is a conflict. records is the retention clock of the notice's
// per-recipient records (notice.Policy.RecordsClock; zero: none). Errors:
// a Conflict *people.Error, people.ErrBusy when DynamoDB throttles or fails
// past the SDK's retries (the same publish may be sent again), a fault.
func (s *Store) Publish(ctx context.Context, p notice.Policy, records people.Clock) (v notice.Version, created bool, err error) {
	defer wrap(&err, "store.Publish(%s)", p.Version)
	it := policyItem{PK: policyPK, SK: versionSK(p.Version), Version: p.Version, Effective: stamp(p.Effective), Material: p.Material,
		Summary: p.Summary, URL: p.URL, PublishedAt: stamp(p.PublishedAt), PublishedBy: p.PublishedBy, State: string(p.InitialState())}
	if !records.IsZero() {
		it.DuePK, it.DueSK = dueKeys(records, noticePK(p.Version))
	}
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return notice.Version{}, false, err
	}
	cond, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name("pk"))).Build()
	if err != nil {
		return notice.Version{}, false, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av,
		ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names()})
	if retryable(err) {
		// Throttled past the SDK's retries, or a 500 after which the put
		// may be done: publishing again is safe (the same content is
		// answered as published).
		return notice.Version{}, false, people.ErrBusy
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return it.version(), err == nil, err
	}
	old, err := s.PolicyVersion(ctx, p.Version)
	if err != nil {
		return notice.Version{}, false, err
	}
	if !old.Policy.Same(p) {
		return old, false, people.Errorf(people.Conflict, "version", "version %s is already published with other content; publish a new version instead", p.Version)
	}
	return old, false, nil
}

// PolicyVersion reads one version and its notice progress. Errors: a
// NotFound *people.Error, people.ErrBusy (throttled), a fault.
func (s *Store) PolicyVersion(ctx context.Context, version string) (v notice.Version, err error) {
	defer wrap(&err, "store.PolicyVersion(%s)", version)
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(policyPK, versionSK(version)), ConsistentRead: aws.Bool(true)})
	if retryable(err) {
		return notice.Version{}, people.ErrBusy
	}
	if err != nil {
		return notice.Version{}, err
	}
	if out.Item == nil {
		return notice.Version{}, people.Errorf(people.NotFound, "version", "no policy version %s", version)
	}
	var it policyItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return notice.Version{}, err
	}
	return it.version(), nil
}

// ToNotify lists the material versions whose notices are not done, and
// those done but not in effect at now: a read of the small policy
// partition, never of people.
func (s *Store) ToNotify(ctx context.Context, now time.Time) (vs []notice.Version, err error) {
	defer wrap(&err, "store.ToNotify")
	state := expression.Name("state")
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key("pk").Equal(expression.Value(policyPK)).And(expression.Key("sk").BeginsWith("V#"))).
		WithFilter(expression.Or(
			state.In(expression.Value(string(notice.Pending)), expression.Value(string(notice.Sending))),
			expression.And(state.Equal(expression.Value(string(notice.Done))), expression.Name("effective").GreaterThan(expression.Value(stamp(now)))))).
		Build()
	if err != nil {
		return nil, err
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), ConsistentRead: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		var items []policyItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return nil, err
		}
		for _, it := range items {
			vs = append(vs, it.version())
		}
	}
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].Policy.Effective.Before(vs[j].Policy.Effective) })
	return vs, nil
}

// AcquireSender takes the account-wide sender lease, or renews ours: one run
// sends at a time, so together they never pass the account's send rate.
// Another owner's lease counts as ended only if it ended before free.
func (s *Store) AcquireSender(ctx context.Context, owner string, free, until time.Time) (ok bool, err error) {
	defer wrap(&err, "store.AcquireSender")
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name("owner"), expression.Value(owner)).Set(expression.Name("until"), expression.Value(stamp(until)))).
		WithCondition(expression.Or(
			expression.AttributeNotExists(expression.Name("owner")),
			expression.Name("owner").Equal(expression.Value(owner)),
			expression.Name("until").LessThan(expression.Value(stamp(free))))).
		Build()
	if err != nil {
		return false, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: key(policyPK, senderSK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	return err == nil, err
}

// ReleaseSender gives the lease back, if it is still ours.
func (s *Store) ReleaseSender(ctx context.Context, owner string) (err error) {
	defer wrap(&err, "store.ReleaseSender")
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Remove(expression.Name("owner")).Remove(expression.Name("until"))).
		WithCondition(expression.Name("owner").Equal(expression.Value(owner))).Build()
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: key(policyPK, senderSK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	return err
}

// CountRecipients counts the recipient index, shard by shard (COUNT reads
// the index but returns no items).
func (s *Store) CountRecipients(ctx context.Context) (n int, err error) {
	defer wrap(&err, "store.CountRecipients")
	for shard := range recipientShards {
		expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("rcpt").Equal(expression.Value("R#" + strconv.Itoa(shard)))).Build()
		if err != nil {
			return 0, err
		}
		p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
			TableName: aws.String(s.table), IndexName: aws.String(recipientIndex), Select: types.SelectCount,
			KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return 0, err
			}
			n += int(page.Count)
		}
	}
	return n, nil
}

// StartNotice moves a pending version to sending, with its total.
func (s *Store) StartNotice(ctx context.Context, version string, total int, now time.Time) (err error) {
	defer wrap(&err, "store.StartNotice(%s)", version)
	return s.updatePolicy(ctx, version, expression.
		Set(expression.Name("state"), expression.Value(string(notice.Sending))).
		Set(expression.Name("total"), expression.Value(total)).
		Set(expression.Name("startedAt"), expression.IfNotExists(expression.Name("startedAt"), expression.Value(stamp(now)))),
		expression.Name("state").Equal(expression.Value(string(notice.Pending))))
}

// Checkpoint counts a batch and moves the cursor past it, in one write. A
// done version still counts the retries of its catch-up passes.
func (s *Store) Checkpoint(ctx context.Context, version, cursor string, sent, failed, undeliverable int, rate float64) (err error) {
	defer wrap(&err, "store.Checkpoint(%s)", version)
	return s.updatePolicy(ctx, version, expression.
		Set(expression.Name("cursor"), expression.Value(cursor)).
		Set(expression.Name("rate"), expression.Value(rate)).
		Add(expression.Name("sent"), expression.Value(sent)).
		Add(expression.Name("failed"), expression.Value(failed)).
		Add(expression.Name("undeliverable"), expression.Value(undeliverable)),
		sendingOrDone())
}

func sendingOrDone() expression.ConditionBuilder {
	return expression.Name("state").In(expression.Value(string(notice.Sending)), expression.Value(string(notice.Done)))
}

// CatchUp counts a catch-up batch, adding its recipients to the total, and
// moves the pass's cursor past it.
func (s *Store) CatchUp(ctx context.Context, version, cursor string, added, sent, failed, undeliverable int) (err error) {
	defer wrap(&err, "store.CatchUp(%s)", version)
	return s.updatePolicy(ctx, version, expression.
		Set(expression.Name("catchCursor"), expression.Value(cursor)).
		Add(expression.Name("total"), expression.Value(added)).
		Add(expression.Name("sent"), expression.Value(sent)).
		Add(expression.Name("failed"), expression.Value(failed)).
		Add(expression.Name("undeliverable"), expression.Value(undeliverable)),
		sendingOrDone())
}

// CaughtUp records that a catch-up pass finished at.
func (s *Store) CaughtUp(ctx context.Context, version string, at time.Time) (err error) {
	defer wrap(&err, "store.CaughtUp(%s)", version)
	return s.updatePolicy(ctx, version, expression.
		Set(expression.Name("caughtUpAt"), expression.Value(stamp(at))).
		Remove(expression.Name("catchCursor")),
		sendingOrDone())
}

// Walked records that every recipient of version has been tried once.
func (s *Store) Walked(ctx context.Context, version string) (err error) {
	defer wrap(&err, "store.Walked(%s)", version)
	return s.updatePolicy(ctx, version, expression.Set(expression.Name("walked"), expression.Value(true)),
		expression.Name("state").Equal(expression.Value(string(notice.Sending))))
}

// Finish marks a version's notice done.
func (s *Store) Finish(ctx context.Context, version string, now time.Time) (err error) {
	defer wrap(&err, "store.Finish(%s)", version)
	return s.updatePolicy(ctx, version, expression.
		Set(expression.Name("state"), expression.Value(string(notice.Done))).
		Set(expression.Name("finishedAt"), expression.Value(stamp(now))),
		expression.Name("state").Equal(expression.Value(string(notice.Sending))))
}

func (s *Store) updatePolicy(ctx context.Context, version string, upd expression.UpdateBuilder, cond expression.ConditionBuilder) error {
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: key(policyPK, versionSK(version)),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return people.ErrConflict
	}
	return err
}

// recipientItem is a profile as the recipient index projects it.
type recipientItem struct {
	PK    string `dynamodbav:"pk"`
	Shard string `dynamodbav:"rcpt"`
	Email string `dynamodbav:"email"`
}

// Recipients reads the recipient index after cursor ("<shard>|<pk>"), shard
// after shard, up to limit recipients.
func (s *Store) Recipients(ctx context.Context, cursor string, limit int) (rs []notice.Recipient, more bool, err error) {
	defer wrap(&err, "store.Recipients")
	shard, after := 0, ""
	if cursor != "" {
		n, pk, ok := strings.Cut(cursor, "|")
		if shard, err = strconv.Atoi(n); !ok || err != nil || shard < 0 || shard >= recipientShards {
			return nil, false, fmt.Errorf("bad cursor %q", cursor)
		}
		after = pk
	}
	for shard < recipientShards && len(rs) < limit {
		rcpt := "R#" + strconv.Itoa(shard)
		expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("rcpt").Equal(expression.Value(rcpt))).Build()
		if err != nil {
			return nil, false, err
		}
		in := &dynamodb.QueryInput{
			TableName: aws.String(s.table), IndexName: aws.String(recipientIndex), Limit: aws.Int32(int32(limit - len(rs))),
			KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		}
		if after != "" {
			in.ExclusiveStartKey = key(after, profileSK)
			in.ExclusiveStartKey["rcpt"] = &types.AttributeValueMemberS{Value: rcpt}
		}
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, false, err
		}
		var items []recipientItem
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
			return nil, false, err
		}
		for _, it := range items {
			rs = append(rs, notice.Recipient{ID: it.PK[len("P#"):], Email: it.Email, Key: strconv.Itoa(shard) + "|" + it.PK})
			after = it.PK
		}
		if len(out.LastEvaluatedKey) == 0 {
			shard, after = shard+1, ""
		}
	}
	if err := s.readReach(ctx, rs); err != nil {
		return nil, false, err
	}
	return rs, shard < recipientShards, nil
}

// readReach sets each recipient's Reach and Name from their profile, 100
// to a BatchGetItem (eventually consistent, projecting the key, reach and
// name): the index does not project them, and a GSI's projection cannot
// change in place. It costs half a read unit per recipient, beside the two writes of
// each notice's record; a profile gone since the index was read keeps a
// zero Reach (the send finds nobody, as before).
func (s *Store) readReach(ctx context.Context, rs []notice.Recipient) error {
	proj, err := expression.NewBuilder().WithProjection(expression.NamesList(expression.Name("pk"), expression.Name("reach"), expression.Name("name"))).Build()
	if err != nil {
		return err
	}
	at := make(map[string]int, len(rs))
	for i, rc := range rs {
		at[personPK(rc.ID)] = i
	}
	for start := 0; start < len(rs); start += 100 {
		keys := make([]map[string]types.AttributeValue, 0, 100)
		for _, rc := range rs[start:min(start+100, len(rs))] {
			keys = append(keys, key(personPK(rc.ID), profileSK))
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ProjectionExpression: proj.Projection(), ExpressionAttributeNames: proj.Names()}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 0 {
				if err := pause(ctx, attempt); err != nil {
					return err
				}
			}
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return err
			}
			var items []struct {
				PK    string     `dynamodbav:"pk"`
				Reach *reachItem `dynamodbav:"reach"`
				Name  string     `dynamodbav:"name"`
			}
			if err := attributevalue.UnmarshalListOfMaps(out.Responses[s.table], &items); err != nil {
				return err
			}
			for _, it := range items {
				if i, ok := at[it.PK]; ok {
					rs[i].Reach = it.Reach.deliverability()
					rs[i].Name = it.Name
				}
			}
			req = out.UnprocessedKeys
		}
	}
	return nil
}

// noticeItem is the record of one person's notice of one version. It holds
// no address: the records outlive erasures (policy section 6 proof), the
// address does not.
type noticeItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	State     string `dynamodbav:"state"` // sending, sent, failed, released
	Run       string `dynamodbav:"run"`
	Until     string `dynamodbav:"until,omitempty"` // the claiming run's lease
	At        string `dynamodbav:"at"`
	Attempts  int    `dynamodbav:"attempts,omitempty"`
	MessageID string `dynamodbav:"messageId,omitempty"`
	Reason    string `dynamodbav:"reason,omitempty"`
	// Retry puts a record whose send is to be tried again on the recipient
	// index, under the version's own key: the retry pass reads only those.
	Retry string `dynamodbav:"rcpt,omitempty"`
	// Counted: the person is counted in the version's undeliverable total
	// (notice.Recipient.Counted), kept while a catch-up run claims them.
	Counted bool `dynamodbav:"u,omitempty"`
}

func retryKey(version string) string { return "F#" + version }

const (
	noticeSending  = string(notice.RecordSending)
	noticeSent     = string(notice.RecordSent)
	noticeFailed   = string(notice.RecordFailed)
	noticeReleased = string(notice.RecordReleased)
	noticeUndeliv  = string(notice.RecordUndeliverable)
)

// Untold reads the records of rs for version, 100 to a request, and
// returns those with none, a released one, a claim whose run's lease
// ended before now, or an undeliverable one whose recipient's Reach lets
// mail through at now (those and lapsed claims of them with Counted set).
// Sent records are told; failed ones are the retry pass's; a live claim
// is another run's.
func (s *Store) Untold(ctx context.Context, version string, rs []notice.Recipient, now time.Time) (untold []notice.Recipient, err error) {
	defer wrap(&err, "store.Untold(%s, %d)", version, len(rs))
	proj, err := expression.NewBuilder().WithProjection(expression.NamesList(
		expression.Name("sk"), expression.Name("state"), expression.Name("until"), expression.Name("u"))).Build()
	if err != nil {
		return nil, err
	}
	held := map[string]noticeItem{}
	for start := 0; start < len(rs); start += 100 {
		keys := make([]map[string]types.AttributeValue, 0, 100)
		for _, rc := range rs[start:min(start+100, len(rs))] {
			keys = append(keys, key(noticePK(version), personPK(rc.ID)))
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true),
			ProjectionExpression: proj.Projection(), ExpressionAttributeNames: proj.Names()}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 0 {
				if err := pause(ctx, attempt); err != nil {
					return nil, err
				}
			}
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, err
			}
			var items []noticeItem
			if err := attributevalue.UnmarshalListOfMaps(out.Responses[s.table], &items); err != nil {
				return nil, err
			}
			for _, it := range items {
				held[it.SK] = it
			}
			req = out.UnprocessedKeys
		}
	}
	for _, rc := range rs {
		it, ok := held[personPK(rc.ID)]
		switch {
		case !ok, it.State == noticeReleased, it.State == noticeSending && it.Until < stamp(now):
		case it.State == noticeUndeliv && rc.Reach.Reachable(now):
		default:
			continue
		}
		rc.Counted = it.Counted
		untold = append(untold, rc)
	}
	return untold, nil
}

// Claim writes the person's record for version before the send. The write
// is conditional: nobody holds it, or what holds it failed, was given back,
// was not sent as undeliverable, or belongs to a run whose lease has
// passed (it was killed mid-batch).
func (s *Store) Claim(ctx context.Context, version string, rc notice.Recipient, run string, leaseUntil, now time.Time) (res notice.ClaimResult, err error) {
	personID := rc.ID
	defer wrap(&err, "store.Claim(%s, %s)", version, personID)
	it := noticeItem{PK: noticePK(version), SK: personPK(personID), State: noticeSending, Run: run,
		Until: stamp(leaseUntil), At: stamp(now), Attempts: rc.Attempts, Counted: rc.Counted}
	if rc.Attempts > 0 {
		it.Retry = retryKey(version) // a retry cut off here is still found by the next retry pass
	}
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return 0, err
	}
	state := expression.Name("state")
	cond, err := expression.NewBuilder().WithCondition(expression.Or(
		expression.AttributeNotExists(expression.Name("pk")),
		state.In(expression.Value(noticeFailed), expression.Value(noticeReleased), expression.Value(noticeUndeliv)),
		expression.And(state.Equal(expression.Value(noticeSending)), expression.Name("until").LessThan(expression.Value(stamp(now)))),
	)).Build()
	if err != nil {
		return 0, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av, ConditionExpression: cond.Condition(),
		ExpressionAttributeNames: cond.Names(), ExpressionAttributeValues: cond.Values()})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return notice.Claimed, err
	}
	// Only after a run was cut off: see what holds the record.
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(noticePK(version), personPK(personID)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, err
	}
	var held noticeItem
	if err := attributevalue.UnmarshalMap(out.Item, &held); err != nil {
		return 0, err
	}
	if held.State == noticeSent {
		return notice.AlreadySent, nil
	}
	return notice.HeldByOther, nil
}

// Settle records what became of claimed recipients. A sent outcome may
// overwrite any record (notice.MaySettle), so those go 25 to a
// BatchWriteItem; the others (released, failed) are written one by one,
// settleConcurrency at a time, each on the condition that the record is not
// sent: a record SES's send event already marked sent stays sent (a run
// that lost SES's answer, or the race with the event, must not hand it out
// again), and such an outcome is skipped, not an error.
func (s *Store) Settle(ctx context.Context, version, run string, outcomes []notice.Outcome, now time.Time) (err error) {
	defer wrap(&err, "store.Settle(%s, %d)", version, len(outcomes))
	var batch []types.WriteRequest
	type conditional struct {
		item map[string]types.AttributeValue
		to   notice.RecordState
	}
	var guarded []conditional
	for _, o := range outcomes {
		it := noticeItem{PK: noticePK(version), SK: personPK(o.PersonID), State: string(o.State()), Run: run, At: stamp(now), Attempts: o.Attempts}
		switch o.State() {
		case notice.RecordSent:
			it.MessageID = o.MessageID
		case notice.RecordFailed:
			it.Reason = o.Reason
			if !o.GiveUp {
				it.Retry = retryKey(version)
			}
		case notice.RecordUndeliverable:
			it.Counted = true // counted apart; off the retry list
		default:
			if o.Attempts > 0 { // a retry given back unsent stays a retry
				it.Retry = retryKey(version)
			}
		}
		av, err := attributevalue.MarshalMap(it)
		if err != nil {
			return err
		}
		if notice.SettleNeedsCondition(o.State()) {
			guarded = append(guarded, conditional{av, o.State()})
		} else {
			batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
		}
	}
	for start := 0; start < len(batch); start += 25 {
		if err := s.batchWrite(ctx, batch[start:min(start+25, len(batch))]); err != nil {
			return err
		}
	}
	errs := make([]error, len(guarded))
	sem := make(chan struct{}, settleConcurrency)
	var wg sync.WaitGroup
	for i, g := range guarded {
		var may []expression.OperandBuilder
		for _, st := range notice.SettleableStates(g.to) {
			may = append(may, expression.Value(string(st)))
		}
		cond := expression.AttributeNotExists(expression.Name("pk"))
		if len(may) > 0 {
			cond = cond.Or(expression.Name("state").In(may[0], may[1:]...))
		}
		built, err := expression.NewBuilder().WithCondition(cond).Build()
		if err != nil {
			return err
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: g.item, ConditionExpression: built.Condition(),
				ExpressionAttributeNames: built.Names(), ExpressionAttributeValues: built.Values()})
			var ccf *types.ConditionalCheckFailedException
			if !errors.As(err, &ccf) {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// settleConcurrency is how many released or failed records Settle writes
// at once: a batch of 50 given back settles in two round trips' time.
const settleConcurrency = 25

// MarkSent records SES's send event for a notice: the record becomes sent
// (and leaves the retry list) whatever run claimed it, so a run that was
// killed after SES accepted its call is not sent again. An event for a
// record that does not exist, or is already sent, changes nothing.
func (s *Store) MarkSent(ctx context.Context, sent notice.Sent, now time.Time) (changed bool, err error) {
	defer wrap(&err, "store.MarkSent(%s, %s)", sent.Version, sent.PersonID)
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name("state"), expression.Value(noticeSent)).
			Set(expression.Name("messageId"), expression.Value(sent.MessageID)).
			Set(expression.Name("at"), expression.Value(stamp(now))).
			Remove(expression.Name("rcpt")).Remove(expression.Name("until"))).
		WithCondition(expression.AttributeExists(expression.Name("pk")).
			And(expression.Name("state").NotEqual(expression.Value(noticeSent)))).
		Build()
	if err != nil {
		return false, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: key(noticePK(sent.Version), personPK(sent.PersonID)),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	return err == nil, err
}

// FailedRecipients reads up to limit records of version that are to be
// retried from the recipient index, and each person's address from their
// profile: the record keeps none.
func (s *Store) FailedRecipients(ctx context.Context, version string, limit int) (rs []notice.Recipient, err error) {
	defer wrap(&err, "store.FailedRecipients(%s)", version)
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("rcpt").Equal(expression.Value(retryKey(version)))).Build()
	if err != nil {
		return nil, err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(recipientIndex), Limit: aws.Int32(int32(limit)),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	if err != nil {
		return nil, err
	}
	for _, av := range out.Items {
		// The index projects keys and email only: read the record itself.
		got, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(noticePK(version), avString(av["sk"])), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, err
		}
		var it noticeItem
		if err := attributevalue.UnmarshalMap(got.Item, &it); err != nil {
			return nil, err
		}
		if it.Retry == "" {
			continue // settled since the index was written
		}
		id := strings.TrimPrefix(it.SK, "P#")
		p, err := s.Person(ctx, id)
		if err != nil && !errors.Is(err, people.ErrNotFound) {
			return nil, err
		}
		rs = append(rs, notice.Recipient{ID: id, Email: p.Email, Name: p.Name, Attempts: it.Attempts, LastAttempt: parseStamp(it.At), Reach: p.Deliverability})
	}
	return rs, nil
}

func avString(av types.AttributeValue) string {
	if s, ok := av.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// NoticeRecords counts a version's records by state, for tests and audits:
// it reads the whole version partition.
func (s *Store) NoticeRecords(ctx context.Context, version string) (counts map[string]int, err error) {
	defer wrap(&err, "store.NoticeRecords(%s)", version)
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("pk").Equal(expression.Value(noticePK(version)))).Build()
	if err != nil {
		return nil, err
	}
	counts = map[string]int{}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		var items []noticeItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return nil, err
		}
		for _, it := range items {
			counts[it.State]++
		}
	}
	return counts, nil
}
