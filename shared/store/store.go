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
}

var _ people.Store = (*Store)(nil)

// New returns a Store on table.
func New(db API, table string) *Store { return &Store{db: db, table: table} }

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
	PK            string   `dynamodbav:"pk"`
	SK            string   `dynamodbav:"sk"`
	Email         string   `dynamodbav:"email"`
	Name          string   `dynamodbav:"name"`
	Status        string   `dynamodbav:"status"`
	Active        []string `dynamodbav:"active,stringset,omitempty"`
	Pending       []string `dynamodbav:"pending,stringset,omitempty"`
	PolicyVersion string   `dynamodbav:"policyVersion"`
	CreatedAt     string   `dynamodbav:"createdAt"`
	UpdatedAt     string   `dynamodbav:"updatedAt"`
	ConfirmedAt   string   `dynamodbav:"confirmedAt,omitempty"`
	ConfirmMailAt string   `dynamodbav:"confirmMailAt,omitempty"`
	Account       string   `dynamodbav:"account,omitempty"` // "open" or "closed", see SetAccount
	AccountAt     string   `dynamodbav:"accountAt,omitempty"`
	Version       int64    `dynamodbav:"version"`
	DuePK         string   `dynamodbav:"duePK,omitempty"` // the retention clock, see due.go
	DueSK         string   `dynamodbav:"dueSK,omitempty"`
}

func (it personItem) person() people.Person {
	return people.Person{
		ID: it.PK[len("P#"):], Email: it.Email, Name: it.Name, Status: people.Status(it.Status),
		Active: purposes(it.Active), Pending: purposes(it.Pending), PolicyVersion: it.PolicyVersion,
		CreatedAt: parseStamp(it.CreatedAt), UpdatedAt: parseStamp(it.UpdatedAt),
		ConfirmedAt: parseStamp(it.ConfirmedAt), ConfirmMailAt: parseStamp(it.ConfirmMailAt), Version: it.Version,
		Account: people.Account{State: people.AccountState(it.Account), At: parseStamp(it.AccountAt)},
	}
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

// SignUp upserts the person, adds the purposes to those pending and appends
// the grant events, in one transaction. It first tries to claim the
// confirmation-mail slot; if the slot was claimed after s.MailAfter it writes
// the same change without the claim.
func (s *Store) SignUp(ctx context.Context, r people.SignUpRecord) (claimed bool, err error) {
	defer wrap(&err, "store.SignUp(%s)", r.PersonID)
	events, err := s.appendOnly(r.Events)
	if err != nil {
		return false, err
	}
	for _, claim := range []bool{true, false} {
		upd := expression.
			Set(expression.Name("email"), expression.Value(r.Email)).
			Set(expression.Name("name"), expression.Value(r.Name)).
			Set(expression.Name("policyVersion"), expression.Value(r.PolicyVersion)).
			Set(expression.Name("updatedAt"), expression.Value(stamp(r.Now))).
			Set(expression.Name("createdAt"), expression.IfNotExists(expression.Name("createdAt"), expression.Value(stamp(r.Now)))).
			Set(expression.Name("status"), expression.IfNotExists(expression.Name("status"), expression.Value(string(people.Unconfirmed)))).
			Add(expression.Name("pending"), expression.Value(stringSet(r.Purposes))).
			Add(expression.Name("version"), expression.Value(1))
		if !r.Clock.IsZero() {
			duePK, dueSK := dueKeys(r.Clock, personPK(r.PersonID))
			upd = upd.
				Set(expression.Name("duePK"), expression.IfNotExists(expression.Name("duePK"), expression.Value(duePK))).
				Set(expression.Name("dueSK"), expression.IfNotExists(expression.Name("dueSK"), expression.Value(dueSK)))
		}
		b := expression.NewBuilder()
		if claim {
			upd = upd.Set(expression.Name("confirmMailAt"), expression.Value(stamp(r.Now)))
			b = b.WithCondition(expression.Or(
				expression.AttributeNotExists(expression.Name("confirmMailAt")),
				expression.Name("confirmMailAt").LessThan(expression.Value(stamp(r.MailAfter))),
			))
		}
		expr, err := b.WithUpdate(upd).Build()
		if err != nil {
			return false, err
		}
		update := types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(s.table), Key: key(personPK(r.PersonID), profileSK),
			UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		}}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems: append([]types.TransactWriteItem{update}, events...),
		})
		if claim && conditionFailedAt(err, 0) {
			continue // mailed recently: record the sign-up without a mail
		}
		return claim, err
	}
	panic("unreachable")
}

// ReleaseConfirmMail clears the mail claim made at claimedAt, unless a newer
// claim replaced it.
func (s *Store) ReleaseConfirmMail(ctx context.Context, personID string, claimedAt time.Time) (err error) {
	defer wrap(&err, "store.ReleaseConfirmMail(%s)", personID)
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Remove(expression.Name("confirmMailAt"))).
		WithCondition(expression.Name("confirmMailAt").Equal(expression.Value(stamp(claimedAt)))).
		Build()
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(personPK(personID), profileSK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	return err
}

// Person reads a person with a strongly consistent read.
func (s *Store) Person(ctx context.Context, personID string) (p people.Person, err error) {
	defer wrap(&err, "store.Person(%s)", personID)
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(personPK(personID), profileSK), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return people.Person{}, err
	}
	if out.Item == nil {
		return people.Person{}, people.ErrNotFound
	}
	var it personItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return people.Person{}, err
	}
	return it.person(), nil
}

// ChangeConsent writes the person's new consent sets and status, the ledger
// entries and the list memberships in one transaction, if the person is
// still at p.Version.
func (s *Store) ChangeConsent(ctx context.Context, p people.Person, ch people.ConsentChange) (err error) {
	defer wrap(&err, "store.ChangeConsent(%s)", p.ID)
	upd := expression.
		Set(expression.Name("status"), expression.Value(string(ch.Status))).
		Set(expression.Name("updatedAt"), expression.Value(stamp(ch.Now))).
		Add(expression.Name("version"), expression.Value(1))
	if ch.Status == people.Confirmed {
		upd = upd.Set(expression.Name("confirmedAt"), expression.IfNotExists(expression.Name("confirmedAt"), expression.Value(stamp(ch.Now)))).
			// A confirmed address joins the recipients of policy notices,
			// and stays there after unsubscribing from marketing.
			Set(expression.Name("rcpt"), expression.Value(recipientShard(p.ID)))
	}
	upd = withClock(upd, ch.Clock, personPK(p.ID))
	for name, set := range map[string][]people.Purpose{"active": ch.Active, "pending": ch.Pending} {
		if len(set) == 0 {
			upd = upd.Remove(expression.Name(name)) // DynamoDB has no empty sets
		} else {
			upd = upd.Set(expression.Name(name), expression.Value(stringSet(set)))
		}
	}
	expr, err := expression.NewBuilder().WithUpdate(upd).
		WithCondition(expression.Name("version").Equal(expression.Value(p.Version))).Build()
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(s.table), Key: key(personPK(p.ID), profileSK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}}
	for _, q := range ch.Joined {
		av, err := attributevalue.MarshalMap(memberItem{PK: listPK(q), SK: personPK(p.ID), Since: stamp(ch.Now)})
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: av}})
	}
	items = append(items, s.leave(p.ID, ch.Left)...)
	events, err := s.appendOnly(ch.Events)
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: append(items, events...)})
	if conditionFailedAt(err, 0) {
		return people.ErrConflict
	}
	return err
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

// StopMarketing withdraws every marketing purpose in one transaction, with
// no read first: the update's condition says whether there was anything to
// withdraw, and when there was not, nothing at all is written.
func (s *Store) StopMarketing(ctx context.Context, personID string, e people.ConsentEvent, clock people.Clock) (changed bool, err error) {
	defer wrap(&err, "store.StopMarketing(%s)", personID)
	if clock.IsZero() {
		return false, errors.New("no retention clock given")
	}
	marketing := stringSet(people.MarketingPurposes)
	var anyMarketing []expression.ConditionBuilder
	for _, q := range people.MarketingPurposes {
		anyMarketing = append(anyMarketing,
			expression.Contains(expression.Name("active"), string(q)),
			expression.Contains(expression.Name("pending"), string(q)))
	}
	cond := expression.And(expression.AttributeExists(expression.Name("pk")),
		expression.Or(anyMarketing[0], anyMarketing[1], anyMarketing[2:]...))
	duePK, dueSK := dueKeys(clock, personPK(personID))
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(expression.
		Delete(expression.Name("active"), expression.Value(marketing)).
		Delete(expression.Name("pending"), expression.Value(marketing)).
		Set(expression.Name("status"), expression.Value(string(people.Unsubscribed))).
		Set(expression.Name("updatedAt"), expression.Value(stamp(e.At))).
		// The no-purpose clock; if a testimonial consent is left, the sweep
		// finds it and restarts the clock (see Store.Erase).
		Set(expression.Name("duePK"), expression.Value(duePK)).
		Set(expression.Name("dueSK"), expression.Value(dueSK)).
		Add(expression.Name("version"), expression.Value(1))).Build()
	if err != nil {
		return false, err
	}
	items := []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(s.table), Key: key(personPK(personID), profileSK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}}
	items = append(items, s.leave(personID, people.MarketingPurposes)...)
	event, err := s.appendOnly([]people.ConsentEvent{e})
	if err != nil {
		return false, err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: append(items, event...)})
	if conditionFailedAt(err, 0) {
		return false, nil // nothing left to withdraw, or nobody: already unsubscribed
	}
	return err == nil, err
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
