package people

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

type fakeMailer struct {
	sent  []ConfirmationMail
	links []PreferencesLinkMail
	err   error
}

func (m *fakeMailer) SendConfirmation(_ context.Context, c ConfirmationMail) error {
	if m.err != nil {
		return m.err
	}
	m.sent = append(m.sent, c)
	return nil
}

type fakeLinks struct{}

const fakeConfirmURL = "https://x/confirm?n="

func (fakeLinks) ConfirmLink(_ string, l Link) string { return fakeConfirmURL + l.Nonce }

func (fakeLinks) PreferencesLink(id string, _ time.Time) string {
	return "https://x/unsubscribe?t=" + id
}

// nonceIn is the nonce the link in m carries.
func nonceIn(m ConfirmationMail) string { return strings.TrimPrefix(m.Link, fakeConfirmURL) }

// last is the last mail sent.
func (m *fakeMailer) last() ConfirmationMail { return m.sent[len(m.sent)-1] }

func newService(now *time.Time) (*Service, *memStore, *fakeMailer) {
	st, m := newMemStore(), &fakeMailer{}
	return &Service{
		Store: st, Mailer: m, Links: fakeLinks{}, PersonID: KeyedID([]byte("pepper-pepper-pepper-pepper-pepp")),
		NewID: RandomID, Now: func() time.Time { return *now }, LinkTTL: 48 * time.Hour, ResendInterval: 10 * time.Minute, PolicyVersion: "v1",
	}, st, m
}

func input(email string, purposes ...string) SignUpInput {
	return SignUpInput{Email: email, Name: "Jo", Purposes: purposes, PolicyVersion: "v1", Context: Context{Source: "signup-form"}}
}

func TestSignUpMailsOncePerInterval(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	svc, _, mailer := newService(&now)
	ctx := context.Background()
	for _, step := range []struct {
		after    time.Duration
		wantMail bool
	}{{0, true}, {5 * time.Minute, false}, {4 * time.Minute, false}, {2 * time.Minute, true}} {
		now = now.Add(step.after)
		res, err := svc.SignUp(ctx, input(" Jo@Example.com ", "newsletter"))
		if err != nil || res.MailSent != step.wantMail {
			t.Fatalf("after %v: SignUp = %+v, %v; want mail %v", step.after, res, err, step.wantMail)
		}
	}
	if len(mailer.sent) != 2 || mailer.sent[0].To != "jo@example.com" {
		t.Fatalf("sent %+v", mailer.sent)
	}
}

func TestAFailedSendGivesTheMailSlotBack(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	svc, st, mailer := newService(&now)
	mailer.err = errors.New("ses: throttled")
	if _, err := svc.SignUp(context.Background(), input("jo@example.com", "surveys")); err == nil {
		t.Fatal("a failed send was not reported")
	}
	for _, p := range st.people {
		if !p.ConfirmMailAt.IsZero() || len(p.Links) != 0 || len(st.events()) != 1 || len(p.Pending) != 1 {
			t.Fatalf("after a failed send: %+v, events %d; want the slot released and the sign-up kept", p, len(st.events()))
		}
	}
	mailer.err = nil
	if res, err := svc.SignUp(context.Background(), input("jo@example.com", "surveys")); err != nil || !res.MailSent {
		t.Fatalf("the retry = %+v, %v; want a mail", res, err)
	}
}

func TestSignUpRefusesBadInputBeforeTouchingTheStore(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name  string
		in    SignUpInput
		code  Code
		field string
	}{
		{"no purpose", input("jo@example.com"), Invalid, "purposes"},
		{"an unknown purpose", input("jo@example.com", "resale"), Invalid, "purposes"},
		{"a bad address", input("jo@", "newsletter"), Invalid, "email"},
		{"a stale policy", SignUpInput{Email: "jo@example.com", Purposes: []string{"offers"}, PolicyVersion: "v0", Context: Context{Source: "x"}}, Conflict, "policy_version"},
		{"no policy", SignUpInput{Email: "jo@example.com", Purposes: []string{"offers"}, Context: Context{Source: "x"}}, Invalid, "policy_version"},
		{"a bad form id", SignUpInput{Email: "jo@example.com", Purposes: []string{"offers"}, PolicyVersion: "v1", Context: Context{Source: "Bad Form"}}, Invalid, "form_id"},
		{"a name with a line break", SignUpInput{Email: "jo@example.com", Name: "Jo\nBcc: x", Purposes: []string{"offers"}, PolicyVersion: "v1", Context: Context{Source: "x"}}, Invalid, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, st, mailer := newService(&now)
			_, err := svc.SignUp(context.Background(), tt.in)
			e, ok := AsError(err)
			if !ok || e.Code != tt.code || e.Field != tt.field {
				t.Fatalf("SignUp error = %v, want %s on %s", err, tt.code, tt.field)
			}
			if len(st.people) > 0 || len(mailer.sent) > 0 {
				t.Fatal("bad input reached the store or the mailer")
			}
		})
	}
}

func TestConfirmOutcomes(t *testing.T) {
	now := time.Now()
	svc, st, mailer := newService(&now)
	ctx := context.Background()
	if _, err := svc.Confirm(ctx, "nobody", "n", Context{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Confirm for nobody = %v", err)
	}
	res, _ := svc.SignUp(ctx, input("jo@example.com", "newsletter"))
	first := nonceIn(mailer.last())
	res2, _ := svc.SignUp(ctx, input("jo@example.com", "offers")) // a new purpose: its own mail at once
	second := nonceIn(mailer.last())
	if res.PersonID != res2.PersonID || first == second || len(mailer.sent) != 2 {
		t.Fatalf("two sign-ups for new purposes sent %d mails with nonces %q, %q; want two distinct", len(mailer.sent), first, second)
	}
	st.conflicts = 2
	if got, err := svc.Confirm(ctx, res.PersonID, first, Context{Source: "confirm-link"}); err != nil || got != Activated {
		t.Fatalf("Confirm after two lost races = %v, %v; want Activated", got, err)
	}
	if got, _ := svc.Confirm(ctx, res.PersonID, first, Context{}); got != AlreadyUsed {
		t.Fatalf("a second press = %v, want AlreadyUsed", got)
	}
	if got, _ := svc.Confirm(ctx, res.PersonID, "never-issued", Context{}); got != AlreadyUsed {
		t.Fatalf("an unknown nonce = %v, want AlreadyUsed", got)
	}
	st.conflicts = 5
	if _, err := svc.Confirm(ctx, res.PersonID, second, Context{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("Confirm that keeps losing races = %v, want ErrBusy", err)
	}
	if p := st.people[res.PersonID]; p.Has(Offers) || !slices.Equal(p.Pending, []Purpose{Offers}) {
		t.Fatalf("a confirm that kept losing races changed the person: %+v", p)
	}
	if got, err := svc.Confirm(ctx, res.PersonID, second, Context{}); err != nil || got != Activated {
		t.Fatalf("the second mail's link = %v, %v; want Activated", got, err)
	}
	if p := st.people[res.PersonID]; !slices.Equal(p.Active, []Purpose{Newsletter, Offers}) || len(p.Pending) != 0 || len(p.Links) != 0 {
		t.Fatalf("after both links: %+v", p)
	}
}

func (m *fakeMailer) SendPreferencesLink(_ context.Context, l PreferencesLinkMail) error {
	if m.err != nil {
		return m.err
	}
	m.links = append(m.links, l)
	return nil
}
