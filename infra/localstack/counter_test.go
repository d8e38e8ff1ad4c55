package localstack

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestCallsSignedAsAFunctionCanBeLeftOutOfTheCounts(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(target.Close)
	proxy, err := StartCounter(target.URL, DynamoDBOperation, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	as := func(keyID string) *dynamodb.Client {
		cfg := AWSConfig()
		cfg.Credentials = credentials.NewStaticCredentialsProvider(keyID, "secret", "")
		return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(proxy.URL) })
	}
	ctx := context.Background()
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "STATS"}}
	in := &dynamodb.GetItemInput{TableName: aws.String("t"), Key: key}
	for _, err := range []error{
		func() error { _, err := as("SignupFunction").GetItem(ctx, in); return err }(),
		func() error {
			_, err := as("MailEventsFunction").UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("t"), Key: key})
			return err
		}(),
		func() error { _, err := as("MailEventsFunction").GetItem(ctx, in); return err }(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := proxy.Counts(); !maps.Equal(got, map[string]int{"GetItem": 2, "UpdateItem": 1}) {
		t.Fatalf("counts = %v; want every call", got)
	}
	if got := proxy.CountsExcept("MailEventsFunction"); !maps.Equal(got, map[string]int{"GetItem": 1}) {
		t.Fatalf("counts except the mail-events function = %v; want the sign-up's read only", got)
	}
	proxy.Reset()
	if got := proxy.CountsExcept("X"); len(got) != 0 {
		t.Fatalf("after a reset = %v", got)
	}
}
