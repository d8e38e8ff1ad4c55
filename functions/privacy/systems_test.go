package main

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/smartprotect/pledge/shared/mail"

	"github.com/smartprotect/pledge/shared/privacy"
)

// recordingSystems stands in for the downstream systems' bus.
type recordingSystems struct{ published []privacy.Request }

func (s *recordingSystems) Publish(_ context.Context, rs []privacy.Request) error {
	s.published = append(s.published, rs...)
	return nil
}

// A content removal asked on the web waits for staff once verified, even
// from an address pledge holds nothing about (the content lives in the
// product), and is announced to the downstream systems once.
func TestAVerifiedContentRemovalWaitsForStaffAndIsAnnounced(t *testing.T) {
	f := newFixture(t)
	f.h.timing.Systems = []string{"billing", "support"}
	f.do(t, post("/privacy", "kind=remove-content&email=stranger@example.com", false))
	tok := tokenOf(t, f.mail.sent[0].Link)
	resp := f.do(t, post("/privacy/verify", "t="+url.QueryEscape(tok), true))
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, "Our staff will carry out your request") || !strings.Contains(resp.Body, "3 February 2027") {
		t.Fatalf("after the button = %d\n%s", resp.StatusCode, resp.Body)
	}
	if len(f.systems.published) != 1 || f.systems.published[0].Status != privacy.InProgress || f.systems.published[0].Kind != privacy.RemoveContent {
		t.Fatalf("published %+v", f.systems.published)
	}
	if len(f.mail.sent) != 2 || f.mail.sent[1].Topic != mail.RequestStatus || !f.mail.sent[1].Until.IsZero() {
		t.Fatalf("mails %+v", f.mail.sent)
	}
}
