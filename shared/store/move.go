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
	"github.com/smartprotect/pledge/shared/privacy"
)

// A move takes a person whose address was corrected from the key of the
// old address (P#<from>) to the key of the new one (P#<to>): their profile,
// every ledger entry (and the suppression marker of an earlier erasure, if
// any), their list memberships (L#<purpose>/P#<id>), notice records
// (N#<version>/P#<id>) and request markers and history (R#<id>/...). The
// requests they made name the new key afterwards. A person with 1,000
// ledger entries is more than one transaction (at most 100 items each), so
// the move goes in phases, each resumable, its state kept in the
// profiles' "moving" attribute:
//
//  1. begin: one transaction marks the old profile "to:<to>" (on the
//     condition that it is as read) and puts a placeholder profile under
//     the new key marked "from:<from>", on the condition that the new key
//     holds nobody: an address that belongs to someone else is refused
//     here, having changed nothing. From now on both keys refuse every
//     other change (UpdatePerson answers people.ErrBusy; UpdateUnread's
//     condition fails) and a sign-up to the new address waits.
//  2. copy: every item under the old key is put under the new one, 100 to
//     a transaction; puts of the same item are idempotent, so a copy cut
//     off anywhere is simply done again.
//  3. flip: one transaction puts the full profile under the new key (still
//     marked), deletes the old profile and appends the correction's
//     ledger entry. The person now lives under the new key.
//  4. clean: the old items are deleted, 100 to a transaction; what was
//     written under the old key since the copy (a notice record SES's
//     send event marked sent, a request opened meanwhile) is carried to
//     the new key first (cleanItems).
//  5. end: one transaction removes the new profile's mark, adds the old
//     key to its "movedFrom" and leaves a forward pointer in the old key's
//     profile item (forwardItem: the new key and when, no address, no
//     name), so that a link or an SES event issued before the move, which
//     names the old key, still reaches the person (people.FollowMoves). A
//     sign-up of the old address replaces the pointer with a new person;
//     an erasure of the moved person deletes it (forwardsTo). If a new
//     person already took the old key, the mark alone is removed.
//
// A run cut off anywhere is finished by the next MovePerson of the same
// move (the phase is read back from the two profiles): nothing is lost,
// and once it returns nothing is left under two keys.
const (
	movingAttr   = "moving"
	movingTo     = "to:"
	movingFrom   = "from:"
	transactMax  = 100 // DynamoDB's limit of items in one TransactWriteItems
	moveAttempts = 8   // rounds of read-and-go-on before ErrBusy
)

// Move is one address correction's move.
type Move struct {
	From, To  string    // the keyed ids of the old and the new address
	Email     string    // the new normalised address
	RequestID string    // the correction request, named in the ledger entry
	At        time.Time // when the new mailbox confirmed
	EntryID   string    // the id of the correction's ledger entry
}

// MovePerson moves the person keyed m.From to m.To (see the phases above),
// or finishes a move of the same two keys that was cut off. Calling it
// again after it returned nil changes nothing. Errors:
// privacy.ErrAddressTaken (the new key holds someone else; nothing
// changed), people.ErrNotFound (nobody under either key), people.ErrBusy
// (the person is in another move, or the rounds ran out: call again), or
// a wrapped fault (call again: the next call resumes).
func (s *Store) MovePerson(ctx context.Context, m Move) (err error) {
	defer wrap(&err, "store.MovePerson(%s)", m.RequestID)
	for range moveAttempts {
		old, oldMark, err := s.profileItem(ctx, m.From)
		if err != nil {
			return err
		}
		if old != nil && old.MovedTo != "" {
			old = nil // the forward pointer a finished move left
		}
		now, nowMark, err := s.profileItem(ctx, m.To)
		if err != nil {
			return err
		}
		switch {
		case old != nil && oldMark == "":
			if now != nil {
				return privacy.ErrAddressTaken
			}
			err = s.beginMove(ctx, *old, m)
		case old != nil && oldMark == movingTo+m.To:
			if err = s.copyPerson(ctx, m.From, m.To); err == nil {
				err = s.flipMove(ctx, *old, m)
			}
		case old != nil:
			return people.ErrBusy // another move of this person
		case now != nil && nowMark == movingFrom+m.From:
			var clean func(context.Context, []map[string]types.AttributeValue) error
			if clean, err = s.cleanItems(ctx, m.From, m.To); err == nil {
				if err = s.forEachBatch(ctx, m.From, m.To, clean); err == nil {
					return s.endMove(ctx, m)
				}
			}
		case now != nil && nowMark == "":
			return nil // moved already
		case now != nil:
			return people.ErrBusy
		default:
			return people.ErrNotFound
		}
		switch {
		case errors.Is(err, errLostRace) || err == nil || retryable(err):
			continue
		}
		return err
	}
	return people.ErrBusy
}

// profileItem reads a profile consistently with its move mark ("" when
// it is in no move); nil when there is none.
func (s *Store) profileItem(ctx context.Context, personID string) (*personItem, string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(personPK(personID), profileSK), ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return nil, "", err
	}
	var it personItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, "", err
	}
	return &it, it.Moving, nil
}

// beginMove marks the old profile and claims the new key (phase 1).
func (s *Store) beginMove(ctx context.Context, old personItem, m Move) error {
	mark, err := expression.NewBuilder().
		WithCondition(expression.Name("version").Equal(expression.Value(old.Version)).And(expression.AttributeNotExists(expression.Name(movingAttr)))).
		WithUpdate(expression.Set(expression.Name(movingAttr), expression.Value(movingTo+m.To)).Add(expression.Name("version"), expression.Value(1))).Build()
	if err != nil {
		return err
	}
	placeholder := newPersonItem(people.Readdressed(old.person(), m.To, m.Email, m.At), old.Version+1)
	placeholder.DuePK, placeholder.DueSK, placeholder.Recipient, placeholder.Moving = "", "", "", movingFrom+m.From
	av, err := attributevalue.MarshalMap(placeholder)
	if err != nil {
		return err
	}
	isNew, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name("pk"))).Build()
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{TableName: aws.String(s.table), Key: key(personPK(m.From), profileSK), UpdateExpression: mark.Update(),
			ConditionExpression: mark.Condition(), ExpressionAttributeNames: mark.Names(), ExpressionAttributeValues: mark.Values()}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: av, ConditionExpression: isNew.Condition(), ExpressionAttributeNames: isNew.Names()}},
	})
	if conditionFailedAt(err, 1) {
		return privacy.ErrAddressTaken
	}
	return err
}

// copyPerson puts every item of the person under from (but the profile)
// under to (phase 2), 100 to a transaction.
func (s *Store) copyPerson(ctx context.Context, from, to string) error {
	return s.forEachBatch(ctx, from, to, func(ctx context.Context, items []map[string]types.AttributeValue) error {
		writes, err := copyWrites(s.table, items, from, to)
		if err != nil {
			return err
		}
		return s.transactAll(ctx, writes)
	})
}

// copyWrites are the writes that put items of the person from under to:
// each item rekeyed, and the request a history entry names updated to
// name to.
func copyWrites(table string, items []map[string]types.AttributeValue, from, to string) ([]types.TransactWriteItem, error) {
	var writes []types.TransactWriteItem
	for _, av := range items {
		switch {
		case avString(av["sk"]) == profileSK:
			continue
		case strings.HasPrefix(avString(av["pk"]), "R#") && strings.HasPrefix(avString(av["sk"]), historySK):
			// The request itself names its person: it follows.
			upd, err := expression.NewBuilder().
				WithCondition(expression.Name("person").Equal(expression.Value(from)).Or(expression.Name("person").Equal(expression.Value(to)))).
				WithUpdate(expression.Set(expression.Name("person"), expression.Value(to)).Add(expression.Name("version"), expression.Value(1))).Build()
			if err != nil {
				return nil, err
			}
			writes = append(writes, types.TransactWriteItem{Update: &types.Update{TableName: aws.String(table),
				Key: key(requestPK(avString(av["id"])), requestSK), UpdateExpression: upd.Update(), ConditionExpression: upd.Condition(),
				ExpressionAttributeNames: upd.Names(), ExpressionAttributeValues: upd.Values()}})
		}
		writes = append(writes, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), Item: rekeyed(av, from, to)}})
	}
	return writes, nil
}

// cleanItems deletes items of the person from (phase 4), first carrying
// to the key to what was written under from after the copy: an item the
// new key lacks (a request opened for the old key meanwhile) and a notice
// record the notices function or SES's send event changed since (its "at"
// is later than the copy's). A notice record's delete is conditional on
// its "at" as read, so one changed again between the read and the delete
// is a lost race, read anew by the next round: nothing written to the old
// key during a move is lost.
func (s *Store) cleanItems(ctx context.Context, from, to string) (func(context.Context, []map[string]types.AttributeValue) error, error) {
	// What the new key holds, read once as the copy left it (through the
	// reads the move already makes: its partitions' queries and the notice
	// records' and memberships' batch reads).
	copied := map[string]string{} // pk|sk -> at
	err := s.forEachBatch(ctx, to, "", func(_ context.Context, items []map[string]types.AttributeValue) error {
		for _, av := range items {
			copied[avString(av["pk"])+"|"+avString(av["sk"])] = avString(av["at"])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, items []map[string]types.AttributeValue) error {
		var carry []map[string]types.AttributeValue
		writes := make([]types.TransactWriteItem, 0, len(items))
		for _, av := range items {
			n := rekeyed(av, from, to)
			at, ok := copied[avString(n["pk"])+"|"+avString(n["sk"])]
			notice := strings.HasPrefix(avString(av["pk"]), "N#")
			if avString(av["sk"]) != profileSK && (!ok || notice && avString(av["at"]) > at) {
				carry = append(carry, av)
			}
			del := &types.Delete{TableName: aws.String(s.table), Key: key(avString(av["pk"]), avString(av["sk"]))}
			if notice {
				cond, err := expression.NewBuilder().WithCondition(expression.Name("at").Equal(expression.Value(avString(av["at"])))).Build()
				if err != nil {
					return err
				}
				del.ConditionExpression, del.ExpressionAttributeNames, del.ExpressionAttributeValues = cond.Condition(), cond.Names(), cond.Values()
			}
			writes = append(writes, types.TransactWriteItem{Delete: del})
		}
		if len(carry) > 0 {
			puts, err := copyWrites(s.table, carry, from, to)
			if err != nil {
				return err
			}
			if err := s.transactAll(ctx, puts); err != nil {
				return err
			}
		}
		err = s.transactAll(ctx, writes)
		var tc *types.TransactionCanceledException
		if errors.As(err, &tc) {
			for _, r := range tc.CancellationReasons {
				if aws.ToString(r.Code) == "ConditionalCheckFailed" {
					return errLostRace
				}
			}
		}
		return err
	}, nil
}

// rekeyed is item av of the person from as it is kept for the person to:
// its key, and the due index's sort key that ends in its partition.
func rekeyed(av map[string]types.AttributeValue, from, to string) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(av))
	for k, v := range av {
		out[k] = v
	}
	swap := func(attr, old, new string) {
		if avString(av[attr]) == old {
			out[attr] = &types.AttributeValueMemberS{Value: new}
		}
	}
	swap("pk", personPK(from), personPK(to))
	swap("pk", requestPK(from), requestPK(to))
	swap("sk", personPK(from), personPK(to))
	if due := avString(av["dueSK"]); strings.HasSuffix(due, "#"+personPK(from)) {
		out["dueSK"] = &types.AttributeValueMemberS{Value: strings.TrimSuffix(due, personPK(from)) + personPK(to)}
	}
	return out
}

// transactAll writes items in transactions of at most 100.
func (s *Store) transactAll(ctx context.Context, items []types.TransactWriteItem) error {
	for start := 0; start < len(items); start += transactMax {
		if _, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items[start:min(start+transactMax, len(items))]}); err != nil {
			return err
		}
	}
	return nil
}

// forEachBatch reads every item of the person keyed from — their
// partition (profile included), their request markers, and their list
// memberships and notice records — and hands them to do in batches of at
// most 100 (a batch's writes go in transactions of at most 100: a history
// entry and the update of its request may fall in two, each idempotent).
func (s *Store) forEachBatch(ctx context.Context, from, to string, do func(context.Context, []map[string]types.AttributeValue) error) error {
	var batch []map[string]types.AttributeValue
	flush := func(all bool) error {
		for len(batch) >= transactMax || all && len(batch) > 0 {
			n := min(len(batch), transactMax)
			if err := do(ctx, batch[:n]); err != nil {
				return err
			}
			batch = batch[n:]
		}
		return nil
	}
	for _, pk := range []string{personPK(from), requestPK(from)} {
		expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("pk").Equal(expression.Value(pk))).Build()
		if err != nil {
			return err
		}
		pages := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), ConsistentRead: aws.Bool(true)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return err
			}
			batch = append(batch, page.Items...)
			if err := flush(false); err != nil {
				return err
			}
		}
	}
	versions, err := s.policyVersions(ctx)
	if err != nil {
		return err
	}
	keys := make([]map[string]types.AttributeValue, 0, len(versions)+len(people.Purposes))
	for v := range versions {
		keys = append(keys, key(noticePK(v), personPK(from)))
	}
	for _, q := range people.Purposes {
		keys = append(keys, key(listPK(q), personPK(from)))
	}
	for start := 0; start < len(keys); start += 100 {
		items, err := s.batchGet(ctx, keys[start:min(start+100, len(keys))])
		if err != nil {
			return err
		}
		batch = append(batch, items...)
	}
	return flush(true)
}

// flipMove puts the full profile under the new key, deletes the old one
// and appends the correction's ledger entry, in one transaction (phase 3),
// on the condition that both are as the move left them.
func (s *Store) flipMove(ctx context.Context, old personItem, m Move) error {
	p := people.Readdressed(old.person(), m.To, m.Email, m.At)
	it := newPersonItem(p, old.Version+1)
	it.Moving = movingFrom + m.From
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return err
	}
	claimed, err := expression.NewBuilder().WithCondition(expression.Name(movingAttr).Equal(expression.Value(movingFrom + m.From))).Build()
	if err != nil {
		return err
	}
	marked, err := expression.NewBuilder().WithCondition(expression.Name(movingAttr).Equal(expression.Value(movingTo + m.To)).
		And(expression.Name("version").Equal(expression.Value(old.Version)))).Build()
	if err != nil {
		return err
	}
	entry, err := s.appendOnly([]people.ConsentEvent{people.CorrectionEvent(m.To, people.CorrectedAddress, m.RequestID, p.UpdatedAt, m.EntryID)})
	if err != nil {
		return err
	}
	err = s.transact(ctx, append([]types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: av, ConditionExpression: claimed.Condition(),
			ExpressionAttributeNames: claimed.Names(), ExpressionAttributeValues: claimed.Values()}},
		{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(personPK(m.From), profileSK), ConditionExpression: marked.Condition(),
			ExpressionAttributeNames: marked.Names(), ExpressionAttributeValues: marked.Values()}},
	}, entry...))
	if conditionFailedAt(err, 1) {
		return errLostRace
	}
	return err
}

// endMove removes the new profile's mark and leaves the forward pointer
// (phase 5), in one transaction; the mark alone when the old key holds a
// new person already.
func (s *Store) endMove(ctx context.Context, m Move) error {
	cond := expression.Name(movingAttr).Equal(expression.Value(movingFrom + m.From))
	end, err := expression.NewBuilder().WithCondition(cond).WithUpdate(expression.Remove(expression.Name(movingAttr)).
		Add(expression.Name("movedFrom"), expression.Value(&types.AttributeValueMemberSS{Value: []string{m.From}}))).Build()
	if err != nil {
		return err
	}
	pointer, err := attributevalue.MarshalMap(forwardItem{PK: personPK(m.From), SK: profileSK, MovedTo: m.To, MovedAt: stamp(m.At)})
	if err != nil {
		return err
	}
	free, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name("pk"))).Build()
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: aws.String(s.table), Key: key(personPK(m.To), profileSK), UpdateExpression: end.Update(),
			ConditionExpression: end.Condition(), ExpressionAttributeNames: end.Names(), ExpressionAttributeValues: end.Values()}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: pointer, ConditionExpression: free.Condition(), ExpressionAttributeNames: free.Names()}},
	}})
	switch {
	case conditionFailedAt(err, 0):
		return nil // ended by another run
	case !conditionFailedAt(err, 1):
		return err
	}
	// The old address signed up again during the move: no pointer.
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(expression.Remove(expression.Name(movingAttr))).Build()
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: key(personPK(m.To), profileSK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // ended by another run
	}
	return err
}

// correctionItem is a correction request's privacy.Correction as stored.
type correctionItem struct {
	Name      string `dynamodbav:"name,omitempty"`
	Email     string `dynamodbav:"email,omitempty"`
	Person    string `dynamodbav:"person,omitempty"`
	From      string `dynamodbav:"from,omitempty"`
	Nonce     string `dynamodbav:"nonce,omitempty"`
	Confirmed string `dynamodbav:"confirmed,omitempty"`
}

func newCorrectionItem(c privacy.Correction) *correctionItem {
	if c == (privacy.Correction{}) {
		return nil
	}
	return &correctionItem{Name: c.Name, Email: c.Email, Person: c.PersonID, From: c.From, Nonce: c.Nonce, Confirmed: optionalStamp(c.Confirmed)}
}

func (c *correctionItem) correction() privacy.Correction {
	if c == nil {
		return privacy.Correction{}
	}
	return privacy.Correction{Name: c.Name, Email: c.Email, PersonID: c.Person, From: c.From, Nonce: c.Nonce, Confirmed: parseStamp(c.Confirmed)}
}
