package downstream

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/smartprotect/pledge/shared/privacy"
)

type fakeAPI struct{ calls []*eventbridge.PutEventsInput }

func (f *fakeAPI) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.calls = append(f.calls, in)
	return &eventbridge.PutEventsOutput{}, nil
}

type memStore struct{ r privacy.Request }

func (m *memStore) UpdateRequest(_ context.Context, _ string, decide privacy.Decide) (privacy.Request, bool, error) {
	q, err := decide(m.r)
	if err != nil || q == nil {
		return m.r, false, err
	}
	m.r = *q
	return m.r, true, nil
}

var t0 = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

func TestAVerifiedRequestIsPublishedOnceWithoutTheAddress(t *testing.T) {
	timing := privacy.DefaultTiming
	timing.Systems = []string{"billing", "support"}
	r := timing.Enter("r1", "pid-1", privacy.Intake{Channel: privacy.Phone, Kind: privacy.Delete, Email: "jo@example.com", Received: t0,
		VerifiedBy: "amy", VerifiedHow: "call back"}, t0)
	api, st := &fakeAPI{}, &memStore{r: r}
	bus := Bus{API: api, Name: "pledge-requests"}
	q, err := Notify(context.Background(), st, bus, r, t0)
	if err != nil || q.Staff.Notified.IsZero() {
		t.Fatal(q, err)
	}
	if _, err := Notify(context.Background(), st, bus, q, t0); err != nil || len(api.calls) != 1 {
		t.Fatalf("published %d times, %v", len(api.calls), err)
	}
	e := api.calls[0].Entries[0]
	var got Event
	if *e.EventBusName != "pledge-requests" || *e.Source != Source || json.Unmarshal([]byte(*e.Detail), &got) != nil ||
		got.Request != "r1" || got.Person != "pid-1" || got.Kind != privacy.Delete || strings.Join(got.Systems, ",") != "billing,support" ||
		strings.Contains(*e.Detail, "@") {
		t.Fatalf("event = %s", *e.Detail)
	}
	unverified := privacy.DefaultTiming.New("r2", "pid-2", privacy.Access, "x@example.com", t0, "n")
	if _, err := Notify(context.Background(), st, bus, unverified, t0); err != nil || len(api.calls) != 1 {
		t.Fatalf("an unverified request was published")
	}
}

func TestManyEventsGoTenToACall(t *testing.T) {
	api := &fakeAPI{}
	var rs []privacy.Request
	for range 23 {
		rs = append(rs, privacy.Request{ID: "x"})
	}
	if err := (Bus{API: api, Name: "b"}).Publish(context.Background(), rs); err != nil || len(api.calls) != 3 || len(api.calls[2].Entries) != 3 {
		t.Fatalf("%d calls, %v", len(api.calls), err)
	}
}
