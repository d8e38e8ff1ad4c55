package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/store"
)

func TestMailCountersAreOneItemPerDayAndMetricAddedToWithOneWriteEach(t *testing.T) {
	ctx := context.Background()
	cdb := &countingDB{API: db}
	s := store.New(cdb, table)
	day := time.Date(2031, 3, 4, 23, 59, 0, 0, time.UTC)
	next := day.Add(2 * time.Minute)
	for range 3 {
		if err := s.CountMail(ctx, day, mail.MetricSends); err != nil {
			t.Fatal(err)
		}
	}
	before := cdb.n.Load()
	if err := s.CountMail(ctx, day, mail.MetricBouncesTransient); err != nil {
		t.Fatal(err)
	}
	if n := cdb.n.Load() - before; n != 1 {
		t.Errorf("counting one event cost %d DynamoDB requests, want 1", n)
	}
	// A time in another zone counts on its UTC day.
	if err := s.CountMail(ctx, next.In(time.FixedZone("PST", -8*3600)), mail.MetricSends); err != nil {
		t.Fatal(err)
	}

	got, err := s.MailCounts(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[mail.MetricSends] != 3 || got[mail.MetricBouncesTransient] != 1 {
		t.Fatalf("counts of %s = %v; want 3 sends and 1 transient bounce", day.Format("2006-01-02"), got)
	}
	if got, err := s.MailCounts(ctx, next); err != nil || len(got) != 1 || got[mail.MetricSends] != 1 {
		t.Fatalf("counts of the next day = %v, %v; want 1 send", got, err)
	}

	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("pk").Equal(expression.Value("STATS")).
		And(expression.Key("sk").BeginsWith("2031-03-0"))).Build()
	if err != nil {
		t.Fatal(err)
	}
	out, err := db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(table), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"2031-03-04#mail#sends": "3", "2031-03-04#mail#bounces-transient": "1", "2031-03-05#mail#sends": "1"}
	if len(out.Items) != len(want) {
		t.Fatalf("%d STATS items for those days, want %d: %v", len(out.Items), len(want), out.Items)
	}
	for _, it := range out.Items {
		sk := it["sk"].(*types.AttributeValueMemberS).Value
		n, isN := it["count"].(*types.AttributeValueMemberN)
		if !isN || n.Value != want[sk] || len(it) != 3 {
			t.Errorf("item %s = %v; want only pk, sk and count %s", sk, it, want[sk])
		}
		for name, v := range it {
			if s, isS := v.(*types.AttributeValueMemberS); isS && strings.Contains(s.Value, "@") {
				t.Errorf("item %s carries an address in %s", sk, name)
			}
		}
	}
}
