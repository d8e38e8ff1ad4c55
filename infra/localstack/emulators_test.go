package localstack_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/infra/localstack"
)

// TestMotoTransactionsCommitOrChangeNothing checks the local DynamoDB
// (moto behind infra/moto/serve.py, whose transactions keep an undo log of
// the items they name instead of copying whole tables): a cancelled
// transaction leaves every item it named as it was, puts, updates and
// deletes alike, and a committed one applies all of them.
func TestMotoTransactionsCommitOrChangeNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root, err := localstack.Root()
	if err != nil {
		t.Fatal(err)
	}
	moto, err := localstack.StartDynamoDB(ctx, root, filepath.Join(root, ".build/logs/localstack-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer moto.Stop()
	db := moto.DynamoDBClient()
	tmpl, err := localstack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const table = "pledge-moto-test"
	if err := localstack.CreateTable(ctx, db, tmpl, "Table", table); err != nil {
		t.Fatal(err)
	}
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	keyOf := func(pk, sk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": s(pk), "sk": s(sk)}
	}
	rich := map[string]types.AttributeValue{
		"pk": s("P#a"), "sk": s("PROFILE"), "count": n("1"), "email": s("a@example.com"),
		"duePK": s("DUE#2026-12-01"), "dueSK": s("x#P#a"),
		"purposes": &types.AttributeValueMemberSS{Value: []string{"newsletter", "surveys"}},
		"list":     &types.AttributeValueMemberL{Value: []types.AttributeValue{s("one"), n("2")}},
		"map":      &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": s("v"), "b": &types.AttributeValueMemberBOOL{Value: true}}},
	}
	gone := map[string]types.AttributeValue{"pk": s("P#b"), "sk": s("PROFILE"), "email": s("b@example.com")}
	for _, it := range []map[string]types.AttributeValue{rich, gone} {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(pk, sk string) map[string]types.AttributeValue {
		t.Helper()
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: keyOf(pk, sk), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}
	dueEntries := func() int {
		t.Helper()
		out, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(table), IndexName: aws.String("due"),
			KeyConditionExpression: aws.String("duePK = :d"), ExpressionAttributeValues: map[string]types.AttributeValue{":d": s("DUE#2026-12-01")}})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Items)
	}
	failing := types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String(table), Key: keyOf("P#nobody", "PROFILE"),
		ConditionExpression: aws.String("attribute_exists(pk)")}}
	writes := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(table), Item: map[string]types.AttributeValue{"pk": s("P#c"), "sk": s("PROFILE"),
			"duePK": s("DUE#2026-12-01"), "dueSK": s("x#P#c")}}},
		{Update: &types.Update{TableName: aws.String(table), Key: keyOf("P#a", "PROFILE"),
			UpdateExpression:          aws.String("SET #c = #c + :one, #m.#k = :w REMOVE email, duePK, dueSK"),
			ExpressionAttributeNames:  map[string]string{"#c": "count", "#m": "map", "#k": "k"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": n("1"), ":w": s("changed")}}},
		{Delete: &types.Delete{TableName: aws.String(table), Key: keyOf("P#b", "PROFILE")}},
	}

	t.Run("queries page through what matches in key order, once each", func(t *testing.T) {
		// serve.py drops moto's sort of the whole table inside a query: the
		// order must come from the query's own sort, in both directions,
		// on the table and on an index, across pages.
		var want []string
		for _, i := range rand.New(rand.NewPCG(3, 4)).Perm(40) {
			pk := fmt.Sprintf("P#q%02d", i)
			item := map[string]types.AttributeValue{"pk": s(pk), "sk": s("PROFILE"), "rcpt": s("R#7"), "email": s(pk + "@example.com")}
			for _, it := range []map[string]types.AttributeValue{item, {"pk": s("Q"), "sk": s(pk)}, {"pk": s(pk), "sk": s("C#1")}} {
				if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
					t.Fatal(err)
				}
			}
			want = append(want, pk)
		}
		slices.Sort(want)
		pages := func(in dynamodb.QueryInput, attr string) []string {
			t.Helper()
			var got []string
			for {
				out, err := db.Query(ctx, &in)
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range out.Items {
					got = append(got, it[attr].(*types.AttributeValueMemberS).Value)
				}
				if len(out.LastEvaluatedKey) == 0 {
					return got
				}
				in.ExclusiveStartKey = out.LastEvaluatedKey
			}
		}
		byIndex := pages(dynamodb.QueryInput{TableName: aws.String(table), IndexName: aws.String("recipients"), Limit: aws.Int32(7),
			KeyConditionExpression: aws.String("rcpt = :r"), ExpressionAttributeValues: map[string]types.AttributeValue{":r": s("R#7")}}, "pk")
		if !slices.Equal(byIndex, want) {
			t.Errorf("index query = %v; want %v", byIndex, want)
		}
		for _, forward := range []bool{true, false} {
			got := pages(dynamodb.QueryInput{TableName: aws.String(table), Limit: aws.Int32(6), ScanIndexForward: aws.Bool(forward),
				KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("Q")}}, "sk")
			w := slices.Clone(want)
			if !forward {
				slices.Reverse(w)
			}
			if !slices.Equal(got, w) {
				t.Errorf("table query (forward %v) = %v; want %v", forward, got, w)
			}
		}
	})

	t.Run("a cancelled transaction leaves every item it named as it was", func(t *testing.T) {
		_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: append(append([]types.TransactWriteItem{}, writes...), failing)})
		var cancelled *types.TransactionCanceledException
		if !errors.As(err, &cancelled) {
			t.Fatalf("err = %v; want a cancelled transaction", err)
		}
		if got := get("P#a", "PROFILE"); !reflect.DeepEqual(got, rich) {
			t.Errorf("updated item after the rollback = %v; want %v", got, rich)
		}
		if got := get("P#b", "PROFILE"); !reflect.DeepEqual(got, gone) {
			t.Errorf("deleted item after the rollback = %v; want %v", got, gone)
		}
		if got := get("P#c", "PROFILE"); got != nil {
			t.Errorf("put item after the rollback = %v; want none", got)
		}
		if got := dueEntries(); got != 1 {
			t.Errorf("due index holds %d entries after the rollback; want 1", got)
		}
	})

	t.Run("a committed transaction applies every write", func(t *testing.T) {
		if _, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: writes}); err != nil {
			t.Fatal(err)
		}
		a := get("P#a", "PROFILE")
		if c, ok := a["count"].(*types.AttributeValueMemberN); !ok || c.Value != "2" || a["email"] != nil {
			t.Errorf("updated item = %v; want count 2 and no email", a)
		}
		if get("P#b", "PROFILE") != nil || get("P#c", "PROFILE") == nil {
			t.Error("the delete or the put of a committed transaction did not apply")
		}
		if got := dueEntries(); got != 1 {
			t.Errorf("due index holds %d entries; want only the new item's", got)
		}
	})
}
