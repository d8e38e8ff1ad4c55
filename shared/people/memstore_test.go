package people

import (
	"context"
	"slices"
)

// memStore keeps people by id in memory and honours the Store contract
// (decide on what is stored, write all of the change or nothing, bump the
// version, re-decide after a lost race, ErrBusy past the bound): only the
// domain's decisions are under test here; the real store is tested against
// DynamoDB in package store.
type memStore struct {
	people    map[string]Person
	changes   []Change // every change written, in order
	conflicts int      // the next writes lose this many races first
}

func newMemStore(ps ...Person) *memStore {
	s := &memStore{people: map[string]Person{}}
	for _, p := range ps {
		s.people[p.ID] = p
	}
	return s
}

// memAttempts is the memory store's retry bound, like the real store's.
const memAttempts = 3

func (s *memStore) Person(_ context.Context, id string) (Person, error) {
	p, ok := s.people[id]
	if !ok {
		return Person{}, ErrNotFound
	}
	return p, nil
}

func (s *memStore) UpdatePerson(_ context.Context, id string, decide Decide) (Change, error) {
	for range memAttempts {
		p, ok := s.people[id]
		if !ok {
			p = Person{ID: id}
		}
		ch, err := decide(p)
		if err != nil || ch.IsZero() {
			return Change{}, err
		}
		if s.conflicts > 0 {
			s.conflicts--
			continue // someone wrote in between: read and decide again
		}
		switch {
		case ch.Erase != nil:
			delete(s.people, id)
		case ch.After != nil:
			q := *ch.After
			q.Version = p.Version + 1
			q.Active, q.Pending, q.Links = slices.Clone(q.Active), slices.Clone(q.Pending), slices.Clone(q.Links)
			s.people[id] = q
		}
		s.changes = append(s.changes, ch)
		return ch, nil
	}
	return Change{}, ErrBusy
}

// events is every ledger entry written, in order.
func (s *memStore) events() []ConsentEvent {
	var out []ConsentEvent
	for _, ch := range s.changes {
		out = append(out, ch.Events...)
	}
	return out
}

// unreadMemStore is a memStore that also writes Unread changes, as the
// real store does, when their assumption holds.
type unreadMemStore struct {
	*memStore
	unread int // Unread changes written
}

func (s *unreadMemStore) UpdateUnread(_ context.Context, id string, u Unread) (bool, error) {
	p, ok := s.people[id]
	if !ok || !u.Assumed.Holds(p) {
		return false, nil
	}
	q := p
	q.Active = slices.DeleteFunc(slices.Clone(p.Active), func(x Purpose) bool { return slices.Contains(u.Remove, x) })
	q.Pending = slices.DeleteFunc(slices.Clone(p.Pending), func(x Purpose) bool { return slices.Contains(u.Remove, x) })
	q.Status, q.Clock, q.UpdatedAt, q.Version = u.Status, u.Clock, u.At, p.Version+1
	s.people[id] = q
	s.changes = append(s.changes, Change{After: &q, Left: u.Left, Events: u.Events})
	s.unread++
	return true, nil
}
