package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

// movedIn puts a confirmed newsletter subscriber into the table, as a
// base moved in (no mail sent), and returns their key.
func movedIn(t *testing.T, email string) string {
	t.Helper()
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
	return id
}

// sesDetail is an SES event's EventBridge envelope around detail, whose
// mail names the given tags and destination.
func sesDetail(detailType string, detail map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"version": "0", "source": "aws.ses", "detail-type": detailType,
		"time": time.Now().UTC().Format(time.RFC3339), "detail": detail})
	return b
}

func sesMail(tags map[string][]string, to string) map[string]any {
	tags["ses:configuration-set"] = []string{"pledge-mail"}
	return map[string]any{"timestamp": time.Now().UTC().Format(time.RFC3339Nano), "messageId": "0100-hostile-" + time.Now().Format("150405.000000"),
		"destination": []string{to}, "tags": tags}
}

// Issue 12, "Bad input": events the mail-events function cannot use reach
// the real function through the local stack and are answered (no error,
// so EventBridge does not retry them), dropped by their kind, and change
// nobody. Among them a forged bounce and complaint tagged with one
// person's key whose recipient list names another address: the tags and
// the recipient list must agree before an event changes anyone.
func TestHostileFeedbackEventsAreDroppedByKindAndChangeNobody(t *testing.T) {
	const a, b = "hostile-a@example.com", "hostile-b@example.com"
	movedIn(t, a)
	bID := movedIn(t, b)
	before, err := personOf(t, b)
	if err != nil {
		t.Fatal(err)
	}
	tagsOf := func(person, kind string) map[string][]string {
		return map[string][]string{"pledge-person": {person}, "pledge-mail": {kind}}
	}
	bounced := func(to string) map[string]any {
		return map[string]any{"bounceType": "Permanent", "bounceSubType": "General", "bouncedRecipients": []map[string]string{{"emailAddress": to}}}
	}
	detail := func(eventType string, m map[string]any, extra map[string]any) map[string]any {
		d := map[string]any{"eventType": eventType, "mail": m}
		for k, v := range extra {
			d[k] = v
		}
		return d
	}
	huge := tagsOf(bID, "newsletter")
	huge["x-padding"] = []string{strings.Repeat("x", 200<<10)}
	for _, c := range []struct {
		name, dropped string
		payload       []byte
	}{
		{"an envelope that is no EventBridge event", "malformed", []byte(`{"source":5,"detail":{}}`)},
		{"a detail that is no object", "malformed", []byte(`{"source":"aws.ses","detail-type":"Email Bounced","detail":"{"}`)},
		{"a detail that is null", "malformed", []byte(`{"source":"aws.ses","detail-type":"Email Bounced","detail":null}`)},
		{"a rendering failure", "unknown-type", sesDetail("Email Rendering Failed", detail("Rendering Failure", sesMail(tagsOf(bID, "newsletter"), b),
			map[string]any{"failure": map[string]any{"errorMessage": "Attribute 'x' is not present", "templateName": "t"}}))},
		{"a subscription event", "unknown-type", sesDetail("Email Subscribed", detail("Subscription", sesMail(tagsOf(bID, "newsletter"), b), nil))},
		{"an open", "unknown-type", sesDetail("Email Opened", detail("Open", sesMail(tagsOf(bID, "newsletter"), b), nil))},
		{"a bounce without our tags", "not-ours", sesDetail("Email Bounced", detail("Bounce", sesMail(map[string][]string{}, b), map[string]any{"bounce": bounced(b)}))},
		{"a bounce for someone gone", "gone", sesDetail("Email Bounced", detail("Bounce", sesMail(tagsOf("nobody-"+bID[:10], "newsletter"), b),
			map[string]any{"bounce": bounced(b)}))},
		{"a bounce naming no recipient", "recipients", sesDetail("Email Bounced", detail("Bounce", sesMail(tagsOf(bID, "newsletter"), b),
			map[string]any{"bounce": map[string]any{"bounceType": "Permanent", "bounceSubType": "General"}}))},
		{"a bounce of a's address tagged for b", "not-recipient", sesDetail("Email Bounced", detail("Bounce", sesMail(tagsOf(bID, "newsletter"), a),
			map[string]any{"bounce": bounced(a)}))},
		{"a complaint of a's address tagged for b", "not-recipient", sesDetail("Email Complaint Received", detail("Complaint", sesMail(tagsOf(bID, "newsletter"), a),
			map[string]any{"complaint": map[string]any{"complaintFeedbackType": "abuse", "complainedRecipients": []map[string]string{{"emailAddress": a}}}}))},
		{"a huge bounce of a's address tagged for b", "not-recipient", sesDetail("Email Bounced", detail("Bounce", sesMail(huge, a),
			map[string]any{"bounce": bounced(a)}))},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := stack.Invoke(ctx, "MailEventsFunction", c.payload)
		cancel()
		var res struct {
			Dropped string `json:"dropped"`
		}
		if err != nil || json.Unmarshal(out, &res) != nil || res.Dropped != c.dropped {
			t.Errorf("%s: %s, %v; want dropped %q and no error (no retry)", c.name, out, err, c.dropped)
		}
	}
	after, err := personOf(t, b)
	if err != nil || after.Version != before.Version || !after.Deliverability.IsZero() || !after.Has(people.Newsletter) {
		t.Fatalf("b after the hostile events: %+v, %v; want unchanged (version %d)", after, err, before.Version)
	}
	if aNow, _ := personOf(t, a); !aNow.Deliverability.IsZero() || !aNow.Has(people.Newsletter) {
		t.Fatalf("a after events tagged for b: %+v", aNow)
	}
}
