package link

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
)

func TestAConfirmLinkCarriesItsNonceAndExpiresWithIt(t *testing.T) {
	keys, err := token.NewKeys(map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)}, "k1")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	m := Minter{Keys: keys, Base: "https://pledge.example"}
	raw := m.ConfirmLink("p1", people.Link{Nonce: "n1", Purposes: []people.Purpose{people.Offers}, Issued: at, Expires: at.Add(48 * time.Hour)})
	u, err := url.Parse(raw)
	if err != nil || !strings.HasPrefix(raw, "https://pledge.example/confirm?t=") {
		t.Fatalf("link = %q, %v", raw, err)
	}
	c, err := keys.Verify(u.Query().Get("t"), token.Confirm, at.Add(47*time.Hour))
	if err != nil || c.Subject != "p1" || c.Nonce != "n1" || c.Scope[0] != "offers" {
		t.Fatalf("claims = %+v, %v", c, err)
	}
	if _, err := keys.Verify(u.Query().Get("t"), token.Confirm, at.Add(48*time.Hour)); err != token.ErrExpired {
		t.Fatalf("at the link's expiry: %v, want expired", err)
	}
	p, _ := url.Parse(m.PreferencesLink("p1", at))
	if c, err := keys.Verify(p.Query().Get("t"), token.Unsubscribe, at.AddDate(5, 0, 0)); err != nil || c.Subject != "p1" || p.Path != "/unsubscribe" {
		t.Fatalf("preferences link %v: %+v, %v; want a lasting unsubscribe token", p, c, err)
	}
}
