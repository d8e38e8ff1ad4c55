package mail

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/smartprotect/pledge/shared/notice"
)

// detail builds an SES event's detail with the tags a send of ours sets.
func detail(t testing.TB, eventType string, tags map[string][]string, extra map[string]any) []byte {
	t.Helper()
	d := map[string]any{"eventType": eventType, "mail": map[string]any{"messageId": "m-1", "timestamp": "2026-12-01T09:00:00.123Z",
		"destination": []string{"jo@example.com"}, "tags": tags}}
	for k, v := range extra {
		d[k] = v
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ourTags(t testing.TB, kind Kind, person, version string) map[string][]string {
	t.Helper()
	tags, err := tagsFor(kind, person, version)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{"ses:configuration-set": {"pledge-mail"}, "ses:from-domain": {"example.com"}}
	for _, tg := range tags {
		out[*tg.Name] = []string{*tg.Value}
	}
	return out
}

func TestEveryEventOfOurMailFindsItsPersonByTheTagsItWasSentWith(t *testing.T) {
	for _, c := range []struct {
		name      string
		eventType string
		kind      Kind
		version   string
		extra     map[string]any
		want      Event
	}{
		{"a notice sent", "Send", KindNotice, "2027.1_b", nil, Event{Type: EventSend, Kind: KindNotice, Version: "2027.1_b"}},
		{"a confirmation delivered", "Delivery", KindConfirm, "", map[string]any{"delivery": map[string]any{"recipients": []string{"jo@example.com"}}},
			Event{Type: EventDelivery, Kind: KindConfirm, Recipient: "jo@example.com"}},
		{"a newsletter bounced", "Bounce", KindNewsletter, "", map[string]any{"bounce": map[string]any{"bounceType": "Permanent", "bounceSubType": "General",
			"bouncedRecipients": []map[string]string{{"emailAddress": "jo@example.com"}}}},
			Event{Type: EventBounce, Kind: KindNewsletter, BounceType: "Permanent", BounceSubType: "General", Recipient: "jo@example.com"}},
		{"a newsletter complained of", "Complaint", KindNewsletter, "", map[string]any{"complaint": map[string]any{"complaintFeedbackType": "abuse",
			"complainedRecipients": []map[string]string{{"emailAddress": "jo@example.com"}}}},
			Event{Type: EventComplaint, Kind: KindNewsletter, FeedbackType: "abuse", Recipient: "jo@example.com"}},
		{"a notice delayed", "DeliveryDelay", KindNotice, "v2", map[string]any{"deliveryDelay": map[string]any{}}, Event{Type: EventDeliveryDelay, Kind: KindNotice, Version: "v2"}},
		{"a request rejected", "Reject", KindRequest, "", map[string]any{"reject": map[string]any{"reason": "Bad content"}}, Event{Type: EventReject, Kind: KindRequest}},
	} {
		got, err := DecodeEvent(detail(t, c.eventType, ourTags(t, c.kind, "pK3y_-9", c.version), c.extra))
		c.want.MessageID, c.want.PersonID, c.want.Sent = "m-1", "pK3y_-9", got.Sent
		if err != nil || got != c.want || got.Sent.IsZero() {
			t.Errorf("%s = %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	ev, _ := DecodeEvent(detail(t, "Send", ourTags(t, KindNotice, "p1", "2027-02"), nil))
	if sent, ok := ev.SentNotice(); !ok || sent != (notice.Sent{Version: "2027-02", PersonID: "p1", MessageID: "m-1"}) {
		t.Fatalf("SentNotice = %+v, %v", sent, ok)
	}
	if ev, _ := DecodeEvent(detail(t, "Send", ourTags(t, KindConfirm, "p1", ""), nil)); func() bool { _, ok := ev.SentNotice(); return ok }() {
		t.Fatal("a confirmation's send event marked a notice")
	}
}

func TestAnEventWeCannotUseIsDroppedByItsKind(t *testing.T) {
	notice := ourTags(t, KindNotice, "p1", "v1")
	for name, c := range map[string]struct {
		detail []byte
		reason string
	}{
		"not JSON":                      {[]byte(`{"eventType":`), DropMalformed},
		"no message id":                 {[]byte(`{"eventType":"Send","mail":{"tags":{}}}`), DropMalformed},
		"a bounce without a bounce":     {detail(t, "Bounce", notice, nil), DropMalformed},
		"a delivery without a delivery": {detail(t, "Delivery", notice, nil), DropMalformed},
		"a bounce naming no recipient":  {detail(t, "Bounce", notice, map[string]any{"bounce": map[string]any{"bounceType": "Permanent"}}), DropRecipients},
		"a bounce naming two recipients": {detail(t, "Bounce", notice, map[string]any{"bounce": map[string]any{"bounceType": "Permanent",
			"bouncedRecipients": []map[string]string{{"emailAddress": "jo@example.com"}, {"emailAddress": "al@example.com"}}}}), DropRecipients},
		"a complaint naming no recipient":      {detail(t, "Complaint", notice, map[string]any{"complaint": map[string]any{"complaintFeedbackType": "abuse"}}), DropRecipients},
		"a delivery naming an empty recipient": {detail(t, "Delivery", notice, map[string]any{"delivery": map[string]any{"recipients": []string{""}}}), DropRecipients},
		"an unknown type":                      {detail(t, "Open", notice, nil), DropUnknownType},
		"a type that is no word":               {detail(t, "Send\n<x@example.com>", notice, nil), DropUnknownType},
		"no tags":                              {detail(t, "Send", nil, nil), DropNotOurs},
		"only SES's tags":                      {detail(t, "Send", map[string][]string{"ses:configuration-set": {"x"}}, nil), DropNotOurs},
		"an unknown kind":                      {detail(t, "Send", map[string][]string{"pledge-person": {"p1"}, "pledge-mail": {"spam"}}, nil), DropBadTags},
		"no person":                            {detail(t, "Send", map[string][]string{"pledge-mail": {"confirm"}}, nil), DropBadTags},
		"an address for a person":              {detail(t, "Send", map[string][]string{"pledge-person": {"jo@example.com"}, "pledge-mail": {"confirm"}}, nil), DropBadTags},
		"two persons":                          {detail(t, "Send", map[string][]string{"pledge-person": {"p1", "p2"}, "pledge-mail": {"confirm"}}, nil), DropBadTags},
		"a notice without version":             {detail(t, "Send", map[string][]string{"pledge-person": {"p1"}, "pledge-mail": {"notice"}}, nil), DropBadTags},
		"a version on a newsletter":            {detail(t, "Send", map[string][]string{"pledge-person": {"p1"}, "pledge-mail": {"newsletter"}, "pledge-notice": {"v1"}}, nil), DropBadTags},
		"a badly escaped version":              {detail(t, "Send", map[string][]string{"pledge-person": {"p1"}, "pledge-mail": {"notice"}, "pledge-notice": {"v_x"}}, nil), DropBadTags},
	} {
		_, err := DecodeEvent(c.detail)
		var drop *DropError
		if !errors.As(err, &drop) || drop.Reason != c.reason {
			t.Errorf("%s: %v; want dropped as %s", name, err, c.reason)
		}
		if err != nil && strings.Contains(err.Error(), "@") {
			t.Errorf("%s: the error %q carries an address", name, err)
		}
	}
}

func TestAVersionSurvivesItsTagEscapedExactly(t *testing.T) {
	for _, v := range []string{"2027-02", "2027.1", "a_b", "_u_d", "v..__.._", "A.b-C_d.9"} {
		tv := tagValue(v)
		back, ok := fromTagValue(tv)
		if !tagSafe(tv) || !ok || back != v {
			t.Errorf("%q -> %q -> %q, %v", v, tv, back, ok)
		}
	}
}

func TestAMailWithoutAPersonKeyOrWithAKeySESRefusesIsNotSent(t *testing.T) {
	for _, id := range []string{"", "jo@example.com", "a b", strings.Repeat("a", 257)} {
		if _, err := tagsFor(KindConfirm, id, ""); err == nil {
			t.Errorf("tags for person %q were made", id)
		}
	}
	if _, err := tagsFor("survey", "p1", ""); err == nil {
		t.Error("tags for an unknown kind were made")
	}
}

// FuzzDecodeEvent: whatever an event holds, the decoder returns an event
// with tag-safe words and a valid version, or a DropError; never a panic,
// and never text of the event in the error.
func FuzzDecodeEvent(f *testing.F) {
	f.Add(detail(f, "Send", ourTags(f, KindNotice, "p1", "2027.02"), nil))
	f.Add(detail(f, "Bounce", ourTags(f, KindNewsletter, "p1", ""), map[string]any{"bounce": map[string]any{"bounceType": "Transient",
		"bouncedRecipients": []map[string]string{{"emailAddress": "jo@example.com"}}}}))
	f.Add(detail(f, "Complaint", ourTags(f, KindConfirm, "p1", ""), map[string]any{"complaint": map[string]any{"complaintFeedbackType": "not-spam",
		"complainedRecipients": []map[string]string{{"emailAddress": "jo@example.com"}}}}))
	f.Add(detail(f, "Delivery", ourTags(f, KindLink, "p1", ""), map[string]any{"delivery": map[string]any{"recipients": []string{"jo@example.com"}}}))
	f.Add([]byte(`{"eventType":"Send","mail":{"messageId":"m","tags":{"pledge-person":["p"],"pledge-mail":["notice"],"pledge-notice":["_"]}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := DecodeEvent(b)
		if err != nil {
			var drop *DropError
			if !errors.As(err, &drop) {
				t.Fatalf("error %v is not a DropError", err)
			}
			if drop.Type != "?" && !tagSafe(drop.Type) {
				t.Fatalf("the drop names type %q", drop.Type)
			}
			return
		}
		if !eventTypes[ev.Type] || !kinds[ev.Kind] || !tagSafe(ev.PersonID) || ev.MessageID == "" {
			t.Fatalf("decoded %+v", ev)
		}
		if feedback := ev.Type == EventBounce || ev.Type == EventComplaint || ev.Type == EventDelivery; feedback != (ev.Recipient != "") {
			t.Fatalf("decoded a %s with recipient %q", ev.Type, ev.Recipient)
		}
		if (ev.Kind == KindNotice) != (ev.Version != "") || ev.Version != "" && notice.ValidVersion(ev.Version) != nil {
			t.Fatalf("decoded version %q for kind %s", ev.Version, ev.Kind)
		}
		for _, w := range []string{ev.BounceType, ev.BounceSubType, ev.FeedbackType} {
			if w != "" && w != "?" && !tagSafe(w) {
				t.Fatalf("decoded word %q", w)
			}
		}
	})
}

// sesShaped is an event as SES's event publishing documents it (every
// field SES sets for the type, the mail's headers and common headers,
// the recipient lists), with our tags.
func sesShaped(t *testing.T, eventType, object string, body map[string]any) []byte {
	t.Helper()
	tags := ourTags(t, KindNewsletter, "pK", "")
	tags["ses:source-ip"], tags["ses:caller-identity"] = []string{"192.0.2.1"}, []string{"pledge"}
	d := map[string]any{"eventType": eventType, "mail": map[string]any{
		"timestamp": "2026-12-01T09:00:00.012Z", "source": "News <news@example.com>", "sendingAccountId": "123456789012",
		"messageId": "0100018c-0c1e-4c0a-9f0e-000000", "destination": []string{"jo@example.com"}, "headersTruncated": false,
		"headers":       []map[string]string{{"name": "To", "value": "someone-else@example.com"}},
		"commonHeaders": map[string]any{"from": []string{"news@example.com"}, "to": []string{"someone-else@example.com"}, "subject": "News"},
		"tags":          tags}}
	if object != "" {
		d[object] = body
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every bounce subtype and complaint feedback type SES documents decodes
// to its words and the recipient SES lists (never the To header); a
// complaint without a feedback type is still a complaint ("?"); delays and
// rejections decode without a recipient, and the types we do not publish
// are dropped by their kind.
func TestSESsDocumentedEventShapesDecodeToTheirWordsAndTheListedRecipient(t *testing.T) {
	bounced := []map[string]string{{"emailAddress": "jo@example.com", "action": "failed", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}}
	for typ, subs := range map[string][]string{
		"Permanent":    {"General", "NoEmail", "Suppressed", "OnAccountSuppressionList"},
		"Transient":    {"General", "MailboxFull", "MessageTooLarge", "ContentRejected", "AttachmentRejected"},
		"Undetermined": {"Undetermined"},
	} {
		for _, sub := range subs {
			ev, err := DecodeEvent(sesShaped(t, "Bounce", "bounce", map[string]any{"bounceType": typ, "bounceSubType": sub, "bouncedRecipients": bounced,
				"timestamp": "2026-12-01T09:01:00.000Z", "feedbackId": "0100-f-000000", "reportingMTA": "dns; mta.example.com"}))
			if err != nil || ev.Type != EventBounce || ev.BounceType != typ || ev.BounceSubType != sub || ev.Recipient != "jo@example.com" || ev.PersonID != "pK" {
				t.Errorf("bounce %s/%s = %+v, %v", typ, sub, ev, err)
			}
		}
	}
	complained := []map[string]string{{"emailAddress": "jo@example.com"}}
	for _, fb := range []string{"abuse", "auth-failure", "fraud", "not-spam", "other", "virus", ""} {
		body := map[string]any{"complainedRecipients": complained, "timestamp": "2026-12-01T09:02:00.000Z", "feedbackId": "0100-c-000000",
			"userAgent": "Mail/1.0", "arrivalDate": "2026-12-01T09:01:59.000Z", "complaintSubType": nil}
		want := fb
		if fb != "" {
			body["complaintFeedbackType"] = fb
		} else {
			want = "?" // SES leaves it out when the mailbox provider gave none
		}
		ev, err := DecodeEvent(sesShaped(t, "Complaint", "complaint", body))
		if err != nil || ev.Type != EventComplaint || ev.FeedbackType != want || ev.Recipient != "jo@example.com" {
			t.Errorf("complaint %q = %+v, %v", fb, ev, err)
		}
	}
	ev, err := DecodeEvent(sesShaped(t, "Delivery", "delivery", map[string]any{"timestamp": "2026-12-01T09:00:01.000Z", "processingTimeMillis": 546,
		"recipients": []string{"jo@example.com"}, "smtpResponse": "250 ok", "reportingMTA": "a8-70.smtp-out.amazonses.com"}))
	if err != nil || ev.Type != EventDelivery || ev.Recipient != "jo@example.com" {
		t.Errorf("delivery = %+v, %v", ev, err)
	}
	for typ, object := range map[string]string{"DeliveryDelay": "deliveryDelay", "Reject": "reject", "Send": "send"} {
		ev, err := DecodeEvent(sesShaped(t, typ, object, map[string]any{"delayType": "TransientCommunicationFailure", "reason": "Bad content",
			"delayedRecipients": []map[string]string{{"emailAddress": "jo@example.com", "status": "4.4.1"}}}))
		if err != nil || string(ev.Type) != typ || ev.Recipient != "" {
			t.Errorf("%s = %+v, %v", typ, ev, err)
		}
	}
	for typ, object := range map[string]string{"Rendering Failure": "failure", "Subscription": "subscription", "Open": "open", "Click": "click"} {
		_, err := DecodeEvent(sesShaped(t, typ, object, map[string]any{}))
		var drop *DropError
		if !errors.As(err, &drop) || drop.Reason != DropUnknownType {
			t.Errorf("%s: %v; want dropped as %s", typ, err, DropUnknownType)
		}
	}
}
