package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/smartprotect/pledge/api"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/web"
)

// memAccounts keeps people by id; the real store is tested against
// DynamoDB in package store.
type memAccounts map[string]people.Person

func (m memAccounts) Person(_ context.Context, id string) (people.Person, error) {
	if p, ok := m[id]; ok {
		return p, nil
	}
	return people.Person{}, people.ErrNotFound
}

func (m memAccounts) UpdatePerson(_ context.Context, id string, decide people.Decide) (people.Change, error) {
	p, ok := m[id]
	if !ok {
		p = people.Person{ID: id}
	}
	ch, err := decide(p)
	if err == nil && ch.After != nil {
		q := *ch.After
		q.Version = p.Version + 1
		m[id] = q
	}
	return ch, err
}

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func newHandler(m memAccounts) *handler {
	return &handler{
		accounts: &people.Accounts{Store: m, PersonID: func(e string) string { return "id-" + e }, Now: func() time.Time { return now },
			Retention: people.DefaultRetention, MaxSkew: 5 * time.Minute},
		log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func post(h *handler, contentType, body string) web.Response {
	req := web.Request{RouteKey: "POST /admin/accounts", Body: body, Headers: map[string]string{"content-type": contentType},
		RequestContext: events.APIGatewayV2HTTPRequestContext{Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::1:role/product"}}}}
	resp, err := h.handle(context.Background(), req)
	if err != nil {
		panic(err) // no fault is possible with the in-memory store
	}
	if err := contract.CheckEvent(req, resp); err != nil {
		panic(err) // the answer breaks api/openapi.yaml
	}
	return resp
}

// contract is api/openapi.yaml, which every answer here must match.
var contract = api.MustLoad()

func TestAClosedAccountIsAnsweredWithWhenItsDataGoes(t *testing.T) {
	m := memAccounts{}
	h := newHandler(m)
	if resp := post(h, "application/json", `{"email":"pat@example.com","name":"Pat","event":"opened","at":"2026-01-02T03:04:05Z"}`); resp.StatusCode != http.StatusOK ||
		!strings.Contains(resp.Body, `"account":"open"`) || !strings.Contains(resp.Body, `"changed":true`) || strings.Contains(resp.Body, "retention") {
		t.Fatalf("opened = %d %s", resp.StatusCode, resp.Body)
	}
	// API Gateway may deliver the body base64-encoded.
	body := base64.StdEncoding.EncodeToString([]byte(`{"email":"pat@example.com","event":"closed","at":"2026-11-20T00:00:00Z"}`))
	req := web.Request{RouteKey: "POST /admin/accounts", Body: body, IsBase64Encoded: true, Headers: map[string]string{"content-type": "application/json; charset=utf-8"}}
	resp, err := h.handle(context.Background(), req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("closed = %d %s, %v", resp.StatusCode, resp.Body, err)
	}
	var got struct {
		Person    string `json:"person"`
		Account   string `json:"account"`
		Changed   bool   `json:"changed"`
		Held      bool   `json:"held"`
		Retention struct {
			Rule string    `json:"rule"`
			Due  time.Time `json:"due"`
		} `json:"retention"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).Add(people.DefaultRetention.ClosedAccount)
	if got.Person != "id-pat@example.com" || got.Account != "closed" || !got.Changed || !got.Held ||
		got.Retention.Rule != "closed-account" || !got.Retention.Due.Equal(want) {
		t.Fatalf("closed = %s; want the closed-account rule due %s", resp.Body, want)
	}
	if m["id-pat@example.com"].Account.State != people.AccountClosed {
		t.Fatalf("stored = %+v", m["id-pat@example.com"])
	}
	again := post(h, "application/json", `{"email":"pat@example.com","event":"closed","at":"2026-11-20T00:00:00Z"}`)
	if again.StatusCode != http.StatusOK || !strings.Contains(again.Body, `"changed":false`) {
		t.Fatalf("the same event again = %d %s", again.StatusCode, again.Body)
	}
	unknown := post(h, "application/json", `{"email":"who@example.com","event":"closed","at":"2026-11-20T00:00:00Z"}`)
	if unknown.StatusCode != http.StatusOK || !strings.Contains(unknown.Body, `"held":false`) || !strings.Contains(unknown.Body, `"account":"none"`) {
		t.Fatalf("an unknown address = %d %s", unknown.StatusCode, unknown.Body)
	}
}

func TestBadAccountEventsGetAClear4xxAndChangeNothing(t *testing.T) {
	good := `{"email":"pat@example.com","event":"opened","at":"2026-11-20T00:00:00Z"}`
	cases := []struct {
		name, contentType, body string
		status                  int
		field                   string
	}{
		{"a form instead of JSON", "application/x-www-form-urlencoded", "email=pat%40example.com&event=opened", http.StatusUnsupportedMediaType, ""},
		{"no content type", "", good, http.StatusUnsupportedMediaType, ""},
		{"broken JSON", "application/json", `{"email":`, http.StatusBadRequest, ""},
		{"an unknown field", "application/json", `{"email":"pat@example.com","event":"opened","at":"2026-11-20T00:00:00Z","admin":"yes"}`, http.StatusBadRequest, "admin"},
		{"a number for the time", "application/json", `{"email":"pat@example.com","event":"opened","at":1700000000}`, http.StatusBadRequest, "at"},
		{"invalid UTF-8", "application/json", "{\"email\":\"pat@example.com\",\"name\":\"\xff\",\"event\":\"opened\",\"at\":\"2026-11-20T00:00:00Z\"}", http.StatusBadRequest, ""},
		{"a header injection in the name", "application/json", `{"email":"pat@example.com","name":"Pat\r\nBcc: x@example.com","event":"opened","at":"2026-11-20T00:00:00Z"}`, http.StatusBadRequest, "name"},
		{"a bad address", "application/json", `{"email":"pat@","event":"opened","at":"2026-11-20T00:00:00Z"}`, http.StatusBadRequest, "email"},
		{"an unknown event", "application/json", `{"email":"pat@example.com","event":"deleted","at":"2026-11-20T00:00:00Z"}`, http.StatusBadRequest, "event"},
		{"a time in the future", "application/json", `{"email":"pat@example.com","event":"opened","at":"2027-01-01T00:00:00Z"}`, http.StatusBadRequest, "at"},
		{"an oversized body", "application/json", `{"email":"pat@example.com","name":"` + strings.Repeat("a", web.MaxBody) + `"}`, http.StatusRequestEntityTooLarge, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := memAccounts{}
			resp := post(newHandler(m), c.contentType, c.body)
			var e web.ErrorBody
			if resp.StatusCode != c.status || json.Unmarshal([]byte(resp.Body), &e) != nil || e.Error.Message == "" || e.Error.Field != c.field {
				t.Fatalf("= %d %s; want %d with a message naming field %q", resp.StatusCode, resp.Body, c.status, c.field)
			}
			if len(m) != 0 {
				t.Fatalf("a refused event wrote %+v", m)
			}
		})
	}
	resp, _ := newHandler(memAccounts{}).handle(context.Background(), web.Request{RouteKey: "GET /admin/accounts"})
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another route = %d", resp.StatusCode)
	}
}

// FuzzAccountEvent: whatever the body, the answer is a 200 or a clear 4xx,
// never a fault, and only a 200 writes.
func FuzzAccountEvent(f *testing.F) {
	f.Add("application/json", `{"email":"pat@example.com","event":"closed","at":"2026-11-20T00:00:00Z"}`)
	f.Add("application/json", `{"email":"pat@example.com","name":"Pat","event":"opened","at":"2026-11-20T00:00:00.123+01:00"}`)
	f.Add("application/json", `{"email":"p\u0000@example.com","event":"opened","at":"2026-02-30T00:00:00Z"}`)
	f.Add("application/json; charset=utf-8", `{"email":["a"],"event":null}`)
	f.Add("multipart/form-data", "--x--")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		m := memAccounts{}
		req := web.Request{RouteKey: "POST /admin/accounts", Body: body, Headers: map[string]string{"content-type": contentType}}
		resp, err := newHandler(m).handle(context.Background(), req)
		if err != nil {
			t.Fatalf("a fault for %q: %v", body, err)
		}
		if err := contract.CheckEvent(req, resp); err != nil {
			t.Fatalf("the answer to %q breaks the spec: %v", body, err)
		}
		switch resp.StatusCode {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			if len(m) != 0 {
				t.Fatalf("a %d wrote %+v", resp.StatusCode, m)
			}
		default:
			t.Fatalf("status %d for %q", resp.StatusCode, body)
		}
	})
}
