package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

// keyed stands in for the keyed hash of the address pepper: an address's
// id is its local part, so that tests can name people; anything else (a
// client's IP) is hashed.
func keyed(v string) string {
	if local, _, ok := strings.Cut(v, "@"); ok {
		return local
	}
	sum := sha256.Sum256([]byte(v))
	return "keyed-" + hex.EncodeToString(sum[:8])
}

// world runs the domain on the real store, as the functions do, with a
// clock the test sets and a mailer that keeps what it is asked to send.
type world struct {
	s   *store.Store
	now time.Time

	mu    sync.Mutex
	mails []people.ConfirmationMail
}

func newWorld(s *store.Store, at time.Time) *world { return &world{s: s, now: at} }

func (w *world) clock() time.Time { return w.now }

func (w *world) SendConfirmation(_ context.Context, m people.ConfirmationMail) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mails = append(w.mails, m)
	return nil
}

type noLinks struct{}

const confirmURL = "https://example.com/confirm?n="

func (noLinks) ConfirmLink(_ string, l people.Link) string { return confirmURL + l.Nonce }

func (w *world) service() *people.Service {
	return &people.Service{Store: w.s, Mailer: w, Links: noLinks{}, PersonID: keyed, NewID: people.RandomID, Now: w.clock,
		LinkTTL: 48 * time.Hour, ResendInterval: 10 * time.Minute, PolicyVersion: "2015-03-22", Retention: r}
}

func (w *world) subscriptions() *people.Subscriptions {
	return &people.Subscriptions{Store: w.s, NewID: people.RandomID, Now: w.clock, Pseudonym: keyed, Retention: r}
}

// signUp signs id@example.com up for ps from the sign-up form.
func (w *world) signUp(t *testing.T, id string, ps ...people.Purpose) people.SignUpResult {
	t.Helper()
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = string(p)
	}
	res, err := w.service().SignUp(context.Background(), people.SignUpInput{Email: id + "@example.com", Name: "Jo", Purposes: names,
		PolicyVersion: "2015-03-22", Context: people.Context{Source: "signup-form", PolicyVersion: "2015-03-22", IP: "192.0.2.1", UserAgent: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// nonce is the nonce of the last link mailed to id@example.com that names
// every one of ps.
func (w *world) nonce(t *testing.T, id string, ps ...people.Purpose) string {
	t.Helper()
	w.mu.Lock()
	mails := slices.Clone(w.mails)
	w.mu.Unlock()
	for i := len(mails) - 1; i >= 0; i-- {
		m := mails[i]
		if m.To == id+"@example.com" && !slices.ContainsFunc(ps, func(q people.Purpose) bool { return !slices.Contains(m.Purposes, q) }) {
			return strings.TrimPrefix(m.Link, confirmURL)
		}
	}
	// Not mailed by this world: the last live link the person holds.
	p, err := w.s.Person(context.Background(), id)
	for i := len(p.Links) - 1; err == nil && i >= 0; i-- {
		if l := p.Links[i]; !slices.ContainsFunc(ps, func(q people.Purpose) bool { return !slices.Contains(l.Purposes, q) }) {
			return l.Nonce
		}
	}
	t.Fatalf("no link to %s names %v (%v)", id, ps, err)
	return ""
}

// confirm presses the confirm button of the last link mailed to id that
// names ps.
func (w *world) confirm(t *testing.T, id string, ps ...people.Purpose) people.ConfirmOutcome {
	t.Helper()
	out, err := w.service().Confirm(context.Background(), id, w.nonce(t, id, ps...), people.Context{Source: "confirm-link", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stopMarketing is a one-click unsubscribe by id at the world's time.
func (w *world) stopMarketing(t *testing.T, id string) bool {
	t.Helper()
	changed, err := w.subscriptions().StopMarketing(context.Background(), id, people.Context{Source: "one-click"})
	if err != nil {
		t.Fatal(err)
	}
	return changed
}

// person signs id up at t for ps and, with confirm, confirms them at t.
func person(t *testing.T, s *store.Store, id string, at time.Time, confirm bool, ps ...people.Purpose) {
	t.Helper()
	w := newWorld(s, at)
	w.signUp(t, id, ps...)
	if confirm {
		w.confirm(t, id, ps...)
	}
}

// stopMarketing is a one-click unsubscribe by id at t.
func stopMarketing(t *testing.T, s *store.Store, id string, at time.Time) bool {
	t.Helper()
	return newWorld(s, at).stopMarketing(t, id)
}
