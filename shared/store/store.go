// Package store is the DynamoDB single-table repository: the only code that
// knows the table's keys and item shapes. Conditional-check failures become
// domain errors; every other error is wrapped once with the operation.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/shared/people"
)

// API is the part of the DynamoDB client the store uses.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// Store keeps people and their consent ledger in one table.
type Store struct {
	db    API
	table string
	retry Retry
}

var _ people.Store = (*Store)(nil)

// New returns a Store on table that retries changes to a person as
// DefaultRetry says.
func New(db API, table string) *Store { return &Store{db: db, table: table, retry: DefaultRetry} }

// WithRetry returns a copy of s that retries changes to a person as r says.
func (s *Store) WithRetry(r Retry) *Store {
	c := *s
	c.retry = r
	return &c
}

// stampLayout has a fixed width, so stamps sort as strings in keys and
// compare correctly in condition expressions.
const stampLayout = "2006-01-02T15:04:05.000000000Z"

func stamp(t time.Time) string { return t.UTC().Format(stampLayout) }

func parseStamp(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(stampLayout, s)
	return t
}

const profileSK = "PROFILE"

func personPK(id string) string { return "P#" + id }

func consentSK(at time.Time, id string) string { return "C#" + stamp(at) + "#" + id }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk},
		"sk": &types.AttributeValueMemberS{Value: sk},
	}
}

// personItem is a person as stored.
type personItem struct {
	PK            string     `dynamodbav:"pk"`
	SK            string     `dynamodbav:"sk"`
	Email         string     `dynamodbav:"email"`
	Name          string     `dynamodbav:"name"`
	Status        string     `dynamodbav:"status"`
	Active        []string   `dynamodbav:"active,stringset,omitempty"`
	Pending       []string   `dynamodbav:"pending,stringset,omitempty"`
	PolicyVersion string     `dynamodbav:"policyVersion"`
	CreatedAt     string     `dynamodbav:"createdAt"`
	UpdatedAt     string     `dynamodbav:"updatedAt"`
	ConfirmedAt   string     `dynamodbav:"confirmedAt,omitempty"`
	ConfirmMailAt string     `dynamodbav:"confirmMailAt,omitempty"`
	LinkMailAt    string     `dynamodbav:"linkMailAt,omitempty"`
	Links         []linkItem `dynamodbav:"links,omitempty"`   // live confirm links, see people.Link
	Account       string     `dynamodbav:"account,omitempty"` // "open" or "closed", see SetAccount
	AccountAt     string     `dynamodbav:"accountAt,omitempty"`
	Version       int64      `dynamodbav:"version"`
	DuePK         string     `dynamodbav:"duePK,omitempty"` // the retention clock, see due.go
	DueSK         string     `dynamodbav:"dueSK,omitempty"`
	Recipient     string     `dynamodbav:"rcpt,omitempty"`                // shard of the recipients index, see notices.go
	Reach         *reachItem `dynamodbav:"reach,omitempty"`               // what SES's feedback says, see people.Deliverability
	Moving        string     `dynamodbav:"moving,omitempty"`              // the mark of a move to another key, see move.go
	MovedFrom     []string   `dynamodbav:"movedFrom,stringset,omitempty"` // keys holding a forward pointer here, see move.go
	// MovedTo is set on a forward pointer alone (forwardItem): the
	// profile item of a key the person moved from.
	MovedTo string `dynamodbav:"movedTo,omitempty"`
}

// forwardItem is the forward pointer a move leaves in the old key's profile
// item (move.go): the new key and when, nothing of the address or name.
type forwardItem struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	MovedTo string `dynamodbav:"movedTo"`
	MovedAt string `dynamodbav:"movedAt"`
}

// reachItem is a person's people.Deliverability; absent while nothing was
// ever heard from SES about the address.
type reachItem struct {
	State         string   `dynamodbav:"s,omitempty"`
	Since         string   `dynamodbav:"since,omitempty"`
	Until         string   `dynamodbav:"until,omitempty"`
	Transient     []string `dynamodbav:"tb,omitempty"` // SES times of the transient bounces in the window
	ClearedAt     string   `dynamodbav:"clr,omitempty"`
	LastBounce    string   `dynamodbav:"lb,omitempty"`
	LastComplaint string   `dynamodbav:"lc,omitempty"`
	LastDelivery  string   `dynamodbav:"ld,omitempty"`
	LastNotSpam   string   `dynamodbav:"lns,omitempty"`
}

func newReachItem(d people.Deliverability) *reachItem {
	if d.IsZero() {
		return nil
	}
	r := &reachItem{State: string(d.State), Since: optionalStamp(d.Since), Until: optionalStamp(d.Until), ClearedAt: optionalStamp(d.ClearedAt),
		LastBounce: optionalStamp(d.LastBounce), LastComplaint: optionalStamp(d.LastComplaint), LastDelivery: optionalStamp(d.LastDelivery),
		LastNotSpam: optionalStamp(d.LastNotSpam)}
	for _, t := range d.Transient {
		r.Transient = append(r.Transient, stamp(t))
	}
	return r
}

func (r *reachItem) deliverability() people.Deliverability {
	if r == nil {
		return people.Deliverability{}
	}
	d := people.Deliverability{State: people.Reach(r.State), Since: parseStamp(r.Since), Until: parseStamp(r.Until), ClearedAt: parseStamp(r.ClearedAt),
		LastBounce: parseStamp(r.LastBounce), LastComplaint: parseStamp(r.LastComplaint), LastDelivery: parseStamp(r.LastDelivery),
		LastNotSpam: parseStamp(r.LastNotSpam)}
	for _, t := range r.Transient {
		d.Transient = append(d.Transient, parseStamp(t))
	}
	return d
}

// newPersonItem is p as stored at version.
func newPersonItem(p people.Person, version int64) personItem {
	it := personItem{
		PK: personPK(p.ID), SK: profileSK, Email: p.Email, Name: p.Name, Status: string(p.Status),
		Active: names(p.Active), Pending: names(p.Pending), PolicyVersion: p.PolicyVersion,
		CreatedAt: stamp(p.CreatedAt), UpdatedAt: stamp(p.UpdatedAt), ConfirmedAt: optionalStamp(p.ConfirmedAt),
		ConfirmMailAt: optionalStamp(p.ConfirmMailAt), LinkMailAt: optionalStamp(p.LinkMailAt), Version: version,
		Reach: newReachItem(p.Deliverability), MovedFrom: p.MovedFrom,
	}
	for _, l := range p.Links {
		it.Links = append(it.Links, linkItem{Nonce: l.Nonce, Purposes: names(l.Purposes), Name: l.Name, PolicyVersion: l.PolicyVersion,
			Source: l.Source, Issued: stamp(l.Issued), Expires: stamp(l.Expires)})
	}
	if p.Account.State != people.NoAccount {
		it.Account, it.AccountAt = string(p.Account.State), stamp(p.Account.At)
	}
	if !p.Clock.IsZero() {
		it.DuePK, it.DueSK = dueKeys(p.Clock, it.PK)
	}
	if p.NoticeRecipient() {
		it.Recipient = recipientShard(p.ID)
	}
	return it
}

func optionalStamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return stamp(t)
}

func (it personItem) person() people.Person {
	var links []people.Link
	for _, l := range it.Links {
		links = append(links, people.Link{Nonce: l.Nonce, Purposes: purposes(l.Purposes), Name: l.Name, PolicyVersion: l.PolicyVersion,
			Source: l.Source, Issued: parseStamp(l.Issued), Expires: parseStamp(l.Expires)})
	}
	return people.Person{
		ID: it.PK[len("P#"):], Email: it.Email, Name: it.Name, Status: people.Status(it.Status),
		Active: purposes(it.Active), Pending: purposes(it.Pending), PolicyVersion: it.PolicyVersion,
		CreatedAt: parseStamp(it.CreatedAt), UpdatedAt: parseStamp(it.UpdatedAt),
		ConfirmedAt: parseStamp(it.ConfirmedAt), ConfirmMailAt: parseStamp(it.ConfirmMailAt), LinkMailAt: parseStamp(it.LinkMailAt),
		Links: links, Version: it.Version,
		Account: people.Account{State: people.AccountState(it.Account), At: parseStamp(it.AccountAt)},
		Clock:   clockOf(it.DueSK), Deliverability: it.Reach.deliverability(), MovedFrom: it.MovedFrom,
	}
}

// linkItem is a live confirm link as the person's item keeps it.
type linkItem struct {
	Nonce         string   `dynamodbav:"n"`
	Purposes      []string `dynamodbav:"p,omitempty"` // a list: a link for a name alone names no purpose
	Name          string   `dynamodbav:"name,omitempty"`
	PolicyVersion string   `dynamodbav:"v,omitempty"`
	Source        string   `dynamodbav:"src,omitempty"`
	Issued        string   `dynamodbav:"at"`
	Expires       string   `dynamodbav:"x"`
}

// consentItem is one ledger entry as stored; it is only ever put, never updated.
type consentItem struct {
	PK            string `dynamodbav:"pk"`
	SK            string `dynamodbav:"sk"`
	Purpose       string `dynamodbav:"purpose"`
	Action        string `dynamodbav:"action"`
	At            string `dynamodbav:"at"`
	Source        string `dynamodbav:"source"`
	PolicyVersion string `dynamodbav:"policyVersion"`
	TextHash      string `dynamodbav:"textHash"`
	IP            string `dynamodbav:"ip,omitempty"`
	UserAgent     string `dynamodbav:"userAgent,omitempty"`
	DuePK         string `dynamodbav:"duePK,omitempty"` // a withdrawal's proof clock
	DueSK         string `dynamodbav:"dueSK,omitempty"`
}

func newConsentItem(e people.ConsentEvent) consentItem {
	it := consentItem{
		PK: personPK(e.PersonID), SK: consentSK(e.At, e.ID), Purpose: string(e.Purpose), Action: string(e.Action),
		At: stamp(e.At), Source: e.Source, PolicyVersion: e.PolicyVersion, TextHash: e.TextHash, IP: e.IP, UserAgent: e.UserAgent,
	}
	if !e.ProofClock.IsZero() {
		it.DuePK, it.DueSK = dueKeys(e.ProofClock, it.PK)
	}
	return it
}

func (it consentItem) event() people.ConsentEvent {
	at := parseStamp(it.At)
	id := it.SK[len("C#")+len(stampLayout)+1:]
	return people.ConsentEvent{
		PersonID: it.PK[len("P#"):], ID: id, At: at, Purpose: people.Purpose(it.Purpose), Action: people.Action(it.Action),
		TextHash: it.TextHash, Context: people.Context{Source: it.Source, PolicyVersion: it.PolicyVersion, IP: it.IP, UserAgent: it.UserAgent},
	}
}

func purposes(names []string) []people.Purpose {
	var out []people.Purpose
	for _, p := range people.Purposes { // display order, whatever order the set came back in
		for _, n := range names {
			if n == string(p) {
				out = append(out, p)
			}
		}
	}
	return out
}

func stringSet(ps []people.Purpose) types.AttributeValue {
	ss := make([]string, len(ps))
	for i, p := range ps {
		ss[i] = string(p)
	}
	return &types.AttributeValueMemberSS{Value: ss}
}

// appendOnly puts ledger entries so that none can ever overwrite another.
func (s *Store) appendOnly(events []people.ConsentEvent) ([]types.TransactWriteItem, error) {
	cond, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name("pk"))).Build()
	if err != nil {
		return nil, err
	}
	items := make([]types.TransactWriteItem, 0, len(events))
	for _, e := range events {
		av, err := attributevalue.MarshalMap(newConsentItem(e))
		if err != nil {
			return nil, err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(s.table), Item: av, ConditionExpression: cond.Condition(),
			ExpressionAttributeNames: cond.Names(),
		}})
	}
	return items, nil
}

// Person reads a person with a strongly consistent read. Under a key the
// person moved from (a forward pointer, move.go) it is people.ErrNotFound,
// unless ctx is marked people.FollowMoves: then the person the pointer
// names, read with a second consistent read (one hop: a pointer to a
// pointer is nobody).
func (s *Store) Person(ctx context.Context, personID string) (p people.Person, err error) {
	p, _, err = s.readPerson(ctx, personID)
	return p, err
}

// readPerson is Person with the mark of a move the person is in ("" when
// none: see move.go).
func (s *Store) readPerson(ctx context.Context, personID string) (p people.Person, moving string, err error) {
	defer wrap(&err, "store.Person(%s)", personID)
	it, moving, err := s.profileItem(ctx, personID)
	if err == nil && it != nil && it.MovedTo != "" && people.FollowsMoves(ctx) {
		it, moving, err = s.profileItem(ctx, it.MovedTo)
	}
	if err != nil {
		return people.Person{}, "", err
	}
	if it == nil || it.MovedTo != "" {
		return people.Person{}, "", people.ErrNotFound
	}
	return it.person(), moving, nil
}

// leave deletes the person's memberships of the lists of purposes.
func (s *Store) leave(personID string, purposes []people.Purpose) []types.TransactWriteItem {
	var items []types.TransactWriteItem
	for _, q := range purposes {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{
			TableName: aws.String(s.table), Key: key(listPK(q), personPK(personID)),
		}})
	}
	return items
}

// memberItem lists a person under a purpose they are subscribed to, so that
// a send to a list queries the list, never scans the table.
type memberItem struct {
	PK    string `dynamodbav:"pk"`
	SK    string `dynamodbav:"sk"`
	Since string `dynamodbav:"since"`
}

func listPK(p people.Purpose) string { return "L#" + string(p) }

// Members returns one page of the ids of people subscribed to purpose,
// starting after cursor ("" for the first page), and the cursor of the next
// page ("" after the last).
func (s *Store) Members(ctx context.Context, purpose people.Purpose, cursor string, limit int32) (ids []string, next string, err error) {
	defer wrap(&err, "store.Members(%s)", purpose)
	expr, err := expression.NewBuilder().WithKeyCondition(expression.
		Key("pk").Equal(expression.Value(listPK(purpose)))).Build()
	if err != nil {
		return nil, "", err
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), Limit: aws.Int32(limit),
	}
	if cursor != "" {
		in.ExclusiveStartKey = key(listPK(purpose), cursor)
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", err
	}
	var items []memberItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return nil, "", err
	}
	for _, it := range items {
		ids = append(ids, it.SK[len("P#"):])
	}
	if len(out.LastEvaluatedKey) > 0 && len(items) > 0 {
		next = items[len(items)-1].SK
	}
	return ids, next, nil
}

// Consents returns a person's ledger, oldest first.
func (s *Store) Consents(ctx context.Context, personID string) (evs []people.ConsentEvent, err error) {
	defer wrap(&err, "store.Consents(%s)", personID)
	expr, err := expression.NewBuilder().WithKeyCondition(expression.
		Key("pk").Equal(expression.Value(personPK(personID))).
		And(expression.Key("sk").BeginsWith("C#"))).Build()
	if err != nil {
		return nil, err
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), ConsistentRead: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		var items []consentItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return nil, err
		}
		for _, it := range items {
			evs = append(evs, it.event())
		}
	}
	return evs, nil
}

// conditionFailedAt reports whether a transaction was cancelled because the
// condition of its i-th item failed.
func conditionFailedAt(err error, i int) bool {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) || len(tc.CancellationReasons) <= i {
		return false
	}
	return aws.ToString(tc.CancellationReasons[i].Code) == "ConditionalCheckFailed"
}

// wrap names the failed operation once, leaving domain errors as they are.
func wrap(errp *error, format string, args ...any) {
	if *errp == nil {
		return
	}
	if _, ok := people.AsError(*errp); ok {
		return
	}
	*errp = fmt.Errorf(format+": %w", append(args, *errp)...)
}
