package main

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
)

// listOf pages through fixed members; the real store is tested in package store.
type listOf struct {
	members []string
	people  map[string]people.Person
}

func (l listOf) Members(_ context.Context, _ people.Purpose, cursor string, limit int32) ([]string, string, error) {
	start := 0
	for i, m := range l.members {
		if m == cursor {
			start = i + 1
		}
	}
	end := min(start+int(limit), len(l.members))
	next := ""
	if end < len(l.members) {
		next = l.members[end-1]
	}
	return l.members[start:end], next, nil
}

func (l listOf) Person(_ context.Context, id string) (people.Person, error) {
	p, ok := l.people[id]
	if !ok {
		return people.Person{}, people.ErrNotFound
	}
	return p, nil
}

type outbox struct{ sent []mail.MarketingMail }

func (o *outbox) SendMarketing(_ context.Context, m mail.MarketingMail) error {
	o.sent = append(o.sent, m)
	return nil
}

func TestSendSkipsWhoeverLeftTheListAndLinksEachToTheirOwnUnsubscribe(t *testing.T) {
	keys, _ := token.NewKeys(map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")}, "k1")
	base, _ := url.Parse("https://pledge.example")
	store := listOf{
		members: []string{"a", "b", "c"},
		people: map[string]people.Person{
			"a": {ID: "a", Email: "a@example.com", Active: []people.Purpose{people.Newsletter}},
			"b": {ID: "b", Email: "b@example.com", Active: []people.Purpose{people.Offers}}, // left the newsletter
		}, // c was erased
	}
	box := &outbox{}
	h := &handler{store: store, mailer: box, keys: keys, base: base, now: time.Now, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	res, err := h.handle(context.Background(), Send{})
	if err != nil || res.Sent != 1 || res.Skipped != 2 || res.Failed != 0 {
		t.Fatalf("handle = %+v, %v", res, err)
	}
	m := box.sent[0]
	if m.To != "a@example.com" || m.List != people.Newsletter || !strings.HasPrefix(m.UnsubscribeURL, "https://pledge.example/unsubscribe?t=") {
		t.Fatalf("sent %+v", m)
	}
	tok, _ := url.QueryUnescape(strings.TrimPrefix(m.UnsubscribeURL, "https://pledge.example/unsubscribe?t="))
	if c, err := keys.Verify(tok, token.Unsubscribe, time.Now().AddDate(3, 0, 0)); err != nil || c.Subject != "a" {
		t.Fatalf("the unsubscribe token = %+v, %v", c, err)
	}
}

func TestSendRefusesWhatItCannotDoRight(t *testing.T) {
	keys, _ := token.NewKeys(map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")}, "k1")
	base, _ := url.Parse("https://pledge.example")
	h := &handler{store: listOf{}, mailer: &outbox{}, keys: keys, now: time.Now, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := h.handle(context.Background(), Send{}); err == nil {
		t.Error("sent without a base URL for unsubscribe links")
	}
	h.base = base
	if _, err := h.handle(context.Background(), Send{List: "testimonials", Subject: "x"}); err == nil {
		t.Error("sent marketing to a list that is not a marketing purpose")
	}
}
