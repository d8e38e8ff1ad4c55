package e2e

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
	"github.com/smartprotect/pledge/shared/token"
)

// waitPerson polls the person until ok holds of them.
func waitPerson(t *testing.T, email string, within time.Duration, ok func(people.Person) bool) people.Person {
	t.Helper()
	var p people.Person
	var err error
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if p, err = personOf(t, email); err == nil && ok(p) {
			return p
		}
	}
	t.Fatalf("%s did not change as expected within %s: %+v, %v", email, within, p, err)
	return p
}

// A sign-up whose confirmation mail bounces hard makes the person
// undeliverable (SES's simulator answers bounce@ and suppressionlist@
// with permanent bounces); pressing the confirm button clears it.
func TestAConfirmationThatBouncesHardMakesThePersonUndeliverableUntilTheyConfirm(t *testing.T) {
	for _, email := range []string{"bounce@simulator.amazonses.com", "suppressionlist@simulator.amazonses.com"} {
		// Surveys: no test sends to that list, so no later mail bounces
		// while other tests count the table's calls.
		if got := postForm(t, "/signup", signupForm(email, "surveys")); got.Status != http.StatusSeeOther {
			t.Fatalf("sign-up = %d %s", got.Status, got.Body)
		}
		p := waitPerson(t, email, 20*time.Second, func(p people.Person) bool { return p.Deliverability.State == people.Undeliverable })
		if p.Deliverability.Reachable(time.Now()) || !slices.Equal(p.Pending, []people.Purpose{people.Surveys}) {
			t.Fatalf("%s after the bounce: %+v", email, p)
		}
		// The preferences page says so.
		prefs := "/unsubscribe?t=" + url.QueryEscape(keys.Issue(token.Unsubscribe, p.ID, []string{"surveys"}, time.Now(), 0))
		if got := do(t, http.MethodGet, prefs, "", browserAccept, nil); got.Status != http.StatusOK || !strings.Contains(got.Body, "could not be delivered") {
			t.Fatalf("%s's preferences page = %d, does not say mail does not reach them:\n%s", email, got.Status, got.Body)
		}
		// The mail viewer still shows the mail: its link confirms, and
		// the confirmed sign-up clears what the bounce said.
		mails := mailsTo(t, email)
		if got := postForm(t, "/confirm", url.Values{"t": {tokenOf(t, confirmLink(t, mails[len(mails)-1]))}}); got.Status != http.StatusOK {
			t.Fatalf("confirm = %d %s", got.Status, got.Body)
		}
		if p, _ := personOf(t, email); p.Deliverability.State != people.Deliverable || !p.Has(people.Surveys) {
			t.Fatalf("%s after confirming: %+v", email, p)
		}
	}
}

// A subscriber who marks a newsletter as spam (SES's simulator: complaint@)
// is unsubscribed from all marketing at once, by a ledger withdrawal whose
// source is the complaint; the delivery before it changes nothing else.
func TestASubscriberWhoComplainsAboutANewsletterStopsGettingMarketing(t *testing.T) {
	const email = "complaint+news@simulator.amazonses.com"
	// A subscriber moved in from an existing base: confirmed, on the list,
	// never mailed by pledge (a confirmation mail to complaint@ would
	// itself be reported as spam).
	id := people.KeyedID(pepper)(people.NormaliseEmail(email))
	since := time.Now().Add(-time.Hour).UTC()
	_, err := store.New(db, stack.Table).UpdatePerson(context.Background(), id, func(p people.Person) (people.Change, error) {
		q := people.Person{ID: id, Email: email, Status: people.Confirmed, Active: []people.Purpose{people.Newsletter, people.Offers},
			PolicyVersion: policy, CreatedAt: since, UpdatedAt: since, ConfirmedAt: since}
		return people.Change{After: &q, Joined: q.Active}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := sendNewsletter(t); r.Sent == 0 {
		t.Fatalf("newsletter = %+v", r)
	}
	if len(marketingTo(t, email)) != 1 {
		t.Fatal("the newsletter did not reach the subscriber")
	}
	p := waitPerson(t, email, 20*time.Second, func(p people.Person) bool { return len(p.Active) == 0 })
	if p.Status != people.Unsubscribed || p.Deliverability.LastComplaint.IsZero() {
		t.Fatalf("after the complaint: %+v", p)
	}
	var withdrawals []people.ConsentEvent
	for _, e := range ledgerOf(t, email) {
		if e.Action == people.Withdraw {
			withdrawals = append(withdrawals, e)
		}
	}
	if len(withdrawals) != 1 || withdrawals[0].Purpose != people.AllMarketing || withdrawals[0].Source != people.ComplaintSource {
		t.Fatalf("ledger withdrawals = %+v; want one all-marketing withdrawal from the complaint", withdrawals)
	}
	before := len(marketingTo(t, email))
	sendNewsletter(t)
	if n := len(marketingTo(t, email)); n != before {
		t.Fatalf("%d newsletters after the complaint", n-before)
	}
}

// A subscriber whose newsletter bounces hard gets no mail of any kind
// (newsletter, the preferences page's confirmation mail, a fresh link;
// the fresh-link page answers as for an address we do not hold) until
// they sign up again and press the button: the sign-up's confirmation
// mail goes out all the same, its button clears the state, and mail flows
// again (issue 12). SES's simulator bounces every mail to bounce@, so the
// newsletter after the recovery bounces too, and counts.
func TestAnUndeliverableSubscriberGetsMailAgainOnlyBySigningUpAgainAndConfirming(t *testing.T) {
	const email = "bounce+again@simulator.amazonses.com"
	id := people.KeyedID(pepper)(people.NormaliseEmail(email))
	since := time.Now().Add(-time.Hour).UTC()
	_, err := store.New(db, stack.Table).UpdatePerson(context.Background(), id, func(p people.Person) (people.Change, error) {
		q := people.Person{ID: id, Email: email, Status: people.Confirmed, Active: []people.Purpose{people.Newsletter},
			PolicyVersion: policy, CreatedAt: since, UpdatedAt: since, ConfirmedAt: since}
		return people.Change{After: &q, Joined: q.Active}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := sendNewsletter(t); r.Sent == 0 || len(marketingTo(t, email)) != 1 {
		t.Fatalf("newsletter = %+v; it did not reach the subscriber", r)
	}
	p := waitPerson(t, email, 20*time.Second, func(p people.Person) bool { return p.Deliverability.State == people.Undeliverable })
	bouncedAt := p.Deliverability.Since
	mailed := len(mailsTo(t, email))

	// No mail of any kind while undeliverable.
	if r := sendNewsletter(t); r.Undeliverable == 0 {
		t.Fatalf("newsletter while undeliverable = %+v; want them counted undeliverable", r)
	}
	prefs := "/unsubscribe?t=" + url.QueryEscape(keys.Issue(token.Unsubscribe, id, []string{"newsletter"}, time.Now(), 0))
	got := afterForm(t, postForm(t, prefs, url.Values{"action": {"save"}, "purposes": {"newsletter", "offers"}}))
	if got.Status != http.StatusOK || !strings.Contains(got.Body, "no confirmation mail was sent") {
		t.Fatalf("a grant while undeliverable = %d, does not say no mail went:\n%s", got.Status, got.Body)
	}
	known := postForm(t, "/unsubscribe/link", url.Values{"email": {email}})
	unknown := postForm(t, "/unsubscribe/link", url.Values{"email": {"nobody+again@example.com"}})
	if known.Status != http.StatusOK || known.Status != unknown.Status || known.Body != unknown.Body {
		t.Fatalf("the fresh-link answer tells an undeliverable address (%d) from an unknown one (%d):\n%s\n----\n%s",
			known.Status, unknown.Status, known.Body, unknown.Body)
	}
	if n := len(mailsTo(t, email)); n != mailed {
		t.Fatalf("%d mails went to an undeliverable address", n-mailed)
	}
	if p, _ := personOf(t, email); len(p.Pending) != 0 || p.Has(people.Offers) {
		t.Fatalf("a grant while undeliverable started something: %+v", p)
	}

	// Signing up again mails a confirmation naming what they have; its
	// button clears the state.
	if got := postForm(t, "/signup", signupForm(email, "newsletter")); got.Status != http.StatusSeeOther {
		t.Fatalf("sign-up again = %d %s", got.Status, got.Body)
	}
	mails := mailsTo(t, email)
	if len(mails) != mailed+1 {
		t.Fatalf("%d mails after signing up again; want the confirmation", len(mails)-mailed)
	}
	if got := postForm(t, "/confirm", url.Values{"t": {tokenOf(t, confirmLink(t, mails[len(mails)-1]))}}); got.Status != http.StatusOK {
		t.Fatalf("confirm = %d %s", got.Status, got.Body)
	}
	p, _ = personOf(t, email)
	if d := p.Deliverability; d.State != people.Deliverable || !d.ClearedAt.After(bouncedAt) || !p.Has(people.Newsletter) {
		t.Fatalf("after confirming again: %+v", p)
	}
	// Mail flows again: the next newsletter goes to them, and its bounce
	// (the simulator's) counts, being of a mail sent after the clear.
	before := len(marketingTo(t, email))
	sendNewsletter(t)
	if n := len(marketingTo(t, email)); n != before+1 {
		t.Fatalf("%d newsletters after the recovery; want 1", n-before)
	}
	waitPerson(t, email, 20*time.Second, func(q people.Person) bool {
		return q.Deliverability.State == people.Undeliverable && q.Deliverability.Since.After(p.Deliverability.ClearedAt)
	})
}
