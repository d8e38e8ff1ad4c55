package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/shared/export"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
)

var _ export.Store = (*Store)(nil)

// Holdings reads everything the table holds about personID, for an access
// export, without a Scan:
//
//   - one Query of the person's partition (P#<id>: the profile, every
//     ledger entry, the suppression marker of an erasure), page by page;
//   - when it holds anything, one Query of the policy partition for the
//     published versions (a handful of items);
//   - BatchGetItem of the person's notice record of each version
//     (N#<version>, P#<id>) and list memberships (L#<purpose>, P#<id>),
//     100 keys a call, unprocessed keys again after a pause.
//
// For a person with 1,000 ledger entries that is three requests
// (go run ./infra/cmd/bench -only export). All reads are consistent.
// Errors: people.ErrNotFound when the person's partition is empty (pledge
// holds nothing: an erasure leaves a marker there), a wrapped fault, or an
// error naming an item kind under the partition this code does not know,
// so that new data is never left out of an export unnoticed.
func (s *Store) Holdings(ctx context.Context, personID string) (h export.Held, err error) {
	defer wrap(&err, "store.Holdings(%s)", personID)
	pk := personPK(personID)
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("pk").Equal(expression.Value(pk))).Build()
	if err != nil {
		return export.Held{}, err
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), ConsistentRead: aws.Bool(true),
	})
	found := false
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return export.Held{}, err
		}
		for _, av := range page.Items {
			if _, pointer := av["movedTo"]; pointer {
				continue // a forward pointer to the key the person moved to: nothing of anyone's (move.go)
			}
			found = true
			if err := holding(&h, av); err != nil {
				return export.Held{}, err
			}
		}
	}
	if !found {
		return export.Held{}, people.ErrNotFound
	}
	versions, err := s.policyVersions(ctx)
	if err != nil {
		return export.Held{}, err
	}
	h.Notices, h.Listed, err = s.recordsOf(ctx, personID, versions)
	return h, err
}

// holding adds one item of the person's partition to h.
func holding(h *export.Held, av map[string]types.AttributeValue) error {
	switch sk := avString(av["sk"]); {
	case sk == profileSK:
		var it personItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return err
		}
		p := it.person()
		h.Person = &p
	case strings.HasPrefix(sk, "C#"):
		var it consentItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return err
		}
		e := it.event()
		e.ProofClock = clockOf(it.DueSK)
		h.Consents = append(h.Consents, e)
	case sk == suppressedSK:
		var it suppressionItem
		if err := attributevalue.UnmarshalMap(av, &it); err != nil {
			return err
		}
		h.Erased = &export.Erased{At: parseStamp(it.ErasedAt), ProofClock: clockOf(it.DueSK)}
	default:
		kind, _, _ := strings.Cut(sk, "#")
		return fmt.Errorf("an item of kind %q under the person's partition is not in the export", kind)
	}
	return nil
}

// policyVersions reads the published versions with their notice records'
// clocks.
func (s *Store) policyVersions(ctx context.Context) (map[string]policyItem, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key("pk").Equal(expression.Value(policyPK)).And(expression.Key("sk").BeginsWith("V#"))).Build()
	if err != nil {
		return nil, err
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), ConsistentRead: aws.Bool(true),
	})
	versions := map[string]policyItem{}
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
			versions[it.Version] = it
		}
	}
	return versions, nil
}

// recordsOf reads the person's notice record of each version and their
// list memberships, oldest version first.
func (s *Store) recordsOf(ctx context.Context, personID string, versions map[string]policyItem) ([]export.HeldNotice, map[people.Purpose]time.Time, error) {
	pk := personPK(personID)
	keys := make([]map[string]types.AttributeValue, 0, len(versions)+len(people.Purposes))
	for v := range versions {
		keys = append(keys, key(noticePK(v), pk))
	}
	for _, q := range people.Purposes {
		keys = append(keys, key(listPK(q), pk))
	}
	var notices []export.HeldNotice
	listed := map[people.Purpose]time.Time{}
	for start := 0; start < len(keys); start += 100 {
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys[start:min(start+100, len(keys))], ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 0 {
				if err := pause(ctx, attempt); err != nil {
					return nil, nil, err
				}
			}
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, nil, err
			}
			for _, av := range out.Responses[s.table] {
				switch pk := avString(av["pk"]); {
				case strings.HasPrefix(pk, "N#"):
					var it noticeItem
					if err := attributevalue.UnmarshalMap(av, &it); err != nil {
						return nil, nil, err
					}
					v := versions[pk[len("N#"):]]
					notices = append(notices, export.HeldNotice{Policy: v.version().Policy, State: notice.RecordState(it.State),
						At: parseStamp(it.At), Attempts: it.Attempts, MessageID: it.MessageID, Reason: it.Reason, Clock: clockOf(v.DueSK)})
				case strings.HasPrefix(pk, "L#"):
					var it memberItem
					if err := attributevalue.UnmarshalMap(av, &it); err != nil {
						return nil, nil, err
					}
					listed[people.Purpose(pk[len("L#"):])] = parseStamp(it.Since)
				}
			}
			req = out.UnprocessedKeys
		}
	}
	slices.SortFunc(notices, func(a, b export.HeldNotice) int {
		if c := a.Policy.Effective.Compare(b.Policy.Effective); c != 0 {
			return c
		}
		return strings.Compare(a.Policy.Version, b.Policy.Version)
	})
	return notices, listed, nil
}
