package people

import (
	"errors"
	"testing"
	"time"
)

func TestRenameChangesTheNameAloneWithOneEntry(t *testing.T) {
	t0 := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	p := Person{ID: "p", Email: "jo@example.com", Name: "Jo", Status: Confirmed, Active: []Purpose{Newsletter}, UpdatedAt: t0, Version: 3}
	ch, err := Rename(" Jo Smith ", "r1", t0, func() string { return "e1" })(p)
	if err != nil || ch.After == nil || ch.After.Name != "Jo Smith" || ch.After.Email != p.Email || len(ch.After.Active) != 1 || !ch.After.UpdatedAt.After(t0) ||
		len(ch.Joined)+len(ch.Left) != 0 || ch.Erase != nil {
		t.Fatalf("Rename = %+v, %v", ch, err)
	}
	if e := ch.Events; len(e) != 1 || e[0].Action != Correct || e[0].Purpose != CorrectedName || e[0].Source != "privacy-request:r1" || !e[0].At.Equal(ch.After.UpdatedAt) || e[0].ID != "e1" {
		t.Fatalf("entries = %+v", e)
	}
	if ch, err := Rename("Jo", "r1", t0, RandomID)(p); err != nil || !ch.IsZero() {
		t.Fatalf("the same name = %+v, %v", ch, err)
	}
	if _, err := Rename("Jo\nBcc: x", "r1", t0, RandomID)(p); err == nil {
		t.Fatal("a name with a line break was taken")
	}
	if _, err := Rename("Jo", "r1", t0, RandomID)(Person{ID: "p"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("nobody = %v", err)
	}
	p.Links = []Link{{Nonce: "n"}}
	p.Deliverability = Deliverability{State: "undeliverable"}
	q := Readdressed(p, "p2", "new@example.com", t0)
	if q.ID != "p2" || q.Email != "new@example.com" || q.Name != "Jo" || len(q.Links) != 0 || !q.Deliverability.IsZero() || len(q.Active) != 1 || !q.UpdatedAt.After(t0) {
		t.Fatalf("Readdressed = %+v", q)
	}
}
