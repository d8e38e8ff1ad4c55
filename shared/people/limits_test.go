package people

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestCanonicalMailboxFoldsTheVariantsOfOneMailbox(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"victim@gmail.com", "victim@gmail.com"},
		{"victim+1@gmail.com", "victim@gmail.com"},
		{"v.ictim@gmail.com", "victim@gmail.com"},
		{"V.I.C.T.I.M+news+more@GMAIL.com", "victim@gmail.com"},
		{"vic.tim@googlemail.com", "victim@gmail.com"},
		{"jo.doe+news@example.com", "jo.doe@example.com"},
		{"jo.doe@example.com", "jo.doe@example.com"},
		{"Jo@Example.COM", "jo@example.com"},
		{"+only@example.com", "+only@example.com"}, // nothing before the tag: the address is its own mailbox
		{"jo@mail.gmail.com", "jo@mail.gmail.com"}, // only gmail.com ignores dots
		{"j.o+x@sub.googlemail.co", "j.o@sub.googlemail.co"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := CanonicalMailbox(tt.addr); got != tt.want {
				t.Fatalf("CanonicalMailbox(%q) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}

func TestSourceNetworkIsTheIPv4AddressOrTheIPv6Slash64(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"192.0.2.2", "192.0.2.2"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:a::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:DB8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"", "unknown"},
		{"not an ip", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			if got := SourceNetwork(tt.ip); got != tt.want {
				t.Fatalf("SourceNetwork(%q) = %q, want %q", tt.ip, got, tt.want)
			}
		})
	}
}

// memCounters keeps counters in memory as the store does (count while
// below Max) and records every request.
type memCounters struct {
	n        map[string]int64
	requests []string // "take kind" or "give kind", in order
	fail     error    // answered to every request when set
}

func (m *memCounters) id(c Counter) string {
	return c.Kind + "#" + c.Key + "#" + c.Window.Format(time.RFC3339)
}

func (m *memCounters) Take(_ context.Context, c Counter) (bool, error) {
	m.requests = append(m.requests, "take "+c.Kind)
	if m.fail != nil {
		return false, m.fail
	}
	if m.n == nil {
		m.n = map[string]int64{}
	}
	if m.n[m.id(c)] >= c.Max {
		return false, nil
	}
	m.n[m.id(c)]++
	return true, nil
}

func (m *memCounters) GiveBack(_ context.Context, c Counter) error {
	m.requests = append(m.requests, "give "+c.Kind)
	if m.n[m.id(c)] > 0 {
		m.n[m.id(c)]--
	}
	return m.fail
}

func plainKey(v string) string { return v } // tests read keys; the functions use KeyedID

func testLimiter(c *memCounters, now *time.Time) *Limiter {
	return &Limiter{Counters: c, Keyed: plainKey, Now: func() time.Time { return *now }, Limits: Limits{
		PerSource:  Limit{Max: 3, Window: 10 * time.Minute},
		PerMailbox: Limit{Max: 1, Window: 10 * time.Minute},
		Overall:    Limit{Max: 2, Window: time.Minute},
	}}
}

func refusedAfter(t *testing.T, err error, want time.Duration) {
	t.Helper()
	e, ok := AsError(err)
	if !ok || e.Code != RateLimited || e.RetryAfter != want || e.Message != LimitedMessage {
		t.Fatalf("err = %#v; want RateLimited with RetryAfter %s", err, want)
	}
}

func TestTheLimiterTakesSourceThenMailboxThenOverallAndStopsAtTheFirstFull(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 6, 3, 20, 0, time.UTC)
	c := &memCounters{}
	l := testLimiter(c, &now)

	p, err := l.Admit(ctx, "victim+1@gmail.com", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.requests, []string{"take source", "take mailbox", "take mails"}) {
		t.Fatalf("requests = %v", c.requests)
	}
	if c.n["mailbox#limit-mailbox:victim@gmail.com#2026-11-30T06:00:00Z"] != 1 || c.n["source#limit-source:192.0.2.1#2026-11-30T06:00:00Z"] != 1 ||
		c.n["mails#all#2026-11-30T06:03:00Z"] != 1 {
		t.Fatalf("counters = %v; want each keyed by its canonical key in its window", c.n)
	}
	_ = p

	// Another variant of the mailbox, from another network: refused by
	// the mailbox, with one request besides the attempt's count, until the
	// mailbox's window ends at 06:10.
	c.requests = nil
	_, err = l.Admit(ctx, "v.ictim@googlemail.com", "192.0.2.2")
	refusedAfter(t, err, 6*time.Minute+40*time.Second)
	if !slices.Equal(c.requests, []string{"take source", "take mailbox"}) {
		t.Fatalf("requests of a refusal = %v; want the source's count and the full mailbox's, and nothing taken back", c.requests)
	}

	// Seen full: refused again without a request.
	c.requests = nil
	now = now.Add(time.Minute)
	_, err = l.Admit(ctx, "victim@gmail.com", "192.0.2.3")
	refusedAfter(t, err, 5*time.Minute+40*time.Second)
	if len(c.requests) != 0 {
		t.Fatalf("a mailbox seen full cost requests %v", c.requests)
	}

	// The next window of the mailbox admits again.
	now = time.Date(2026, 11, 30, 6, 10, 0, 0, time.UTC)
	if _, err := l.Admit(ctx, "victim+9@gmail.com", "192.0.2.4"); err != nil {
		t.Fatalf("in the next window: %v", err)
	}
}

func TestTheLimiterCountsAttemptsPerSourceAndMailsOverall(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 6, 0, 30, 0, time.UTC)
	c := &memCounters{}
	l := testLimiter(c, &now)

	// The overall ceiling (2 a minute) holds for distinct mailboxes from
	// distinct networks; a refusal there gives the mailbox's mail back.
	for i := range 2 {
		if _, err := l.Admit(ctx, fmt.Sprintf("p%d@example.com", i), fmt.Sprintf("2001:db8:%d::1", i)); err != nil {
			t.Fatal(err)
		}
	}
	c.requests = nil
	_, err := l.Admit(ctx, "p2@example.com", "2001:db8:2::1")
	refusedAfter(t, err, 30*time.Second)
	if !slices.Equal(c.requests, []string{"take source", "take mailbox", "take mails", "give mailbox"}) {
		t.Fatalf("requests = %v", c.requests)
	}
	if c.n["mailbox#limit-mailbox:p2@example.com#2026-11-30T06:00:00Z"] != 0 {
		t.Fatal("a mail the ceiling refused still counts against its mailbox")
	}

	// Attempts per source: an IPv6 /64 is one source, whatever the address
	// in it; each attempt counts, mailed or not.
	now = now.Add(time.Minute)
	l.Limits.Overall.Max = 100
	for i := range 3 {
		if _, err := l.Admit(ctx, fmt.Sprintf("q%d@example.com", i), fmt.Sprintf("2001:db8:9:9::%x", i+1)); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	_, err = l.Admit(ctx, "q9@example.com", "2001:db8:9:9:ffff::1")
	refusedAfter(t, err, 8*time.Minute+30*time.Second)
	if got := c.n["source#limit-source:2001:db8:9:9::/64#2026-11-30T06:00:00Z"]; got != 3 {
		t.Fatalf("the /64's attempts = %d, want 3 (its limit)", got)
	}
}

func TestAReleasedPermitGivesItsMailBack(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	c := &memCounters{}
	l := testLimiter(c, &now)
	p, err := l.Admit(ctx, "jo@example.com", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Admit(ctx, "jo+again@example.com", "192.0.2.1"); err != nil {
		t.Fatalf("after the release the mailbox is still full: %v", err)
	}
	if got := c.n["source#limit-source:192.0.2.1#2026-11-30T06:00:00Z"]; got != 2 {
		t.Fatalf("attempts = %d, want 2: a release gives back the mail, not the attempt", got)
	}
	if err := (Permit{}).Release(ctx); err != nil {
		t.Fatal(err)
	}
	var none *Limiter
	if _, err := none.Admit(ctx, "jo@example.com", ""); err != nil {
		t.Fatalf("a nil Limiter refused: %v", err)
	}
}

func TestAStoreFaultIsNoRefusalAndTakesNothing(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	c := &memCounters{fail: ErrBusy}
	_, err := testLimiter(c, &now).Admit(ctx, "jo@example.com", "192.0.2.1")
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
}

func TestASignUpOverALimitWritesNothingAndOneUnmailedGivesItsMailBack(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 6, 5, 0, 0, time.UTC) // in the 06:00 window
	c := &memCounters{}
	st, m := newMemStore(), &fakeMailer{}
	s := &Service{Store: st, Mailer: m, Links: fakeLinks{}, PersonID: plainKey, NewID: func() string { return "e" },
		Now: func() time.Time { return now }, ResendInterval: 10 * time.Minute, LinkTTL: 48 * time.Hour, PolicyVersion: "v1", Limiter: testLimiter(c, &now)}
	in := func(email string) SignUpInput {
		return SignUpInput{Email: email, Purposes: []string{"newsletter"}, PolicyVersion: "v1", Context: Context{Source: "signup-form", IP: "192.0.2.1"}}
	}
	if res, err := s.SignUp(ctx, in("jo@example.com")); err != nil || !res.MailSent {
		t.Fatalf("first sign-up = %+v, %v", res, err)
	}
	_, err := s.SignUp(ctx, in("jo+2@example.com"))
	refusedAfter(t, err, 5*time.Minute) // to the end of the 06:00 window
	if _, ok := st.people["jo+2@example.com"]; ok || len(st.changes) != 1 || len(m.sent) != 1 {
		t.Fatalf("a refused sign-up wrote %d changes and sent %d mails; want only the first's", len(st.changes), len(m.sent))
	}

	// A sign-up that sends no mail (what it asks is covered by the live
	// link mailed 6 minutes ago) gives its mail back: a new window, within
	// the resend interval.
	now = now.Add(6 * time.Minute)
	if res, err := s.SignUp(ctx, in("jo@example.com")); err != nil || res.MailSent {
		t.Fatalf("a sign-up for what is pending within the resend interval = %+v, %v; want no mail", res, err)
	}
	if got := c.n["mailbox#limit-mailbox:jo@example.com#2026-11-30T06:10:00Z"]; got != 0 {
		t.Fatalf("the mailbox counts %d mails, want 0: no mail went", got)
	}
}

func TestAFilledHoneypotIsCheckedLikeASignUpAndWritesNothing(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 6, 5, 0, 0, time.UTC)
	c := &memCounters{}
	st, m := newMemStore(), &fakeMailer{}
	s := &Service{Store: st, Mailer: m, Links: fakeLinks{}, PersonID: plainKey, NewID: RandomID,
		Now: func() time.Time { return now }, ResendInterval: 10 * time.Minute, LinkTTL: time.Hour, PolicyVersion: "v1", Limiter: testLimiter(c, &now)}
	trap := func(email string) SignUpInput {
		return SignUpInput{Email: email, Purposes: []string{"newsletter"}, PolicyVersion: "v1", Trapped: true, Context: Context{Source: "signup-form", IP: "192.0.2.9"}}
	}
	if _, err := s.SignUp(ctx, trap("not-an-address")); !isInvalid(err, "email") {
		t.Fatalf("a trapped sign-up with a bad address = %v; want the same 400 as anyone's", err)
	}
	res, err := s.SignUp(ctx, trap("bot@example.com"))
	if err != nil || !res.Trapped || res.MailSent || len(st.changes) != 0 || len(m.sent) != 0 || len(c.requests) != 0 {
		t.Fatalf("a trapped sign-up = %+v, %v; %d changes, %d mails, counters %v; want it answered as done with nothing written or sent", res, err, len(st.changes), len(m.sent), c.requests)
	}
}

func isInvalid(err error, field string) bool {
	e, ok := AsError(err)
	return ok && e.Code == Invalid && e.Field == field
}
