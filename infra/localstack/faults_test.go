package localstack

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// faultyProxy is a DynamoDB proxy injecting faults into every write in
// front of a target that answers every call with an empty success, and the
// number of calls that reached the target.
func faultyProxy(t *testing.T, f *Faults) (*dynamodb.Client, *Faults, *atomic.Int64) {
	t.Helper()
	var reached atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(target.Close)
	proxy, err := StartCounter(target.URL, DynamoDBOperation, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	proxy.InjectFaults(f)
	db := dynamodb.NewFromConfig(AWSConfig(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(proxy.URL) })
	return db, f, &reached
}

func TestAFaultyTransactionIsCancelledAsDynamoDBCancelsItUnderContention(t *testing.T) {
	db, faults, reached := faultyProxy(t, NewFaults(1, 1))
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "P#a"}, "sk": &types.AttributeValueMemberS{Value: "PROFILE"}}
	put := func(sk string) types.TransactWriteItem {
		return types.TransactWriteItem{Put: &types.Put{TableName: aws.String("t"), Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "P#a"}, "sk": &types.AttributeValueMemberS{Value: sk}}}}
	}
	_, err := db.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: aws.String("t"), Key: key, UpdateExpression: aws.String("SET #v = :v"),
			ExpressionAttributeNames: map[string]string{"#v": "v"}, ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: "1"}}}},
		put("C#1"), put("C#2"),
	}})
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		t.Fatalf("err = %v (%T); want a TransactionCanceledException", err, err)
	}
	var codes []string
	for _, r := range tc.CancellationReasons {
		codes = append(codes, aws.ToString(r.Code))
	}
	if !slices.Equal(codes, []string{"TransactionConflict", "None", "None"}) || aws.ToString(tc.Message) == "" || tc.ErrorCode() != "TransactionCanceledException" {
		t.Fatalf("reasons %v, message %q, code %q; want one reason per item, the first a conflict", codes, aws.ToString(tc.Message), tc.ErrorCode())
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("the cancelled transaction reached the target %d times", n)
	}
	// The SDK does not retry a cancelled transaction: one call, one fault.
	if got := faults.Counts(); got[FaultTransactionConflict] != 1 || faults.Total() != 1 {
		t.Fatalf("faults = %v; want one conflict", got)
	}
}

func TestAFaultySingleItemWriteIsThrottledAndTheSDKRetriesIt(t *testing.T) {
	db, faults, reached := faultyProxy(t, NewFaults(1, 1))
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "P#a"}, "sk": &types.AttributeValueMemberS{Value: "PROFILE"}}
	update := func(opts ...func(*dynamodb.Options)) error {
		_, err := db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String("pledge"), Key: key,
			UpdateExpression: aws.String("SET #v = :v"), ExpressionAttributeNames: map[string]string{"#v": "v"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: "1"}}}, opts...)
		return err
	}
	once := func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }
	for range 20 {
		err := update(once)
		var throttled *types.ThrottlingException
		var exceeded *types.ProvisionedThroughputExceededException
		var reasons []types.ThrottlingReason
		switch {
		case errors.As(err, &throttled):
			reasons = throttled.ThrottlingReasons
		case errors.As(err, &exceeded):
			reasons = exceeded.ThrottlingReasons
		default:
			t.Fatalf("err = %v; want a throttling error", err)
		}
		if len(reasons) != 1 || aws.ToString(reasons[0].Resource) != "arn:aws:dynamodb:us-east-1:000000000000:table/pledge" {
			t.Fatalf("throttling reasons = %+v; want the table named (%v)", reasons, err)
		}
	}
	if got := faults.Counts(); got[FaultThrottling] == 0 || got[FaultThroughputExceeded] == 0 || faults.Total() != 20 {
		t.Fatalf("faults = %v; want both kinds in 20 calls", got)
	}

	// Throttling is retryable: the SDK tries DynamoDB's default 4 times.
	if err := update(); err == nil || faults.Total() != 24 || reached.Load() != 0 {
		t.Fatalf("err %v, %d faults injected, %d calls reached the target; want an error, 4 more faults and no call", err, faults.Total(), reached.Load())
	}

	// Reads always go through.
	if _, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("pledge"), Key: key}); err != nil || reached.Load() != 1 {
		t.Fatalf("GetItem = %v, reached %d; want it forwarded", err, reached.Load())
	}
	if faults.Total() != 24 {
		t.Fatalf("a read got a fault: %v", faults.Counts())
	}
}

func TestFaultsAreReproducibleAndHitTheShareAskedFor(t *testing.T) {
	ops := []string{"TransactWriteItems", "UpdateItem", "GetItem", "PutItem", "Query", "DeleteItem", "BatchWriteItem"}
	run := func(seed uint64) ([]string, *Faults) {
		f := NewFaults(DefaultFaultRate, seed)
		var kinds []string
		for i := range 7000 {
			kinds = append(kinds, f.pick(ops[i%len(ops)]))
		}
		return kinds, f
	}
	a, fa := run(7)
	b, _ := run(7)
	c, _ := run(8)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Fatal("the same seed must inject the same faults, another seed others")
	}
	for i, k := range a {
		if op := ops[i%len(ops)]; (op == "GetItem" || op == "Query") && k != "" {
			t.Fatalf("a read (%s) got %s", op, k)
		}
	}
	counts := fa.Counts()
	writes := 5000.0 // five of the seven operations are writes
	if share := float64(fa.Total()) / writes; share < 0.18 || share > 0.22 {
		t.Fatalf("%.3f of writes faulted (%v); want about %v", share, counts, DefaultFaultRate)
	}
	if counts[FaultTransactionConflict] == 0 || counts[FaultThrottling] == 0 || counts[FaultThroughputExceeded] == 0 {
		t.Fatalf("faults = %v; want every kind", counts)
	}
}

func TestALostAnswerIsAWriteDoneAndA500(t *testing.T) {
	db, faults, reached := faultyProxy(t, NewFaults(0, 1).LoseAnswers(1))
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "P#a"}, "sk": &types.AttributeValueMemberS{Value: "PROFILE"}}
	set := &types.Update{TableName: aws.String("t"), Key: key, UpdateExpression: aws.String("SET #v = :v"),
		ExpressionAttributeNames: map[string]string{"#v": "v"}, ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: "1"}}}

	// The SDK retries the 500 with the same client request token: DynamoDB
	// answers that retry with success and does not do the work again.
	_, err := db.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Update: set}}})
	if err != nil || reached.Load() != 1 || faults.Counts()[FaultLostAnswer] != 1 {
		t.Fatalf("err %v, reached the target %d times, faults %v; want success, done once, one answer lost", err, reached.Load(), faults.Counts())
	}

	// A single-item write has no token: each retry is done again and loses its answer.
	_, err = db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: set.TableName, Key: key, UpdateExpression: set.UpdateExpression,
		ExpressionAttributeNames: set.ExpressionAttributeNames, ExpressionAttributeValues: set.ExpressionAttributeValues})
	var ise *types.InternalServerError
	if !errors.As(err, &ise) || reached.Load() != 5 || faults.Counts()[FaultLostAnswer] != 5 {
		t.Fatalf("err %v, reached the target %d times, faults %v; want an InternalServerError after 4 tries, each done", err, reached.Load(), faults.Counts())
	}
}
