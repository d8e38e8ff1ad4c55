package store

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
)

// Privacy requests in the one table:
//
//	request       R#<request id> / REQUEST         the request (privacy.Request); while open,
//	                                               filed in the due index under RQ#open
//	open marker   R#<person id>  / OPEN#<kind>     names the person's open request of a kind;
//	                                               put with the request, deleted when it closes
//	history entry R#<person id>  / REQ#<received>#<id>  names each request the person made, so
//	                                               their export lists them with one Query
//
// Open requests sit in the sparse "due" index in one partition of their own,
// duePK "RQ#open", sorted by dueSK "<due stamp>#<request id>": listing what
// is open reads what is open, whatever the size of the table, and the
// retention sweep, which reads only DUE#<day> partitions, never sees them.
// A closed request moves to the partition of its month, "RQ#closed#<yyyy-mm>",
// sorted by when it closed, so staff list a month's outcomes the same way.
const (
	historySK       = "REQ#"
	requestSK       = "REQUEST"
	openRequestsPK  = "RQ#open"
	openMarkerSK    = "OPEN#"
	requestAttempts = 5 // rounds of read-decide-write before ErrBusy
)

func requestPK(id string) string { return "R#" + id }

func closedRequestsPK(month string) string { return "RQ#closed#" + month }

// requestItem is a privacy request as stored. It carries the address only
// while the request is open (privacy.Request.Email).
type requestItem struct {
	PK          string          `dynamodbav:"pk"`
	SK          string          `dynamodbav:"sk"`
	Person      string          `dynamodbav:"person"`
	Kind        string          `dynamodbav:"kind"`
	Status      string          `dynamodbav:"status"`
	Email       string          `dynamodbav:"email,omitempty"`
	Channel     string          `dynamodbav:"channel,omitempty"`
	Received    string          `dynamodbav:"received"`
	Due         string          `dynamodbav:"due"`
	Expires     string          `dynamodbav:"expires"`
	Nonce       string          `dynamodbav:"nonce,omitempty"`
	VerifiedAt  string          `dynamodbav:"verifiedAt,omitempty"`
	CoolOffEnds string          `dynamodbav:"coolOffEnds,omitempty"`
	ClosedAt    string          `dynamodbav:"closedAt,omitempty"`
	Reason      string          `dynamodbav:"reason,omitempty"`
	ReasonText  string          `dynamodbav:"reasonText,omitempty"`
	Outcome     string          `dynamodbav:"outcome,omitempty"`
	Reminded    []string        `dynamodbav:"reminded,omitempty"`
	UpdatedAt   string          `dynamodbav:"updatedAt"`
	Version     int64           `dynamodbav:"version"`
	DuePK       string          `dynamodbav:"duePK,omitempty"`
	DueSK       string          `dynamodbav:"dueSK,omitempty"`
	Correction  *correctionItem `dynamodbav:"corr,omitempty"` // a correction's, see correct.go

	Staff *staffItem `dynamodbav:"staff,omitempty"` // part 2's record (systems.go)
}

func newRequestItem(r privacy.Request, version int64) requestItem {
	it := requestItem{
		PK: requestPK(r.ID), SK: requestSK, Person: r.PersonID, Kind: string(r.Kind), Status: string(r.Status), Email: r.Email,
		Channel: r.Channel, Received: stamp(r.Received), Due: stamp(r.Due), Expires: stamp(r.Expires), Nonce: r.Nonce,
		VerifiedAt: optionalStamp(r.VerifiedAt), CoolOffEnds: optionalStamp(r.CoolOffEnds), ClosedAt: optionalStamp(r.ClosedAt),
		Reason: string(r.Reason), ReasonText: r.ReasonText, Outcome: string(r.Outcome), UpdatedAt: stamp(r.UpdatedAt), Version: version,
		Staff: newStaffItem(r.Staff),
	}
	for _, s := range r.Reminded {
		it.Reminded = append(it.Reminded, string(s))
	}
	it.Correction = newCorrectionItem(r.Correction)
	if r.Status.Open() {
		it.DuePK, it.DueSK = openRequestsPK, stamp(r.Due)+"#"+r.ID
	} else if !r.ClosedAt.IsZero() {
		it.DuePK, it.DueSK = closedRequestsPK(r.ClosedAt.UTC().Format("2006-01")), stamp(r.ClosedAt)+"#"+r.ID
	}
	return it
}

func (it requestItem) request() privacy.Request {
	r := privacy.Request{
		ID: it.PK[len("R#"):], PersonID: it.Person, Kind: privacy.Kind(it.Kind), Status: privacy.Status(it.Status), Email: it.Email,
		Channel: it.Channel, Received: parseStamp(it.Received), Due: parseStamp(it.Due), Expires: parseStamp(it.Expires), Nonce: it.Nonce,
		VerifiedAt: parseStamp(it.VerifiedAt), CoolOffEnds: parseStamp(it.CoolOffEnds), ClosedAt: parseStamp(it.ClosedAt),
		Reason: privacy.Reason(it.Reason), ReasonText: it.ReasonText, Outcome: privacy.Outcome(it.Outcome),
		UpdatedAt: parseStamp(it.UpdatedAt), Version: it.Version, Staff: it.Staff.record(),
	}
	for _, s := range it.Reminded {
		r.Reminded = append(r.Reminded, privacy.Reminder(s))
	}
	r.Correction = it.Correction.correction()
	return r
}

// openMarker is the person's open request of one kind, or (sk REQ#...) an
// entry of the person's history of requests.
type openMarker struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	ID string `dynamodbav:"id"`
}

func markerKey(personID string, k privacy.Kind) map[string]types.AttributeValue {
	return key(requestPK(personID), openMarkerSK+string(k))
}

// OpenRequest stores r, a new request, unless its person already has an
// open request of its kind: then it stores nothing and returns that one,
// with created false (one open request per kind and person, one clock).
// Both items are put in one transaction, each on the condition that it
// is new. Errors: ErrBusy, or a wrapped fault.
func (s *Store) OpenRequest(ctx context.Context, r privacy.Request) (got privacy.Request, created bool, err error) {
	defer wrap(&err, "store.OpenRequest(%s)", r.ID)
	isNew, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name("pk"))).Build()
	if err != nil {
		return privacy.Request{}, false, err
	}
	req, err := attributevalue.MarshalMap(newRequestItem(r, 1))
	if err != nil {
		return privacy.Request{}, false, err
	}
	marker, err := attributevalue.MarshalMap(openMarker{PK: requestPK(r.PersonID), SK: openMarkerSK + string(r.Kind), ID: r.ID})
	if err != nil {
		return privacy.Request{}, false, err
	}
	history, err := attributevalue.MarshalMap(openMarker{PK: requestPK(r.PersonID), SK: historySK + stamp(r.Received) + "#" + r.ID, ID: r.ID})
	if err != nil {
		return privacy.Request{}, false, err
	}
	put := func(item map[string]types.AttributeValue) types.TransactWriteItem {
		return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: item,
			ConditionExpression: isNew.Condition(), ExpressionAttributeNames: isNew.Names()}}
	}
	for range requestAttempts {
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{put(marker), put(req), put(history)}})
		switch {
		case err == nil:
			r.Version = 1
			return r, true, nil
		case retryable(err):
			continue
		case !conditionFailedAt(err, 0):
			return privacy.Request{}, false, err
		}
		open, found, err := s.openOf(ctx, r.PersonID, r.Kind)
		if err != nil {
			return privacy.Request{}, false, err
		}
		if found {
			return open, false, nil
		}
		// The marker named a request that is closed (or it went in the
		// meantime): it is taken away and the put tried again.
	}
	return privacy.Request{}, false, people.ErrBusy
}

// openOf returns the person's open request of kind k, if any; a marker
// left naming a closed request is deleted.
func (s *Store) openOf(ctx context.Context, personID string, k privacy.Kind) (privacy.Request, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: markerKey(personID, k), ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return privacy.Request{}, false, err
	}
	var m openMarker
	if err := attributevalue.UnmarshalMap(out.Item, &m); err != nil {
		return privacy.Request{}, false, err
	}
	r, err := s.Request(ctx, m.ID)
	if err != nil && !errors.Is(err, people.ErrNotFound) {
		return privacy.Request{}, false, err
	}
	if err == nil && r.Status.Open() {
		return r, true, nil
	}
	return privacy.Request{}, false, s.dropMarker(ctx, personID, k, m.ID)
}

func (s *Store) dropMarker(ctx context.Context, personID string, k privacy.Kind, id string) error {
	cond, err := expression.NewBuilder().WithCondition(expression.Name("id").Equal(expression.Value(id))).Build()
	if err != nil {
		return err
	}
	// One Delete in a transaction: the store's API has no DeleteItem.
	err = s.transact(ctx, []types.TransactWriteItem{{Delete: &types.Delete{TableName: aws.String(s.table), Key: markerKey(personID, k),
		ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names(), ExpressionAttributeValues: cond.Values()}}})
	if errors.Is(err, errLostRace) {
		return nil
	}
	return err
}

// Request reads one request consistently; people.ErrNotFound if there is none.
func (s *Store) Request(ctx context.Context, id string) (r privacy.Request, err error) {
	defer wrap(&err, "store.Request(%s)", id)
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(requestPK(id), requestSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return privacy.Request{}, err
	}
	if out.Item == nil {
		return privacy.Request{}, people.ErrNotFound
	}
	var it requestItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return privacy.Request{}, err
	}
	return it.request(), nil
}

// UpdateRequest reads request id consistently, runs decide and writes what
// it returns on the condition that nobody wrote the request in between
// (its version); a request that closes leaves the due index and its open
// marker goes in the same transaction. On a lost race it reads and decides
// again, a bounded number of times. It returns the request as written (or
// as read, when decide changed nothing) and whether it wrote. Errors:
// people.ErrNotFound, decide's, ErrBusy, or a wrapped fault.
func (s *Store) UpdateRequest(ctx context.Context, id string, decide privacy.Decide) (r privacy.Request, changed bool, err error) {
	defer wrap(&err, "store.UpdateRequest(%s)", id)
	for round := range requestAttempts {
		if round > 0 && !s.pauseBeforeRetry(ctx, round) {
			break
		}
		read, err := s.Request(ctx, id)
		if err != nil {
			return privacy.Request{}, false, err
		}
		next, err := decide(read)
		if err != nil || next == nil {
			return read, false, err
		}
		err = s.writeRequest(ctx, read, *next)
		switch {
		case err == nil:
			next.Version = read.Version + 1
			return *next, true, nil
		case errors.Is(err, errLostRace) || retryable(err):
			continue
		}
		return privacy.Request{}, false, err
	}
	return privacy.Request{}, false, people.ErrBusy
}

func (s *Store) writeRequest(ctx context.Context, read, next privacy.Request) error {
	cond, err := expression.NewBuilder().WithCondition(expression.Name("version").Equal(expression.Value(read.Version))).Build()
	if err != nil {
		return err
	}
	item, err := attributevalue.MarshalMap(newRequestItem(next, read.Version+1))
	if err != nil {
		return err
	}
	if next.Status.Open() || !read.Status.Open() {
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item, ConditionExpression: cond.Condition(),
			ExpressionAttributeNames: cond.Names(), ExpressionAttributeValues: cond.Values()})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return errLostRace
		}
		return err
	}
	// Closing: the open marker goes with it, if it still names this request.
	mine, err := expression.NewBuilder().WithCondition(expression.Or(
		expression.AttributeNotExists(expression.Name("pk")), expression.Name("id").Equal(expression.Value(read.ID)))).Build()
	if err != nil {
		return err
	}
	return s.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: item, ConditionExpression: cond.Condition(),
			ExpressionAttributeNames: cond.Names(), ExpressionAttributeValues: cond.Values()}},
		{Delete: &types.Delete{TableName: aws.String(s.table), Key: markerKey(read.PersonID, read.Kind),
			ConditionExpression: mine.Condition(), ExpressionAttributeNames: mine.Names(), ExpressionAttributeValues: mine.Values()}},
	})
}

// PersonRequests returns every request of the person keyed personID,
// oldest first: one Query of their history entries, then the requests by
// BatchGetItem, 100 to a call.
func (s *Store) PersonRequests(ctx context.Context, personID string) (rs []privacy.Request, err error) {
	defer wrap(&err, "store.PersonRequests(%s)", personID)
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("pk").Equal(expression.Value(requestPK(personID))).
		And(expression.Key("sk").BeginsWith(historySK))).Build()
	if err != nil {
		return nil, err
	}
	pages := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(), ConsistentRead: aws.Bool(true),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var keys []map[string]types.AttributeValue
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		var entries []openMarker
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &entries); err != nil {
			return nil, err
		}
		for _, e := range entries {
			keys = append(keys, key(requestPK(e.ID), requestSK))
		}
	}
	return s.requestsAt(ctx, keys, func(privacy.Request) bool { return true })
}

// OpenRequests returns every open request, soonest due first: one Query
// of the due index's RQ#open partition per page of keys, then the requests
// themselves by BatchGetItem, 100 to a call. Its cost follows the number
// of open requests, never the size of the table.
func (s *Store) OpenRequests(ctx context.Context) (rs []privacy.Request, err error) {
	defer wrap(&err, "store.OpenRequests")
	return s.indexedRequests(ctx, openRequestsPK, func(r privacy.Request) bool { return r.Status.Open() })
}

// ClosedRequests returns the requests closed in month (yyyy-mm), in the
// order they closed, at the cost of that month's closed requests.
func (s *Store) ClosedRequests(ctx context.Context, month string) (rs []privacy.Request, err error) {
	defer wrap(&err, "store.ClosedRequests(%s)", month)
	return s.indexedRequests(ctx, closedRequestsPK(month), func(r privacy.Request) bool { return !r.Status.Open() })
}

// indexedRequests reads the requests filed under partition pk of the due
// index, in its order, keeping those keep says are still filed there (the
// index lags the table a little).
func (s *Store) indexedRequests(ctx context.Context, pk string, keep func(privacy.Request) bool) ([]privacy.Request, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("duePK").Equal(expression.Value(pk))).Build()
	if err != nil {
		return nil, err
	}
	pages := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(dueIndex), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var keys []map[string]types.AttributeValue
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			keys = append(keys, key(avString(it["pk"]), avString(it["sk"])))
		}
	}
	return s.requestsAt(ctx, keys, keep)
}

// requestsAt reads the requests at keys by BatchGetItem, 100 to a call,
// and returns those keep says yes to, in the order of keys.
func (s *Store) requestsAt(ctx context.Context, keys []map[string]types.AttributeValue, keep func(privacy.Request) bool) ([]privacy.Request, error) {
	byID := map[string]privacy.Request{}
	for start := 0; start < len(keys); start += 100 {
		items, err := s.batchGet(ctx, keys[start:min(start+100, len(keys))])
		if err != nil {
			return nil, err
		}
		for _, item := range items {
			var it requestItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, err
			}
			if r := it.request(); keep(r) {
				byID[r.ID] = r
			}
		}
	}
	var rs []privacy.Request
	for _, k := range keys {
		id := avString(k["pk"])[len("R#"):]
		if r, ok := byID[id]; ok {
			rs = append(rs, r)
			delete(byID, id)
		}
	}
	return rs, nil
}

// batchGet reads keys (at most 100) consistently, retrying what DynamoDB
// leaves unprocessed.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	for attempt := 0; len(keys) > 0; attempt++ {
		if attempt > 0 {
			if err := pause(ctx, attempt); err != nil {
				return nil, err
			}
		}
		got, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			s.table: {Keys: keys, ConsistentRead: aws.Bool(true)},
		}})
		if err != nil {
			return nil, err
		}
		out = append(out, got.Responses[s.table]...)
		keys = got.UnprocessedKeys[s.table].Keys
	}
	return out, nil
}
