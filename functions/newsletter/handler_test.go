package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/mail/mailtest"
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

// subscribers is a list of n newsletter subscribers, m0000 on.
func subscribers(n int) listOf {
	l := listOf{people: map[string]people.Person{}}
	for i := range n {
		id := fmt.Sprintf("m%04d", i)
		l.members = append(l.members, id)
		l.people[id] = people.Person{ID: id, Email: id + "@example.com", Active: []people.Purpose{people.Newsletter}}
	}
	return l
}

// outbox records each send at virtual time; refuse, if set, answers a send
// (its try-th for that address) with an error instead.
type outbox struct {
	clock  *mailtest.Clock
	sent   []mail.MarketingMail
	calls  []mailtest.Call
	tries  map[string]int
	refuse func(to string, try int) error
}

func (o *outbox) SendMarketing(_ context.Context, m mail.MarketingMail) error {
	o.calls = append(o.calls, mailtest.Call{At: o.clock.Now(), Recipients: 1})
	o.tries[m.To]++
	if o.refuse != nil {
		if err := o.refuse(m.To, o.tries[m.To]); err != nil {
			return err
		}
	}
	o.sent = append(o.sent, m)
	return nil
}

type rate float64

func (r rate) MaxSendRate(context.Context) (float64, error) { return float64(r), nil }

var news = Send{List: "newsletter", Subject: "News", Paragraphs: []string{"Hello."}}

func newHandler(t *testing.T, store listStore, r float64) (*handler, *outbox, *mailtest.Clock) {
	t.Helper()
	keys, err := token.NewKeys(map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")}, "k1")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://pledge.example")
	c := mailtest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	box := &outbox{clock: c, tries: map[string]int{}}
	return &handler{store: store, mailer: box, account: rate(r), clock: c, keys: keys, base: base,
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}, box, c
}

func TestSendSkipsWhoeverLeftTheListAndLinksEachToTheirOwnUnsubscribe(t *testing.T) {
	store := listOf{
		members: []string{"a", "b", "c"},
		people: map[string]people.Person{
			"a": {ID: "a", Email: "a@example.com", Active: []people.Purpose{people.Newsletter}},
			"b": {ID: "b", Email: "b@example.com", Active: []people.Purpose{people.Offers}}, // left the newsletter
		}, // c was erased
	}
	h, box, _ := newHandler(t, store, 14)
	res, err := h.handle(context.Background(), Send{Subject: "News", Paragraphs: []string{"Hello."}}) // the list defaults to the newsletter
	if err != nil || res.Sent != 1 || res.Skipped != 2 || res.Failed != 0 || res.Undeliverable != 0 || res.List != "newsletter" {
		t.Fatalf("handle = %+v, %v", res, err)
	}
	m := box.sent[0]
	if m.To != "a@example.com" || m.List != people.Newsletter || m.Subject != "News" || !strings.HasPrefix(m.UnsubscribeURL, "https://pledge.example/unsubscribe?t=") {
		t.Fatalf("sent %+v", m)
	}
	tok, _ := url.QueryUnescape(strings.TrimPrefix(m.UnsubscribeURL, "https://pledge.example/unsubscribe?t="))
	if c, err := h.keys.Verify(tok, token.Unsubscribe, time.Now().AddDate(3, 0, 0)); err != nil || c.Subject != "a" {
		t.Fatalf("the unsubscribe token = %+v, %v", c, err)
	}
}

func TestSendRefusesWhatItCannotDoRight(t *testing.T) {
	h, box, _ := newHandler(t, subscribers(3), 14)
	h.base = nil
	if _, err := h.handle(context.Background(), news); err == nil {
		t.Error("sent without a base URL for unsubscribe links")
	}
	h, box, _ = newHandler(t, subscribers(3), 0)
	if _, err := h.handle(context.Background(), news); err == nil || !strings.Contains(err.Error(), "not enabled") {
		t.Errorf("sent with the account's sending disabled: %v", err)
	}
	if len(box.calls) != 0 {
		t.Fatalf("%d mails sent", len(box.calls))
	}
}

func TestASendThatCannotBeRightIsAClientErrorAndSendsNothing(t *testing.T) {
	for _, c := range []struct {
		name  string
		in    Send
		field string
	}{
		{"no subject", Send{List: "newsletter", Paragraphs: []string{"Hello."}}, "subject"},
		{"a blank subject", Send{List: "newsletter", Subject: "  \t", Paragraphs: []string{"Hello."}}, "subject"},
		{"nothing at all", Send{}, "subject"},
		{"a header injected in the subject", Send{List: "newsletter", Subject: "Hi\r\nBcc: all@example.com", Paragraphs: []string{"Hello."}}, "subject"},
		{"a tab in the subject", Send{List: "newsletter", Subject: "Hi\tthere", Paragraphs: []string{"Hello."}}, "subject"},
		{"an unknown list", Send{List: "gossip", Subject: "News", Paragraphs: []string{"Hello."}}, "list"},
		{"a list that is not marketing", Send{List: "testimonials", Subject: "News", Paragraphs: []string{"Hello."}}, "list"},
		{"no paragraphs", Send{List: "newsletter", Subject: "News"}, "paragraphs"},
		{"only blank paragraphs", Send{List: "newsletter", Subject: "News", Paragraphs: []string{"", " "}}, "paragraphs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, box, _ := newHandler(t, subscribers(3), 14)
			res, err := h.handle(context.Background(), c.in)
			e, ok := people.AsError(err)
			if !ok || e.Code != people.Invalid || e.Field != c.field {
				t.Fatalf("handle = %+v, %v; want an invalid %s", res, err, c.field)
			}
			if len(box.calls) != 0 || res.Sent != 0 {
				t.Fatalf("%d mails sent", len(box.calls))
			}
		})
	}
}

func TestNoSecondHoldsMoreMailThanTheAccountsRate(t *testing.T) {
	for _, r := range []float64{1, 7, 14, 50} {
		h, box, c := newHandler(t, subscribers(250), r) // three pages of members
		start := c.Now()
		res, err := h.handle(context.Background(), news)
		if err != nil || res.Sent != 250 || res.Rate != r {
			t.Fatalf("rate %v: handle = %+v, %v", r, res, err)
		}
		if most := mailtest.MostInAnySecond(box.calls); float64(most) > r {
			t.Fatalf("rate %v: %d mails in one second", r, most)
		}
		// Paced, not merely slow: the run keeps close to the rate.
		elapsed := box.calls[len(box.calls)-1].At.Sub(start).Seconds() + 1/r
		if achieved := 250 / elapsed / r; achieved < 0.9 || achieved > 1 {
			t.Fatalf("rate %v: achieved %.2f of it", r, achieved)
		}
	}
}

func TestAThrottledMailIsSentAgainAfterABackoff(t *testing.T) {
	h, box, _ := newHandler(t, subscribers(20), 14)
	box.refuse = func(to string, try int) error {
		if to == "m0005@example.com" && try <= 2 {
			return fmt.Errorf("mail: SendEmail(marketing): %w: TooManyRequestsException", mail.ErrThrottled)
		}
		if to == "m0009@example.com" {
			return fmt.Errorf("mail: SendEmail(marketing): %w: TooManyRequestsException", mail.ErrThrottled)
		}
		return nil
	}
	res, err := h.handle(context.Background(), news)
	if err != nil || res.Sent != 19 || res.Failed != 1 || res.Throttled != 2+maxTries-1 || res.Stopped != "" {
		t.Fatalf("handle = %+v, %v; want m0005 sent on its third try, m0009 failed after %d", res, err, maxTries)
	}
	var tries []time.Time
	for _, c := range box.calls[5:8] {
		tries = append(tries, c.At)
	}
	if first, second := tries[1].Sub(tries[0]), tries[2].Sub(tries[1]); first != time.Second || second != 2*time.Second {
		t.Fatalf("m0005 was tried again after %v, then %v; want 1s, then 2s", first, second)
	}
	if most := mailtest.MostInAnySecond(box.calls); most > 14 {
		t.Fatalf("%d mails in one second", most)
	}
	if box.tries["m0009@example.com"] != maxTries {
		t.Fatalf("m0009 was tried %d times; want %d", box.tries["m0009@example.com"], maxTries)
	}
}

func TestAnAccountThatCannotSendStopsTheRun(t *testing.T) {
	h, box, _ := newHandler(t, subscribers(20), 14)
	box.refuse = func(to string, _ int) error {
		if to == "m0003@example.com" {
			return fmt.Errorf("mail: SendEmail(marketing): %w: SendingPausedException", mail.ErrHalted)
		}
		return nil
	}
	res, err := h.handle(context.Background(), news)
	if err != nil || res.Sent != 3 || res.Stopped == "" || len(box.calls) != 4 {
		t.Fatalf("handle = %+v, %v after %d calls; want a stop at the fourth member", res, err, len(box.calls))
	}
}

func TestARunOutOfTimeStopsBetweenMails(t *testing.T) {
	h, box, _ := newHandler(t, subscribers(20), 14)
	ctx, cancel := context.WithCancel(context.Background())
	box.refuse = func(to string, _ int) error {
		if to == "m0001@example.com" {
			cancel()
		}
		return nil
	}
	res, err := h.handle(ctx, news)
	if err != nil || res.Sent != 2 || res.Stopped == "" || len(box.calls) != 2 {
		t.Fatalf("handle = %+v, %v after %d calls", res, err, len(box.calls))
	}
}

// TestARejectedNewsletterLogsNoAddress: SES's MessageRejected text lists
// addresses; neither the JSON log nor the result carries one.
func TestARejectedNewsletterLogsNoAddress(t *testing.T) {
	h, _, _ := newHandler(t, subscribers(3), 14)
	var logs bytes.Buffer
	h.log = slog.New(slog.NewJSONHandler(&logs, nil))
	sender, err := mail.NewSender(mailtest.Rejecting{}, "news@example.com", "SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	h.mailer = sender
	res, err := h.handle(context.Background(), news)
	if res.Failed != 3 || res.Sent != 0 {
		t.Fatalf("handle = %+v, %v; want 3 failed", res, err)
	}
	said := fmt.Sprintf("%s\n%v\n%+v", logs.String(), err, res)
	for _, addr := range []string{mailtest.RejectedAddress, "m0000@example.com", "@example"} {
		if strings.Contains(said, addr) {
			t.Fatalf("the function said %q, which names %s", said, addr)
		}
	}
	if strings.Count(logs.String(), `"code":"MessageRejected"`) != 3 {
		t.Fatalf("the log = %s; want SES's code for each of 3 sends", logs.String())
	}
}

func TestSendSkipsWhomMailDoesNotReachAndCountsThemApart(t *testing.T) {
	on := []people.Purpose{people.Newsletter}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	store := listOf{
		members: []string{"ok", "bounced", "resting", "rested"},
		people: map[string]people.Person{
			"ok":      {ID: "ok", Email: "ok@example.com", Active: on},
			"bounced": {ID: "bounced", Email: "b@example.com", Active: on, Deliverability: people.Deliverability{State: people.Undeliverable, Since: now.Add(-time.Hour)}},
			"resting": {ID: "resting", Email: "r@example.com", Active: on, Deliverability: people.Deliverability{State: people.Resting, Until: now.Add(time.Hour)}},
			"rested":  {ID: "rested", Email: "d@example.com", Active: on, Deliverability: people.Deliverability{State: people.Resting, Until: now.Add(-time.Hour)}},
		},
	}
	h, box, _ := newHandler(t, store, 14)
	res, err := h.handle(context.Background(), Send{Subject: "News", Paragraphs: []string{"Hello."}})
	if err != nil || res.Sent != 2 || res.Undeliverable != 2 || res.Skipped != 0 || res.Failed != 0 {
		t.Fatalf("handle = %+v, %v", res, err)
	}
	for _, m := range box.sent {
		if m.PersonID != "ok" && m.PersonID != "rested" {
			t.Fatalf("mailed %s", m.PersonID)
		}
	}
}
