// Package sesreplay replays SES's mail events the way SES over EventBridge
// delivers them (at least once, in any order) through people.Feedbacks,
// and counts what each event costs in DynamoDB requests: the figures and
// the test of issue 12's order-free feedback rules.
package sesreplay

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

// Kind names an event as the tables print it: SES's event type and, for
// bounces and complaints, its subtype.
type Kind string

// The kinds of event a replay holds, with the share of each in Generate.
const (
	Send         Kind = "send"
	Delivery     Kind = "delivery"
	Permanent    Kind = "bounce (permanent)"
	Transient    Kind = "bounce (transient)"
	Undetermined Kind = "bounce (undetermined)"
	Complaint    Kind = "complaint (abuse)"
	NotSpam      Kind = "complaint (not-spam)"
	OnNotice     Kind = "complaint (about a notice)"
)

// Kinds lists every kind, in the order tables print them.
var Kinds = []Kind{Send, Delivery, Permanent, Transient, Undetermined, Complaint, NotSpam, OnNotice}

// mix is each kind's weight in Generate, in hundredths: about what a list
// mailed often produces, with every rare kind common enough to matter.
var mix = map[Kind]int{Send: 25, Delivery: 35, Permanent: 3, Transient: 22, Undetermined: 3, Complaint: 4, NotSpam: 4, OnNotice: 4}

// Event is one SES event about a mail to one person.
type Event struct {
	PersonID string
	Kind     Kind
	people.Feedback
}

// Generate makes n distinct events for persons, drawn from a generator
// seeded with seed: each about a mail sent at a random moment within span
// after start (times to the millisecond, so no two of a person's events
// share one), of a kind drawn from the mix above.
func Generate(seed uint64, persons []string, n int, start time.Time, span time.Duration) []Event {
	r := rand.New(rand.NewPCG(seed, 12))
	var weighted []Kind
	for _, k := range Kinds {
		for range mix[k] {
			weighted = append(weighted, k)
		}
	}
	seen := map[string]bool{}
	events := make([]Event, 0, n)
	for len(events) < n {
		id := persons[r.IntN(len(persons))]
		at := start.Add(time.Duration(r.Int64N(int64(span/time.Millisecond))) * time.Millisecond)
		if k := id + at.String(); seen[k] {
			continue
		} else {
			seen[k] = true
		}
		kind := weighted[r.IntN(len(weighted))]
		f := people.Feedback{MessageID: fmt.Sprintf("m-%d", len(events)), At: at, MailKind: "newsletter"}
		switch kind {
		case Delivery:
			f.Kind = people.FeedbackDelivery
		case Permanent, Transient, Undetermined:
			f.Kind, f.BounceType = people.FeedbackBounce, map[Kind]string{Permanent: "Permanent", Transient: "Transient", Undetermined: "Undetermined"}[kind]
		case Complaint, NotSpam, OnNotice:
			f.Kind, f.FeedbackType = people.FeedbackComplaint, "abuse"
			if kind == NotSpam {
				f.FeedbackType = "not-spam"
			}
			if kind == OnNotice {
				f.MailKind = "notice"
			}
		}
		events = append(events, Event{PersonID: id, Kind: kind, Feedback: f})
	}
	return events
}

// Delivered is events as SES over EventBridge may deliver them: each
// repeated with probability dup (0..1), and the whole shuffled, by a
// generator seeded with seed. It reports which positions are repeats.
func Delivered(seed uint64, events []Event, dup float64) (out []Event, repeat []bool) {
	r := rand.New(rand.NewPCG(seed, 34))
	type item struct {
		e      Event
		repeat bool
	}
	var all []item
	for _, e := range events {
		all = append(all, item{e, false})
		if r.Float64() < dup {
			all = append(all, item{e, true})
		}
	}
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	// A repeat is the later of the two copies, whichever was made first.
	seen := map[string]bool{}
	for _, it := range all {
		k := it.e.PersonID + it.e.MessageID
		out, repeat = append(out, it.e), append(repeat, seen[k])
		seen[k] = true
	}
	return out, repeat
}

// InOrder is events without repeats, by SES time (then person, then
// message id: no two of a person's events share a time).
func InOrder(events []Event) []Event {
	seen := map[string]bool{}
	var out []Event
	for _, e := range events {
		if k := e.PersonID + e.MessageID; !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Event) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if a.PersonID != b.PersonID {
			return map[bool]int{true: -1, false: 1}[a.PersonID < b.PersonID]
		}
		return map[bool]int{true: -1, false: 1}[a.MessageID < b.MessageID]
	})
	return out
}

// Apply applies one event as the mail-events function does: a send
// changes no person (it is counted, or marks a notice record); the others
// go through f. Someone gone is no error (the function drops the event).
func Apply(ctx context.Context, f *people.Feedbacks, e Event) (wrote bool, err error) {
	if e.Kind == Send {
		return false, nil
	}
	wrote, err = f.Apply(ctx, e.PersonID, e.Feedback)
	if errors.Is(err, people.ErrNotFound) {
		return false, nil
	}
	return wrote, err
}

// State is what the feedback rules decide of a person, to compare two
// replays by: their deliverability, consents, status and ledger length.
type State struct {
	Deliverability  people.Deliverability
	Active, Pending []people.Purpose
	Status          people.Status
	Entries         int
}

// Same reports whether s and t are the same state.
func (s State) Same(t State) bool {
	return s.Deliverability.Equal(t.Deliverability) && slices.Equal(s.Active, t.Active) && slices.Equal(s.Pending, t.Pending) &&
		s.Status == t.Status && s.Entries == t.Entries
}
