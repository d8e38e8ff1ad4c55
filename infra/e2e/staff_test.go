package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
)

// TestStaffAndTheDownstreamSystems runs the staff path on a stack of its
// own with the template's downstream systems (billing, support).
func TestStaffAndTheDownstreamSystems(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := startStack(ctx, localstack.Options{Name: "e2e-staff"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		name string
		run  func(*testing.T, *localstack.Stack)
	}{
		{"a deletion entered by staff is erased and completed when every system answered", staffDeletion},
		{"a content removal refused mails its reason", contentRemovalRefused},
		{"a request is extended once before its due date and the person told", extendedOnce},
		{"bad staff input is a 4xx naming the field and changes nothing", badStaffInput},
		{"the clock publishes what was not announced", clockPublishes},
		{"an access request verified on the web is announced and its export reads the notice records", webAccessAnnounced},
		{"a web deletion reaches the systems when its cool-off ends, a cancelled one never", webDeletionAnnouncedAfterCoolOff},
	} {
		if !t.Run(c.name, func(t *testing.T) { c.run(t, s) }) {
			return
		}
	}
}

// staffAnswer is a staff route's JSON answer, as far as the tests read it.
type staffAnswer struct {
	ID, Kind, Status, Channel, Person, Outcome string
	Due                                        time.Time
	VerifiedBy                                 string
	Notified, Erased                           time.Time
	WaitingOn                                  []string
	Systems                                    []struct {
		Name     string
		Answered time.Time
		Acted    bool
		Reason   string
	}
	Extension *struct {
		Months      int
		Reason      string
		OriginalDue time.Time
	}
	Mailed bool
	Error  *struct{ Code, Message, Field string }
}

func staffCall(t *testing.T, s *localstack.Stack, method, path, body string) (int, staffAnswer) {
	t.Helper()
	got := admin(t, s, method, path, "application/json", body, true)
	var a staffAnswer
	if err := json.Unmarshal([]byte(got.Body), &a); err != nil {
		t.Fatalf("%s %s = %d %s", method, path, got.Status, got.Body)
	}
	if strings.Contains(got.Body, "@") {
		t.Fatalf("%s %s answered an address: %s", method, path, got.Body)
	}
	return got.Status, a
}

func intake(channel, kind, email string, received time.Time) string {
	return fmt.Sprintf(`{"channel":%q,"kind":%q,"email":%q,"received":%q,"verifiedBy":"amy (staff 17)","verifiedHow":"replied from the address on file"}`,
		channel, kind, email, received.UTC().Format(time.RFC3339))
}

func mailsOn(t *testing.T, s *localstack.Stack, addr, subject string) []localstack.Mail {
	t.Helper()
	ms, err := s.Mailbox.To(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	var out []localstack.Mail
	for _, m := range ms {
		if strings.Contains(m.Subject, subject) {
			out = append(out, m)
		}
	}
	return out
}

// systemsEvents are the events put on pledge's own bus for the systems.
func systemsEvents(s *localstack.Stack) []localstack.BusEvent {
	var out []localstack.BusEvent
	for _, e := range s.BusEvents() {
		if e.Bus == "PrivacyRequestsBus" {
			out = append(out, e)
		}
	}
	return out
}

func eventFor(t *testing.T, s *localstack.Stack, id string) (localstack.BusEvent, int) {
	t.Helper()
	var found localstack.BusEvent
	n := 0
	for _, e := range systemsEvents(s) {
		var d struct {
			RequestID, Kind, Person string
			Systems                 []string
		}
		if err := json.Unmarshal(e.Detail, &d); err != nil || strings.Contains(string(e.Detail), "@") || e.Source != "pledge.privacy" {
			t.Fatalf("event %+v", e)
		}
		if d.RequestID == id {
			found, n = e, n+1
			if strings.Join(d.Systems, ",") != "billing,support" || d.Person == "" || d.Kind == "" {
				t.Fatalf("event %s", e.Detail)
			}
		}
	}
	return found, n
}

// The staff path of a deletion asked by mail: entered verified with its
// clock from receipt, announced to the systems once, erased after the
// cool-off, completed when the last system answers, with one last mail.
func staffDeletion(t *testing.T, s *localstack.Stack) {
	const addr = "staff-delete@example.com"
	form := signupForm(addr, "newsletter")
	req, _ := http.NewRequest(http.MethodPost, s.GatewayURL+"/signup", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := client.Do(req); err != nil || resp.StatusCode >= 400 {
		t.Fatalf("sign-up: %v %v", resp, err)
	}
	if _, err := personOn(t, s, addr); err != nil {
		t.Fatal(err)
	}
	received := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	if unsigned := admin(t, s, http.MethodPost, "/admin/requests", "application/json", intake("email", "delete", addr, received), false); unsigned.Status != http.StatusForbidden {
		t.Fatalf("unsigned = %d", unsigned.Status)
	}
	status, r := staffCall(t, s, http.MethodPost, "/admin/requests", intake("email", "delete", "Staff-Delete@Example.com", received))
	if status != 201 || r.Status != "verified" || r.Channel != "email" || !r.Due.Equal(received.Add(720*time.Hour)) || r.Notified.IsZero() ||
		strings.Join(r.WaitingOn, ",") != "billing,support" || r.VerifiedBy != "amy (staff 17)" {
		t.Fatalf("entry = %d %+v", status, r)
	}
	if e, n := eventFor(t, s, r.ID); n != 1 || e.Function != "RequestsFunction" {
		t.Fatalf("%d events for %s, %+v", n, r.ID, e)
	}
	if status, again := staffCall(t, s, http.MethodPost, "/admin/requests", intake("email", "delete", addr, received)); status != 200 || again.ID != r.ID {
		t.Fatalf("a retried entry = %d %+v", status, again)
	}
	if _, n := eventFor(t, s, r.ID); n != 1 {
		t.Fatalf("the retry published again: %d", n)
	}
	if status, c := staffCall(t, s, http.MethodPost, "/admin/requests/"+r.ID+"/complete", `{}`); status != 409 || !strings.Contains(c.Error.Message, "completes itself") {
		t.Fatalf("staff completing a deletion = %d %+v", status, c)
	}

	verified := requestOn(t, s, r.ID).VerifiedAt
	if c := privacyClock(t, s, verified.Add(73*time.Hour)); c.Erased != 1 || c.Completed != 0 || c.Failed != 0 {
		t.Fatalf("after the cool-off the clock did %+v", c)
	}
	if _, err := personOn(t, s, addr); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("the person is still there: %v", err)
	}
	waiting := requestOn(t, s, r.ID)
	if waiting.Status != privacy.InProgress || waiting.Staff.ErasedAt.IsZero() || len(mailsOn(t, s, addr, "is deleted")) != 0 {
		t.Fatalf("erased request = %+v", waiting)
	}
	if c := privacyClock(t, s, verified.Add(74*time.Hour)); c.Erased != 0 || c.Completed != 0 {
		t.Fatalf("a run while waiting did %+v", c)
	}
	if status, a := staffCall(t, s, http.MethodPost, "/admin/requests/"+r.ID+"/systems/billing", `{"acted":true}`); status != 200 || a.Status != "in-progress" ||
		strings.Join(a.WaitingOn, ",") != "support" {
		t.Fatalf("billing = %d %+v", status, a)
	}
	ack := `{"acted":false,"reason":"no tickets for this person"}`
	status, done := staffCall(t, s, http.MethodPost, "/admin/requests/"+r.ID+"/systems/support", ack)
	if status != 200 || done.Status != "completed" || done.Outcome != "erased" || !done.Mailed || len(done.WaitingOn) != 0 {
		t.Fatalf("support = %d %+v", status, done)
	}
	if status, again := staffCall(t, s, http.MethodPost, "/admin/requests/"+r.ID+"/systems/support", ack); status != 200 || again.Mailed {
		t.Fatalf("a retried answer = %d %+v", status, again)
	}
	if last := mailsOn(t, s, addr, "is deleted"); len(last) != 1 || !strings.Contains(last[0].Body.Text, "This is the last mail") {
		t.Fatalf("%d last mails", len(last))
	}
	status, shown := staffCall(t, s, http.MethodGet, "/admin/requests/"+r.ID, "")
	if status != 200 || shown.Status != "completed" || len(shown.Systems) != 2 || shown.Systems[1].Reason != "no tickets for this person" || shown.Erased.IsZero() {
		t.Fatalf("shown = %d %+v", status, shown)
	}
	if got := requestOn(t, s, r.ID); got.Email != "" {
		t.Fatalf("the closed request keeps the address")
	}
}

// A content removal asked on the web waits for staff after its
// verification; refused, the person gets the reason by mail, once.
func contentRemovalRefused(t *testing.T, s *localstack.Stack) {
	ctx := context.Background()
	const addr = "forum-poster@example.com"
	post := func(path string, form url.Values) answer {
		req, _ := http.NewRequest(http.MethodPost, s.GatewayURL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", browserAccept)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return answer{Status: resp.StatusCode}
	}
	post("/privacy", url.Values{"kind": {"remove-content"}, "email": {addr}})
	ms, err := s.Mailbox.To(ctx, addr)
	if err != nil || len(ms) != 1 {
		t.Fatalf("mails %d %v", len(ms), err)
	}
	link := regexp.MustCompile(`https?://[^\s"<>]+/privacy/verify\?t=[A-Za-z0-9_.%-]+`).FindString(ms[0].Body.Text)
	if got := post("/privacy/verify", url.Values{"t": {tokenOf(t, link)}}); got.Status != 200 {
		t.Fatalf("verify = %d", got.Status)
	}
	open := admin(t, s, http.MethodGet, "/admin/requests?status=in-progress", "", "", true)
	var listed struct{ Requests []struct{ ID, Kind string } }
	json.Unmarshal([]byte(open.Body), &listed)
	id := ""
	for _, r := range listed.Requests {
		if r.Kind == "remove-content" {
			id = r.ID
		}
	}
	if id == "" {
		t.Fatalf("no content removal in progress: %s", open.Body)
	}
	if e, n := eventFor(t, s, id); n != 1 || e.Function != "PrivacyFunction" {
		t.Fatalf("%d events, %+v", n, e)
	}
	if status, a := staffCall(t, s, http.MethodPost, "/admin/requests/"+id+"/refuse", `{"reason":"other"}`); status != 400 || a.Error.Field != "text" {
		t.Fatalf("other without text = %d %+v", status, a)
	}
	body := `{"reason":"legal-hold","text":"A court ordered us to keep the thread until the case ends."}`
	status, a := staffCall(t, s, http.MethodPost, "/admin/requests/"+id+"/refuse", body)
	if status != 200 || a.Status != "refused" || !a.Mailed {
		t.Fatalf("refuse = %d %+v", status, a)
	}
	if status, again := staffCall(t, s, http.MethodPost, "/admin/requests/"+id+"/refuse", body); status != 200 || again.Mailed {
		t.Fatalf("a retried refusal = %d %+v", status, again)
	}
	refusals := mailsOn(t, s, addr, "Your privacy request")
	var said []localstack.Mail
	for _, m := range refusals {
		if strings.Contains(m.Body.Text, "We cannot do it") {
			said = append(said, m)
		}
	}
	if len(said) != 1 || !strings.Contains(said[0].Body.Text, "The law requires us to keep this data for now. A court ordered us to keep the thread") ||
		!strings.Contains(said[0].Body.HTML, "A court ordered us") || !strings.Contains(said[0].Body.Text, "Removal of your testimonial or forum posts") {
		t.Fatalf("%d refusal mails: %+v", len(said), said)
	}
}

// An extension goes once, before the due date, and is mailed at once.
func extendedOnce(t *testing.T, s *localstack.Stack) {
	const addr = "slow-export@example.com"
	received := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	_, r := staffCall(t, s, http.MethodPost, "/admin/requests", intake("phone", "access", addr, received))
	status, x := staffCall(t, s, http.MethodPost, "/admin/requests/"+r.ID+"/extend", `{"months":2,"reason":"Your data spans three archives we must restore."}`)
	// Two calendar months on; from a day the target month lacks (30
	// December), its last day (time.AddDate would overflow into March).
	want := r.Due.AddDate(0, 2, 0)
	if want.Day() != r.Due.Day() {
		want = want.AddDate(0, 0, -want.Day())
	}
	if status != 200 || !x.Due.Equal(want) || x.Extension == nil || !x.Extension.OriginalDue.Equal(r.Due) || !x.Mailed {
		t.Fatalf("extend = %d %+v", status, x)
	}
	told := mailsOn(t, s, addr, "needs more time")
	if len(told) != 1 || !strings.Contains(told[0].Body.Text, "three archives") || !strings.Contains(told[0].Body.Text, x.Due.UTC().Format("2 January 2006")) {
		t.Fatalf("%d extension mails %+v", len(told), told)
	}
	status, twice := staffCall(t, s, http.MethodPost, "/admin/requests/"+r.ID+"/extend", `{"months":1,"reason":"More."}`)
	if status != 409 || !strings.Contains(twice.Error.Message, "extended once already") || len(mailsOn(t, s, addr, "needs more time")) != 1 {
		t.Fatalf("a second extension = %d %+v", status, twice)
	}
	if got := requestOn(t, s, r.ID); !got.Due.Equal(x.Due) {
		t.Fatalf("due = %v", got.Due)
	}
	// A request whose due date passes in a few seconds: too late to extend.
	late := time.Now().Add(-720*time.Hour + 3*time.Second).Truncate(time.Second).Add(time.Second)
	_, l := staffCall(t, s, http.MethodPost, "/admin/requests", intake("email", "access", "late-extension@example.com", late))
	if l.ID == "" {
		t.Fatalf("entry %+v", l)
	}
	time.Sleep(time.Until(l.Due) + 500*time.Millisecond)
	status, tooLate := staffCall(t, s, http.MethodPost, "/admin/requests/"+l.ID+"/extend", `{"months":1,"reason":"x"}`)
	if status != 409 || !strings.Contains(tooLate.Error.Message, "has passed") || len(mailsOn(t, s, "late-extension@example.com", "needs more time")) != 0 {
		t.Fatalf("a late extension = %d %+v", status, tooLate)
	}
}

// Bad staff input is a clear 4xx naming the field, and changes nothing.
func badStaffInput(t *testing.T, s *localstack.Stack) {
	received := time.Now().Add(-time.Hour)
	_, r := staffCall(t, s, http.MethodPost, "/admin/requests", intake("phone", "remove-content", "bad-input@example.com", received))
	before := dump(t, s)
	mails := func() int { ms, _ := s.Mailbox.To(context.Background(), "bad-input@example.com"); return len(ms) }()
	events := len(s.BusEvents())
	good := intake("email", "access", "bad-input-2@example.com", received)
	for _, tt := range []struct {
		name, path, body string
		status           int
		field            string
	}{
		{"an unknown channel", "/admin/requests", strings.Replace(good, `"email","kind"`, `"fax","kind"`, 1), 400, "channel"},
		{"an unknown kind", "/admin/requests", strings.Replace(good, `"access"`, `"forget-me"`, 1), 400, "kind"},
		{"a correction", "/admin/requests", strings.Replace(good, `"access"`, `"correct"`, 1), 400, "kind"},
		{"a bad address", "/admin/requests", strings.Replace(good, "bad-input-2@example.com", "bad-input-2@", 1), 400, "email"},
		{"a future time", "/admin/requests", intake("email", "access", "bad-input-2@example.com", time.Now().Add(time.Hour)), 400, "received"},
		{"an unknown field", "/admin/requests", strings.Replace(good, `"verifiedHow"`, `"verifiedWhy"`, 1), 400, "verifiedWhy"},
		{"an oversized body", "/admin/requests", strings.Replace(good, `"amy (staff 17)"`, `"`+strings.Repeat("a", 20<<10)+`"`, 1), 413, ""},
		{"an extension of three months", "/admin/requests/" + r.ID + "/extend", `{"months":3,"reason":"x"}`, 400, "months"},
		{"an answer from an unknown system", "/admin/requests/" + r.ID + "/systems/crm", `{"acted":true}`, 404, "name"},
		{"an answer for an unknown request", "/admin/requests/nosuchrequest/systems/billing", `{"acted":true}`, 404, "id"},
		{"an answer without acted", "/admin/requests/" + r.ID + "/systems/billing", `{"reason":"x"}`, 400, "acted"},
		{"a refusal for an unknown reason", "/admin/requests/" + r.ID + "/refuse", `{"reason":"bored"}`, 400, "reason"},
		{"a completion of an unknown request", "/admin/requests/nosuchrequest/complete", `{}`, 404, "id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := admin(t, s, http.MethodPost, tt.path, "application/json", tt.body, true)
			var a staffAnswer
			if err := json.Unmarshal([]byte(got.Body), &a); err != nil || got.Status != tt.status || a.Error == nil || a.Error.Field != tt.field || a.Error.Message == "" {
				t.Fatalf("= %d %s; want %d naming %q", got.Status, got.Body, tt.status, tt.field)
			}
		})
	}
	if after := dump(t, s); after != before {
		t.Fatalf("bad input changed the table:\n%s\n---\n%s", before, after)
	}
	if n := func() int { ms, _ := s.Mailbox.To(context.Background(), "bad-input@example.com"); return len(ms) }(); n != mails || len(s.BusEvents()) != events {
		t.Fatalf("bad input mailed or published")
	}
}

// A verified request whose event did not go out (the function was cut off
// between its write and the publication) is published by the clock.
func clockPublishes(t *testing.T, s *localstack.Stack) {
	_, r := staffCall(t, s, http.MethodPost, "/admin/requests", intake("email", "access", "cut-off@example.com", time.Now().Add(-time.Hour)))
	_, err := s.DynamoDB.DynamoDBClient().UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String(s.Table),
		Key:              map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "R#" + r.ID}, "sk": &types.AttributeValueMemberS{Value: "REQUEST"}},
		UpdateExpression: aws.String("REMOVE #s.notified"), ExpressionAttributeNames: map[string]string{"#s": "staff"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Invoke(context.Background(), "PrivacyClockFunction", []byte(`{}`))
	var res struct{ Notified, Failed int }
	if err != nil || json.Unmarshal(out, &res) != nil || res.Notified != 1 || res.Failed != 0 {
		t.Fatalf("clock = %s %v", out, err)
	}
	if e, n := eventFor(t, s, r.ID); n != 2 || e.Function != "PrivacyClockFunction" {
		t.Fatalf("%d events, last %+v", n, e)
	}
	if got := requestOn(t, s, r.ID); got.Staff.Notified.IsZero() {
		t.Fatal("the publication was not recorded")
	}
}

// An access request verified on the web is announced to the systems by
// the privacy function; its export, on a stack holding a policy version,
// reads the person's notice record of that version (the N# grant).
func webAccessAnnounced(t *testing.T, s *localstack.Stack) {
	ctx := context.Background()
	const addr = "web-access@example.com"
	policy := fmt.Sprintf(`{"version":"2027-09","effective":%q,"material":false,"summary":"Clearer words.","url":"https://smartprotect.example/privacy/2027-09"}`,
		time.Now().Add(40*24*time.Hour).UTC().Format("2006-01-02"))
	if got := admin(t, s, http.MethodPost, "/admin/policies", "application/json", policy, true); got.Status != http.StatusCreated {
		t.Fatalf("publish = %d %s", got.Status, got.Body)
	}
	post := func(path string, form url.Values) {
		req, _ := http.NewRequest(http.MethodPost, s.GatewayURL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode >= 400 {
			t.Fatalf("POST %s = %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	newest := func(path string) string {
		ms, err := s.Mailbox.To(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(ms) - 1; i >= 0; i-- {
			if l := regexp.MustCompile(`https?://[^\s"<>]+` + regexp.QuoteMeta(path) + `\?t=[A-Za-z0-9_.%-]+`).FindString(ms[i].Body.Text); l != "" {
				return l
			}
		}
		t.Fatalf("no %s link to %s", path, addr)
		return ""
	}
	post("/signup", signupForm(addr, "newsletter"))
	post("/privacy", url.Values{"kind": {"access"}, "email": {addr}})
	post("/privacy/verify", url.Values{"t": {tokenOf(t, newest("/privacy/verify"))}})
	req, _ := http.NewRequest(http.MethodGet, s.GatewayURL+pathOf(t, newest("/privacy/export")), nil)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("export = %v %v", resp, err)
	}
	var doc struct{ Requests []struct{ ID, Status string } }
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || len(doc.Requests) != 1 || doc.Requests[0].Status != "completed" {
		t.Fatalf("export requests = %+v %v", doc.Requests, err)
	}
	if e, n := eventFor(t, s, doc.Requests[0].ID); n != 1 || e.Function != "PrivacyFunction" {
		t.Fatalf("%d events, %+v", n, e)
	}
}

// Two deletions verified on the web: neither reaches the systems in its
// cool-off; the one cancelled there never does and waits on no system;
// the other is announced by the clock run that ends its cool-off and
// erases the person, and then waits on every system.
func webDeletionAnnouncedAfterCoolOff(t *testing.T, s *localstack.Stack) {
	post := func(path string, form url.Values) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.GatewayURL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode >= 400 {
			t.Fatalf("POST %s = %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	newest := func(addr, path string) string {
		t.Helper()
		ms, err := s.Mailbox.To(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(ms) - 1; i >= 0; i-- {
			if l := regexp.MustCompile(`https?://[^\s"<>]+` + regexp.QuoteMeta(path) + `\?t=[A-Za-z0-9_.%-]+`).FindString(ms[i].Body.Text); l != "" {
				return l
			}
		}
		t.Fatalf("no %s link to %s", path, addr)
		return ""
	}
	const kept, cancelled = "web-delete-kept@example.com", "web-delete-cancelled@example.com"
	ids := map[string]string{}
	for _, addr := range []string{kept, cancelled} {
		post("/signup", signupForm(addr, "newsletter"))
		post("/privacy", url.Values{"kind": {"delete"}, "email": {addr}})
		post("/privacy/verify", url.Values{"t": {tokenOf(t, newest(addr, "/privacy/verify"))}})
		c, err := config.TokenKeys(context.Background(), s.Env("PrivacyFunction"), nil).Verify(tokenOf(t, newest(addr, "/privacy/status")), "privacy-status", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ids[addr] = c.Subject
		if r := requestOn(t, s, ids[addr]); r.Status != privacy.Verified || !r.Staff.Notified.IsZero() {
			t.Fatalf("verified %s = %+v", addr, r)
		}
	}
	post(pathOf(t, newest(cancelled, "/privacy/status")), url.Values{"action": {"cancel"}})
	if r := requestOn(t, s, ids[cancelled]); r.Status != privacy.Cancelled {
		t.Fatalf("cancel = %+v", r)
	}
	verified := requestOn(t, s, ids[kept]).VerifiedAt
	if c := privacyClock(t, s, verified.Add(time.Hour)); c.Failed != 0 {
		t.Fatalf("in the cool-off the clock did %+v", c)
	}
	for _, id := range ids {
		if _, n := eventFor(t, s, id); n != 0 {
			t.Fatalf("%d events for %s in its cool-off", n, id)
		}
	}
	if c := privacyClock(t, s, verified.Add(73*time.Hour)); c.Erased != 1 || c.Notified != 1 || c.Completed != 0 || c.Failed != 0 {
		t.Fatalf("after the cool-off the clock did %+v", c)
	}
	if e, n := eventFor(t, s, ids[kept]); n != 1 || e.Function != "PrivacyClockFunction" {
		t.Fatalf("%d events for the kept deletion, %+v", n, e)
	}
	if r := requestOn(t, s, ids[kept]); r.Status != privacy.InProgress || r.Staff.ErasedAt.IsZero() || strings.Join(r.Waiting(), ",") != "billing,support" {
		t.Fatalf("kept deletion = %+v", r)
	}
	if _, n := eventFor(t, s, ids[cancelled]); n != 0 {
		t.Fatalf("the cancelled deletion reached the systems %d times", n)
	}
	status, r := staffCall(t, s, http.MethodGet, "/admin/requests/"+ids[cancelled], "")
	if status != 200 || r.Status != "cancelled" || len(r.WaitingOn) != 0 || !r.Notified.IsZero() {
		t.Fatalf("cancelled deletion = %d %+v", status, r)
	}
	if _, err := personOn(t, s, cancelled); err != nil {
		t.Fatalf("the cancelled deletion erased its person: %v", err)
	}
}
