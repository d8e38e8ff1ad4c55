package e2e

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/store"
)

// checkMailCounts waits for the mail-events function to have counted
// every mail s's SES accepted (s records its sends) in the daily sends
// counter of the UTC day SES took it, exactly once (the local stack
// delivers each event once), and checks that no STATS item holds more
// than its key and count: no address, no person key.
func checkMailCounts(t *testing.T, s *localstack.Stack) {
	t.Helper()
	ctx := context.Background()
	want, persons := map[string]int64{}, map[string]bool{}
	for _, sent := range s.SESCalls.Sends() {
		if sent.ConfigurationSet == "" {
			continue
		}
		for _, m := range sent.Mails {
			want[sent.At.UTC().Format("2006-01-02")]++
			persons[m.Tags[mail.TagPerson]] = true
		}
	}
	if len(want) == 0 {
		t.Fatal("no mail went through the configuration set")
	}
	st := store.New(s.DynamoDB.DynamoDBClient(), s.Table)
	got := map[string]int64{}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		for day := range want {
			d, _ := time.Parse("2006-01-02", day)
			counts, err := st.MailCounts(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			got[day] = counts[mail.MetricSends]
		}
		if maps.Equal(got, want) || time.Now().After(deadline) {
			break
		}
	}
	if !maps.Equal(got, want) {
		t.Fatalf("daily sends counters = %v; want %v, one per mail SES accepted", got, want)
	}

	out, err := s.DynamoDB.DynamoDBClient().Query(ctx, &dynamodb.QueryInput{TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "STATS"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) == 0 {
		t.Fatal("no STATS items")
	}
	for _, it := range out.Items {
		sk := it["sk"].(*types.AttributeValueMemberS).Value
		if _, isN := it["count"].(*types.AttributeValueMemberN); !isN || len(it) != 3 {
			t.Errorf("STATS item %s = %v; want pk, sk and a count only", sk, it)
		}
		for p := range persons {
			if p != "" && strings.Contains(sk, p) {
				t.Errorf("STATS item %s names a person key", sk)
			}
		}
		if strings.Contains(sk, "@") {
			t.Errorf("STATS item %s carries an address", sk)
		}
	}
}
