package sesreplay

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

// Memory is a people.Store in memory, for the reference replay: it writes
// what each decision says, as the table's store does, and counts the
// ledger entries per person.
type Memory struct {
	mu      sync.Mutex
	people  map[string]people.Person
	entries map[string]int
}

// NewMemory holds ps.
func NewMemory(ps []people.Person) *Memory {
	m := &Memory{people: map[string]people.Person{}, entries: map[string]int{}}
	for _, p := range ps {
		m.people[p.ID] = p
	}
	return m
}

// Person reads one person; people.ErrNotFound if there is none.
func (m *Memory) Person(_ context.Context, id string) (people.Person, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.people[id]
	if !ok {
		return people.Person{}, people.ErrNotFound
	}
	return p, nil
}

// UpdatePerson runs decide on the person and keeps what it changes.
func (m *Memory) UpdatePerson(_ context.Context, id string, decide people.Decide) (people.Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.people[id]
	if !ok {
		p = people.Person{ID: id}
	}
	ch, err := decide(p)
	if err != nil || ch.IsZero() {
		return ch, err
	}
	if ch.After != nil {
		q := *ch.After
		q.Version = p.Version + 1
		m.people[id] = q
	}
	m.entries[id] += len(ch.Events)
	return ch, nil
}

// State is one person's state as the replay compares it.
func (m *Memory) State(id string) State {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.people[id]
	return State{Deliverability: p.Deliverability, Active: slices.Clone(p.Active), Pending: slices.Clone(p.Pending), Status: p.Status, Entries: m.entries[id]}
}

// StateIn is one person's state as the table holds it.
func StateIn(ctx context.Context, s *store.Store, id string) (State, error) {
	p, err := s.Person(ctx, id)
	if err != nil {
		return State{}, err
	}
	evs, err := s.Consents(ctx, id)
	if err != nil {
		return State{}, err
	}
	return State{Deliverability: p.Deliverability, Active: p.Active, Pending: p.Pending, Status: p.Status, Entries: len(evs)}, nil
}

// Requests is what a Counting client passed on: reads, writes, and the
// writes refused on their condition (a lost race), which count as writes.
type Requests struct{ Reads, Writes, FailedConditions int }

// Add is r and o together.
func (r Requests) Add(o Requests) Requests {
	return Requests{r.Reads + o.Reads, r.Writes + o.Writes, r.FailedConditions + o.FailedConditions}
}

// Sub is r less o.
func (r Requests) Sub(o Requests) Requests {
	return Requests{r.Reads - o.Reads, r.Writes - o.Writes, r.FailedConditions - o.FailedConditions}
}

// Counting is a store.API that counts the requests it passes on.
type Counting struct {
	API store.API
	mu  sync.Mutex
	n   Requests
}

// Requests is what passed so far.
func (c *Counting) Requests() Requests {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *Counting) count(write bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !write {
		c.n.Reads++
		return
	}
	c.n.Writes++
	var ccf *types.ConditionalCheckFailedException
	var tce *types.TransactionCanceledException
	if errors.As(err, &ccf) {
		c.n.FailedConditions++
	} else if errors.As(err, &tce) && slices.ContainsFunc(tce.CancellationReasons, func(r types.CancellationReason) bool {
		return r.Code != nil && *r.Code == "ConditionalCheckFailed"
	}) {
		c.n.FailedConditions++
	}
}

// GetItem passes the request on and counts a read.
func (c *Counting) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := c.API.GetItem(ctx, in, o...)
	c.count(false, err)
	return out, err
}

// BatchGetItem passes the request on and counts a read.
func (c *Counting) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	out, err := c.API.BatchGetItem(ctx, in, o...)
	c.count(false, err)
	return out, err
}

// Query passes the request on and counts a read.
func (c *Counting) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := c.API.Query(ctx, in, o...)
	c.count(false, err)
	return out, err
}

// UpdateItem passes the request on and counts a write.
func (c *Counting) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	out, err := c.API.UpdateItem(ctx, in, o...)
	c.count(true, err)
	return out, err
}

// PutItem passes the request on and counts a write.
func (c *Counting) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := c.API.PutItem(ctx, in, o...)
	c.count(true, err)
	return out, err
}

// TransactWriteItems passes the request on and counts a write.
func (c *Counting) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := c.API.TransactWriteItems(ctx, in, o...)
	c.count(true, err)
	return out, err
}

// BatchWriteItem passes the request on and counts a write.
func (c *Counting) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	out, err := c.API.BatchWriteItem(ctx, in, o...)
	c.count(true, err)
	return out, err
}
