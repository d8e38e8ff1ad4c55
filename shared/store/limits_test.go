package store_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

// countingDB counts every request the store sends.
type countingDB struct {
	store.API
	n atomic.Int64
}

func (c *countingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.n.Add(1)
	return c.API.GetItem(ctx, in, o...)
}

func (c *countingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.n.Add(1)
	return c.API.UpdateItem(ctx, in, o...)
}

func (c *countingDB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.n.Add(1)
	return c.API.Query(ctx, in, o...)
}

func (c *countingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.n.Add(1)
	return c.API.TransactWriteItems(ctx, in, o...)
}

func (c *countingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.n.Add(1)
	return c.API.PutItem(ctx, in, o...)
}

func (c *countingDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	c.n.Add(1)
	return c.API.BatchWriteItem(ctx, in, o...)
}

func (c *countingDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.n.Add(1)
	return c.API.BatchGetItem(ctx, in, o...)
}

// counterItem reads a limit counter as stored: its count and TTL; ok false
// when there is no item.
func counterItem(t *testing.T, pk, sk string) (n, ttl int64, ok bool) {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		return 0, 0, false
	}
	num := func(name string) int64 {
		v, isN := out.Item[name].(*types.AttributeValueMemberN)
		if !isN {
			t.Fatalf("counter %s %s: %s is %T, want a number", pk, sk, name, out.Item[name])
		}
		i, _ := strconv.ParseInt(v.Value, 10, 64)
		return i
	}
	if len(out.Item) != 4 {
		t.Errorf("counter %s %s holds %d attributes, want pk, sk, n and ttl only: %v", pk, sk, len(out.Item), out.Item)
	}
	return num("n"), num("ttl"), true
}

func TestACounterCountsToItsLimitInItsWindowAndExpiresWithIt(t *testing.T) {
	ctx := context.Background()
	cdb := &countingDB{API: db}
	s := store.New(cdb, table)
	start := time.Date(2026, 11, 30, 6, 10, 0, 0, time.UTC)
	c := people.Counter{Kind: people.MailboxCounter, Key: "k-window", Window: start, Max: 3, Expires: start.Add(10 * time.Minute)}
	for i := range 3 {
		if ok, err := s.Take(ctx, c); err != nil || !ok {
			t.Fatalf("take %d of 3 = %v, %v; want counted", i+1, ok, err)
		}
	}
	n, ttl, ok := counterItem(t, "LIMIT#mailbox#k-window", "2026-11-30T06:10:00Z")
	if !ok || n != 3 || ttl != start.Add(10*time.Minute).Unix() {
		t.Fatalf("counter = n %d, ttl %d (present %v); want 3 and the window's end %d", n, ttl, ok, start.Add(10*time.Minute).Unix())
	}
	before := cdb.n.Load()
	for range 5 {
		if ok, err := s.Take(ctx, c); err != nil || ok {
			t.Fatalf("take over the limit = %v, %v; want refused", ok, err)
		}
	}
	if per := float64(cdb.n.Load()-before) / 5; per > 1 {
		t.Errorf("a refused take cost %.1f DynamoDB requests, want at most 1", per)
	}
	if n, _, _ := counterItem(t, "LIMIT#mailbox#k-window", "2026-11-30T06:10:00Z"); n != 3 {
		t.Fatalf("after refusals the counter holds %d, want still 3", n)
	}

	next := c
	next.Window, next.Expires = start.Add(10*time.Minute), start.Add(20*time.Minute)
	if ok, err := s.Take(ctx, next); err != nil || !ok {
		t.Fatalf("take in the next window = %v, %v; want a fresh count", ok, err)
	}
	if n, ttl, _ := counterItem(t, "LIMIT#mailbox#k-window", "2026-11-30T06:20:00Z"); n != 1 || ttl != start.Add(20*time.Minute).Unix() {
		t.Fatalf("next window's counter = %d, ttl %d", n, ttl)
	}
}

func TestAGivenBackCountMakesRoomAndNeverMakesACounter(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	start := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	c := people.Counter{Kind: people.MailsCounter, Key: "k-give-back", Window: start, Max: 1, Expires: start.Add(time.Minute)}
	if err := s.GiveBack(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := counterItem(t, "LIMIT#mails#k-give-back", "2026-11-30T06:00:00Z"); ok {
		t.Fatal("giving back to a counter that does not exist made one")
	}
	if ok, _ := s.Take(ctx, c); !ok {
		t.Fatal("first take refused")
	}
	if ok, _ := s.Take(ctx, c); ok {
		t.Fatal("second take of a limit of 1 counted")
	}
	if err := s.GiveBack(ctx, c); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Take(ctx, c); err != nil || !ok {
		t.Fatalf("take after giving back = %v, %v; want counted", ok, err)
	}
	if err := s.GiveBack(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.GiveBack(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := counterItem(t, "LIMIT#mails#k-give-back", "2026-11-30T06:00:00Z"); n != 0 {
		t.Fatalf("counter after giving back more than was taken = %d, want 0", n)
	}
}

func TestConcurrentTakesNeverCountPastTheLimit(t *testing.T) {
	ctx := context.Background()
	s := store.New(db, table)
	start := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	c := people.Counter{Kind: people.SourceCounter, Key: "k-concurrent", Window: start, Max: 5, Expires: start.Add(10 * time.Minute)}
	var counted atomic.Int64
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			ok, err := s.Take(ctx, c)
			if err != nil {
				t.Error(err)
			}
			if ok {
				counted.Add(1)
			}
		})
	}
	wg.Wait()
	if counted.Load() != 5 {
		t.Fatalf("%d of 40 concurrent takes counted, want exactly the limit, 5", counted.Load())
	}
}

func TestSignUpsOverTheLimitsWriteOnlyTheCounterAndSendNothing(t *testing.T) {
	ctx := context.Background()
	cdb := &countingDB{API: db}
	s := store.New(cdb, table)
	w := newWorld(s, time.Date(2026, 11, 30, 7, 0, 1, 0, time.UTC))
	svc := w.service()
	svc.Limiter = &people.Limiter{Counters: s, Keyed: keyed, Now: w.clock, Limits: people.Limits{
		PerSource:  people.Limit{Max: 100, Window: 10 * time.Minute},
		PerMailbox: people.Limit{Max: 1, Window: 10 * time.Minute},
		Overall:    people.Limit{Max: 100, Window: time.Minute},
	}}
	signUp := func(email string) error {
		_, err := svc.SignUp(ctx, people.SignUpInput{Email: email, Purposes: []string{"newsletter"}, PolicyVersion: "2015-03-22",
			Context: people.Context{Source: "signup-form", IP: "192.0.2.77"}})
		return err
	}
	if err := signUp("limit-victim+1@gmail.com"); err != nil {
		t.Fatal(err)
	}
	if len(w.mails) != 1 {
		t.Fatalf("%d mails after the first sign-up, want 1", len(w.mails))
	}
	variants := []string{"limit-victim+2@gmail.com", "limit-vic.tim@googlemail.com", "Limit-Victim@gmail.com", "l.imit-victim+x@gmail.com"}
	before := cdb.n.Load()
	for _, v := range variants {
		err := signUp(v)
		e, ok := people.AsError(err)
		if !ok || e.Code != people.RateLimited || e.RetryAfter <= 0 || e.RetryAfter > 10*time.Minute {
			t.Fatalf("sign-up for %s = %v; want refused as rate limited with a Retry-After within the window", v, err)
		}
		if _, err := store.New(db, table).Person(ctx, keyed(people.NormaliseEmail(v))); !errors.Is(err, people.ErrNotFound) {
			t.Errorf("a refused sign-up for %s wrote the person (%v)", v, err)
		}
	}
	if per := float64(cdb.n.Load()-before) / float64(len(variants)); per > 1 {
		t.Errorf("a refused sign-up cost %.2f DynamoDB requests, want at most 1", per)
	}
	if len(w.mails) != 1 {
		t.Fatalf("%d mails to one mailbox, want 1", len(w.mails))
	}
}
