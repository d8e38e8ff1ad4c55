package people

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

const hostileName = "Jo, your account is locked. Restore it at https://evil.example.net/restore"

// confirmed signs jo@example.com up for purposes as "Jo" and presses the link.
func confirmed(t *testing.T, svc *Service, mailer *fakeMailer, purposes ...string) string {
	t.Helper()
	res, err := svc.SignUp(context.Background(), input("jo@example.com", purposes...))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := svc.Confirm(context.Background(), res.PersonID, nonceIn(mailer.last()), Context{}); err != nil || got != Activated {
		t.Fatalf("Confirm = %v, %v", got, err)
	}
	return res.PersonID
}

func TestASignUpForAConfirmedAddressChangesNoneOfTheirData(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	svc, st, mailer := newService(&now)
	ctx := context.Background()
	id := confirmed(t, svc, mailer, "newsletter")
	before := st.people[id]
	for _, tt := range []struct {
		name, typed string
		purposes    []string
	}{
		{"another name for the same purpose", hostileName, []string{"newsletter"}},
		{"no name", "", []string{"newsletter"}},
		{"another name and a new purpose", hostileName, []string{"newsletter", "offers"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now = now.Add(time.Hour)
			in := input("jo@example.com", tt.purposes...)
			in.Name = tt.typed
			if _, err := svc.SignUp(ctx, in); err != nil {
				t.Fatal(err)
			}
			p := st.people[id]
			if p.Name != "Jo" || p.Email != before.Email || p.Status != Confirmed || !slices.Equal(p.Active, []Purpose{Newsletter}) ||
				slices.ContainsFunc(p.Pending, p.Has) || !p.ConfirmedAt.Equal(before.ConfirmedAt) || p.PolicyVersion != before.PolicyVersion {
				t.Fatalf("after a stranger's sign-up the person is %+v; want their data as confirmed", p)
			}
			for _, m := range mailer.sent {
				if m.To != "jo@example.com" {
					t.Fatalf("mail to %q", m.To)
				}
			}
			if tt.typed == hostileName && len(tt.purposes) == 1 {
				// A new name alone, an hour after the last mail: a link for the name, naming no purpose.
				if m := mailer.last(); len(m.Purposes) != 0 || !m.NewName {
					t.Fatalf("mail = %+v; want a link that confirms the name alone", m)
				}
			}
		})
	}
	// The new name waits in the link mailed for it; the button applies it.
	l := st.people[id].Links[len(st.people[id].Links)-1]
	if l.Name != hostileName || !slices.Equal(l.Purposes, []Purpose{Offers}) || !mailer.last().NewName {
		t.Fatalf("the last link = %+v, mail %+v; want the new name and offers waiting", l, mailer.last())
	}
	if got, err := svc.Confirm(ctx, id, l.Nonce, Context{}); err != nil || got != Activated {
		t.Fatalf("Confirm = %v, %v", got, err)
	}
	if p := st.people[id]; p.Name != hostileName || !slices.Equal(p.Active, []Purpose{Newsletter, Offers}) || len(p.Pending) != 0 {
		t.Fatalf("after the button: %+v; want the name and offers confirmed", p)
	}
}

func TestASignUpForUncoveredPurposesIsMailedInsideTheResendInterval(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	svc, st, mailer := newService(&now)
	ctx := context.Background()
	id := confirmed(t, svc, mailer, "newsletter")
	now = now.Add(5 * time.Minute)
	if res, err := svc.SignUp(ctx, input("jo@example.com", "offers")); err != nil || !res.MailSent {
		t.Fatalf("offers five minutes after the newsletter = %+v, %v; want its own mail", res, err)
	}
	if m := mailer.last(); !slices.Equal(m.Purposes, []Purpose{Offers}) {
		t.Fatalf("mail = %+v", m)
	}
	now = now.Add(time.Minute)
	if res, _ := svc.SignUp(ctx, input("jo@example.com", "offers")); res.MailSent {
		t.Fatal("a sign-up covered by a live link was mailed again inside the interval")
	}
	if p := st.people[id]; len(p.Links) != 1 || !slices.Equal(p.Pending, []Purpose{Offers}) {
		t.Fatalf("person = %+v; want one live link for offers", p)
	}
}

func TestAConfirmLinkWorksOnceForTheSignUpThatIssuedIt(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	svc, st, mailer := newService(&now)
	ctx := context.Background()
	subs, _ := newSubscriptions(st, &now)
	res, _ := svc.SignUp(ctx, input("jo@example.com", "newsletter"))
	old := nonceIn(mailer.last())
	if got, _ := svc.Confirm(ctx, res.PersonID, old, Context{}); got != Activated {
		t.Fatalf("first press = %v", got)
	}
	now = now.Add(time.Hour)
	if _, err := subs.StopMarketing(ctx, res.PersonID, Context{Source: "one-click"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if _, err := svc.SignUp(ctx, input("jo@example.com", "newsletter")); err != nil { // someone re-submits the form
		t.Fatal(err)
	}
	writes := len(st.changes)
	if got, err := svc.Confirm(ctx, res.PersonID, old, Context{}); err != nil || got != AlreadyUsed {
		t.Fatalf("the old link pressed again = %v, %v; want AlreadyUsed", got, err)
	}
	if p := st.people[res.PersonID]; p.Has(Newsletter) || len(st.changes) != writes {
		t.Fatalf("the old link re-subscribed without fresh consent: %+v", p)
	}

	// A link mailed before a withdrawal cannot bring back what was withdrawn.
	now = now.Add(time.Hour)
	pending := nonceIn(mailer.last())
	if _, err := subs.StopMarketing(ctx, res.PersonID, Context{Source: "preferences"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SignUp(ctx, input("jo@example.com", "newsletter")); err != nil {
		t.Fatal(err)
	}
	if got, _ := svc.Confirm(ctx, res.PersonID, pending, Context{}); got != AlreadyUsed {
		t.Fatalf("a link from before the withdrawal = %v, want AlreadyUsed", got)
	}
	if got, _ := svc.Confirm(ctx, res.PersonID, nonceIn(mailer.last()), Context{}); got != Activated {
		t.Fatalf("the new sign-up's own link = %v, want Activated", got)
	}
}

func TestAGrantOnThePreferencesPageWaitsForTheConfirmButton(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	st := newMemStore(Person{ID: "p", Email: "jo@example.com", Name: "Jo", Status: Confirmed, Active: []Purpose{Newsletter}, Version: 2})
	subs, mailer := newSubscriptions(st, &now)
	svc := &Service{Store: st, NewID: RandomID, Now: func() time.Time { return now }, PersonID: subs.PersonID}
	ctx := context.Background()
	res, err := subs.SetPreferences(ctx, "p", []Purpose{Newsletter, Testimonials}, Context{Source: "preferences"})
	if err != nil || !res.Changed || !res.Mailed || !slices.Equal(res.Waiting, []Purpose{Testimonials}) {
		t.Fatalf("SetPreferences = %+v, %v; want testimonials waiting and a mail", res, err)
	}
	p := st.people["p"]
	if p.Has(Testimonials) || !slices.Equal(p.Pending, []Purpose{Testimonials}) || len(mailer.sent) != 1 ||
		mailer.last().To != "jo@example.com" || !slices.Equal(mailer.last().Purposes, []Purpose{Testimonials}) {
		t.Fatalf("after granting testimonials: %+v, mails %+v; want it pending and a confirmation mail", p, mailer.sent)
	}
	if e := st.changes[0].Events; len(e) != 1 || e[0].Action != Grant || e[0].Purpose != Testimonials || len(st.changes[0].Joined) != 0 {
		t.Fatalf("change = %+v; want one grant, no list joined", st.changes[0])
	}
	// Saving the same again asks nothing new: no entry, no mail.
	if res, _ := subs.SetPreferences(ctx, "p", []Purpose{Newsletter, Testimonials}, Context{Source: "preferences"}); res.Changed || res.Mailed {
		t.Fatalf("a repeated save = %+v", res)
	}
	if got, err := svc.Confirm(ctx, "p", nonceIn(mailer.last()), Context{Source: "confirm-link"}); err != nil || got != Activated {
		t.Fatalf("Confirm = %v, %v", got, err)
	}
	if p := st.people["p"]; !slices.Equal(p.Active, []Purpose{Newsletter, Testimonials}) || len(p.Pending) != 0 {
		t.Fatalf("after the button: %+v", p)
	}
}

type refusingLimits struct{ asked int }

func (l *refusingLimits) AllowMail(context.Context, string, string) error {
	l.asked++
	e := Errorf(RateLimited, "", "too many mails")
	e.RetryAfter = 3 * time.Minute
	return e
}

func TestARefusedMailStartsNothingButWithdrawalsStand(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	st := newMemStore(Person{ID: "p", Email: "jo@example.com", Status: Confirmed, Active: []Purpose{Newsletter, Surveys}, Version: 2})
	subs, mailer := newSubscriptions(st, &now)
	limits := &refusingLimits{}
	subs.Limits = limits
	res, err := subs.SetPreferences(context.Background(), "p", []Purpose{Newsletter, Offers}, Context{Source: "preferences", IP: "192.0.2.1"})
	if err != nil || !res.Limited || res.Mailed || limits.asked != 1 || res.RetryAfter != 3*time.Minute {
		t.Fatalf("SetPreferences = %+v, %v (limits asked %d); want Limited, with the limit's Retry-After", res, err, limits.asked)
	}
	if p := st.people["p"]; !slices.Equal(p.Active, []Purpose{Newsletter}) || len(p.Pending) != 0 || len(mailer.sent) != 0 {
		t.Fatalf("person = %+v, %d mails; want surveys withdrawn, offers not started, no mail", p, len(mailer.sent))
	}
	// A withdrawal alone needs no mail and never asks the limits.
	if _, err := subs.SetPreferences(context.Background(), "p", nil, Context{Source: "preferences"}); err != nil || limits.asked != 1 {
		t.Fatalf("a withdrawal asked the limits: %v, %d", err, limits.asked)
	}
}

func TestAnExpiredLinkWithdrawsAndNeverGrants(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	st := newMemStore(Person{ID: "p", Email: "jo@example.com", Status: Confirmed, Active: []Purpose{Newsletter, Surveys}, Pending: []Purpose{Offers}, Version: 2})
	subs, mailer := newSubscriptions(st, &now)
	res, err := subs.Withdraw(context.Background(), "p", []Purpose{Newsletter, Offers, Testimonials}, Context{Source: "preferences"})
	if err != nil || !res.Changed || res.Mailed {
		t.Fatalf("Withdraw = %+v, %v", res, err)
	}
	if p := st.people["p"]; !slices.Equal(p.Active, []Purpose{Newsletter}) || !slices.Equal(p.Pending, []Purpose{Offers}) || len(mailer.sent) != 0 {
		t.Fatalf("person = %+v; want surveys withdrawn, offers still pending, testimonials not granted", p)
	}
}

func TestAFreshPreferencesLinkGoesOnlyToAnAddressWeHoldAtMostOncePerInterval(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	st := newMemStore()
	subs, mailer := newSubscriptions(st, &now)
	id := subs.PersonID("jo@example.com")
	st.people[id] = Person{ID: id, Email: "jo@example.com", Status: Unsubscribed, Version: 3}
	ctx := context.Background()
	for _, step := range []struct {
		typed string
		after time.Duration
		links int
	}{{"stranger@example.com", 0, 0}, {" Jo@Example.com", 0, 1}, {"jo@example.com", 5 * time.Minute, 1}, {"jo@example.com", 6 * time.Minute, 2}} {
		now = now.Add(step.after)
		if err := subs.SendPreferencesLink(ctx, step.typed, Context{IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		if len(mailer.links) != step.links {
			t.Fatalf("after asking for %q: %d links mailed, want %d", step.typed, len(mailer.links), step.links)
		}
	}
	if m := mailer.links[0]; m.To != "jo@example.com" || m.PersonID != id || m.Link == "" {
		t.Fatalf("mail = %+v", m)
	}
	if _, ok := st.people[subs.PersonID("stranger@example.com")]; ok {
		t.Fatal("asking for an unknown address created a person")
	}
	subs.Limits = &refusingLimits{}
	if err := subs.SendPreferencesLink(ctx, "jo@example.com", Context{}); err == nil {
		t.Fatal("the limits' refusal was not answered")
	} else if e, ok := AsError(err); !ok || e.Code != RateLimited {
		t.Fatalf("error = %v, want RateLimited", err)
	}
	if err := subs.SendPreferencesLink(ctx, "not an address", Context{}); err == nil || errors.Is(err, ErrBusy) {
		t.Fatalf("a bad address = %v, want Invalid", err)
	}
}

// A person our mail does not reach (undeliverable, or resting) gets no
// confirmation mail from the preferences page and no fresh link, with the
// fresh-link answer the same as for an unknown address; a new sign-up
// still mails them, naming what they have too, and pressing it clears the
// state (issue 12: "until they sign up again and confirm").
func TestOnlyANewSignUpMailsAPersonOurMailDoesNotReachAndItsButtonClearsThem(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for _, d := range []Deliverability{
		{State: Undeliverable, Since: now.Add(-time.Hour), LastBounce: now.Add(-time.Hour)},
		{State: Resting, Since: now.Add(-time.Hour), Until: now.Add(7 * 24 * time.Hour), LastBounce: now.Add(-time.Hour),
			Transient: []time.Time{now.Add(-3 * time.Hour), now.Add(-2 * time.Hour), now.Add(-time.Hour)}},
	} {
		t.Run(string(d.State), func(t *testing.T) {
			st := newMemStore()
			subs, mailer := newSubscriptions(st, &now)
			id := subs.PersonID("jo@example.com")
			st.people[id] = Person{ID: id, Email: "jo@example.com", Name: "Jo", Status: Confirmed, Active: []Purpose{Newsletter, Surveys},
				Version: 2, Deliverability: d}
			res, err := subs.SetPreferences(ctx, id, []Purpose{Newsletter, Offers}, Context{Source: "preferences"})
			if err != nil || !res.Unreachable || res.Mailed || !res.Changed {
				t.Fatalf("SetPreferences = %+v, %v; want Unreachable, no mail, the withdrawal made", res, err)
			}
			if p := st.people[id]; !slices.Equal(p.Active, []Purpose{Newsletter}) || len(p.Pending) != 0 || len(mailer.sent) != 0 {
				t.Fatalf("person = %+v, %d mails; want surveys withdrawn, offers not started, no mail", p, len(mailer.sent))
			}
			writes := len(st.changes)
			for _, typed := range []string{"jo@example.com", "stranger@example.com"} {
				if err := subs.SendPreferencesLink(ctx, typed, Context{IP: "192.0.2.1"}); err != nil {
					t.Fatalf("fresh link for %s = %v; want the same nil answer for both", typed, err)
				}
			}
			if len(mailer.links) != 0 || len(st.changes) != writes {
				t.Fatalf("%d fresh links mailed, %d writes; want none", len(mailer.links), len(st.changes)-writes)
			}

			svc := &Service{Store: st, Mailer: mailer, Links: fakeLinks{}, PersonID: subs.PersonID, NewID: RandomID, Now: func() time.Time { return now },
				LinkTTL: 48 * time.Hour, ResendInterval: 10 * time.Minute, PolicyVersion: "v1"}
			ledger := len(st.events())
			signed, err := svc.SignUp(ctx, input("jo@example.com", "newsletter"))
			if err != nil || !signed.MailSent || !slices.Equal(mailer.last().Purposes, []Purpose{Newsletter}) {
				t.Fatalf("SignUp = %+v, %v, mails %+v; want a confirmation mail naming the newsletter they have", signed, err, mailer.sent)
			}
			if p := st.people[id]; len(p.Pending) != 0 || len(st.events()) != ledger {
				t.Fatalf("the re-confirmation granted again: pending %v, ledger %+v", p.Pending, st.events()[ledger:])
			}
			if p := st.people[id]; p.Deliverability.Reachable(now) {
				t.Fatalf("a sign-up alone cleared the state: %+v", p.Deliverability)
			}
			now = now.Add(time.Minute)
			if got, err := svc.Confirm(ctx, id, nonceIn(mailer.last()), Context{Source: "confirm-link"}); err != nil || got != Activated {
				t.Fatalf("Confirm = %v, %v", got, err)
			}
			p := st.people[id]
			if p.Deliverability.State != Deliverable || !p.Deliverability.Reachable(now) || !p.Deliverability.ClearedAt.Equal(now) ||
				!slices.Equal(p.Active, []Purpose{Newsletter}) {
				t.Fatalf("after the button: %+v", p)
			}
			// Mail flows again: the preferences page mails a grant.
			if res, err := subs.SetPreferences(ctx, id, []Purpose{Newsletter, Offers}, Context{Source: "preferences"}); err != nil || res.Unreachable || !res.Mailed {
				t.Fatalf("after the button, SetPreferences = %+v, %v; want a mail", res, err)
			}
		})
	}
}
