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

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/export"
	"github.com/smartprotect/pledge/shared/export/exporttest"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/store"
)

// signedUp signs email up for the newsletter on s and confirms it.
func signedUp(t *testing.T, email string) {
	t.Helper()
	if got := postForm(t, "/signup", signupForm(email, "newsletter")); got.Status != http.StatusSeeOther {
		t.Fatalf("sign-up = %d", got.Status)
	}
	mails := mailsTo(t, email)
	if got := postForm(t, "/confirm", url.Values{"t": {tokenOf(t, confirmLink(t, mails[len(mails)-1]))}}); got.Status != 200 {
		t.Fatalf("confirm = %d", got.Status)
	}
}

// privacyLink finds the link to path in both parts of the newest mail to
// addr whose subject says subject.
func privacyLink(t *testing.T, addr, subject, path string) string {
	t.Helper()
	m := newestMail(t, addr, subject)
	link := regexp.MustCompile(`https?://[^\s"<>]+` + regexp.QuoteMeta(path) + `\?t=[A-Za-z0-9_.%-]+`).FindString(m.Body.Text)
	if link == "" || !strings.Contains(m.Body.HTML, `href="`+link+`"`) {
		t.Fatalf("no %s link in both parts of %q:\n%s\n%s", path, m.Subject, m.Body.Text, m.Body.HTML)
	}
	return link
}

func newestMail(t *testing.T, addr, subject string) localstack.Mail {
	t.Helper()
	mails := mailsTo(t, addr)
	for i := len(mails) - 1; i >= 0; i-- {
		if strings.Contains(mails[i].Subject, subject) {
			return mails[i]
		}
	}
	t.Fatalf("no mail to %s says %q (%d mails)", addr, subject, len(mails))
	return localstack.Mail{}
}

func countMailsTo(t *testing.T, addr, subject string) int {
	t.Helper()
	n := 0
	for _, m := range mailsTo(t, addr) {
		if strings.Contains(m.Subject, subject) {
			n++
		}
	}
	return n
}

type clockResult struct {
	Open, Expired, Erased, Completed, Reminders, Overdue, Failed, Notified int
}

// privacyClock runs s's privacy-request clock as the schedule would, as of at.
func privacyClock(t *testing.T, s *localstack.Stack, at time.Time) clockResult {
	t.Helper()
	out, err := s.Invoke(context.Background(), "PrivacyClockFunction", []byte(fmt.Sprintf(`{"now":%q}`, at.UTC().Format(time.RFC3339))))
	if err != nil {
		t.Fatal(err)
	}
	var r clockResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("the clock answered %s", out)
	}
	return r
}

func requestOn(t *testing.T, s *localstack.Stack, id string) privacy.Request {
	t.Helper()
	r, err := store.New(s.DynamoDB.DynamoDBClient(), s.Table).Request(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func requestID(t *testing.T, link string) string {
	t.Helper()
	c, err := keys.Verify(tokenOf(t, link), "privacy-status", time.Now())
	if err != nil {
		c, err = keys.Verify(tokenOf(t, link), "privacy-verify", time.Now())
	}
	if err != nil {
		t.Fatalf("link %s: %v", link, err)
	}
	return c.Subject
}

func TestAnAccessRequestIsVerifiedOnceAndAnsweredWithTheExport(t *testing.T) {
	const email = "access@example.com"
	signedUp(t, email)
	if form := do(t, http.MethodGet, "/privacy", "", browserAccept, nil); form.Status != 200 || !strings.Contains(form.Body, `value="access"`) {
		t.Fatalf("form = %d", form.Status)
	}
	if head := do(t, http.MethodHead, "/privacy", "", browserAccept, nil); head.Status != 200 || head.Body != "" {
		t.Fatalf("HEAD /privacy = %d %q", head.Status, head.Body)
	}

	stack.DynamoDBCalls.Reset()
	asked := postJSON(t, "/privacy", `{"kind":"access","email":"Access@Example.com"}`)
	if asked.Status != http.StatusAccepted || !strings.Contains(asked.Body, "sent_if_deliverable") {
		t.Fatalf("ask = %d %s", asked.Status, asked.Body)
	}
	askCalls := stack.DynamoDBCalls.CountsExcept(asyncMailEvents)
	link := privacyLink(t, email, "confirm your privacy request", "/privacy/verify")
	id := requestID(t, link)
	if r := requestOn(t, stack, id); r.Status != privacy.Unverified || r.Kind != privacy.Access || r.Email != email || !r.Due.Equal(r.Received.Add(720*time.Hour)) {
		t.Fatalf("stored = %+v", r)
	}

	// Mail scanners open links: GET shows the button and changes nothing.
	for range 2 {
		if p := do(t, http.MethodGet, pathOf(t, link), "", browserAccept, nil); p.Status != 200 || !strings.Contains(p.Body, `action="/privacy/verify"`) {
			t.Fatalf("verify page = %d\n%s", p.Status, p.Body)
		}
	}
	if r := requestOn(t, stack, id); r.Status != privacy.Unverified || r.Version != 1 {
		t.Fatalf("GET changed the request: %+v", r)
	}
	stack.DynamoDBCalls.Reset()
	verified := do(t, http.MethodPost, "/privacy/verify", "application/x-www-form-urlencoded", "application/json", strings.NewReader(url.Values{"t": {tokenOf(t, link)}}.Encode()))
	if verified.Status != 200 || !strings.Contains(verified.Body, `"status":"completed"`) || !strings.Contains(verified.Body, `"outcome":"export-sent"`) {
		t.Fatalf("verify = %d %s", verified.Status, verified.Body)
	}
	verifyCalls := stack.DynamoDBCalls.CountsExcept(asyncMailEvents)
	again := postForm(t, "/privacy/verify", url.Values{"t": {tokenOf(t, link)}})
	if again.Status != 200 || countMailsTo(t, email, "Your data at") != 1 {
		t.Fatalf("a double click = %d, %d export mails", again.Status, countMailsTo(t, email, "Your data at"))
	}

	// A published version (not material: nobody is mailed) has the export
	// read the person's notice record of it too.
	if _, _, err := store.New(stack.DynamoDB.DynamoDBClient(), stack.Table).Publish(context.Background(), notice.Policy{
		Version: "2099-01-export", Effective: time.Now().Add(400 * 24 * time.Hour), URL: "https://example.com/privacy",
		Summary: "Nothing for anyone to do.", PublishedAt: time.Now()}, people.Clock{}); err != nil {
		t.Fatal(err)
	}
	exportLink := privacyLink(t, email, "Your data at", "/privacy/export")
	stack.DynamoDBCalls.Reset()
	doc := do(t, http.MethodGet, pathOf(t, exportLink), "", "application/json", nil)
	exportCalls := stack.DynamoDBCalls.CountsExcept(asyncMailEvents)
	// The whole export (GDPR Art. 15), valid against its committed schema.
	var got export.Document
	if doc.Status != 200 || json.Unmarshal([]byte(doc.Body), &got) != nil || got.Profile == nil || got.Profile.Email != email ||
		len(got.Consents) == 0 || len(got.Requests) != 1 || got.Requests[0].ID != id {
		t.Fatalf("export = %d %s", doc.Status, doc.Body)
	}
	if err := exporttest.Validate([]byte(doc.Body)); err != nil {
		t.Fatalf("the export does not match its schema: %v", err)
	}
	active := 0
	for _, q := range got.Purposes {
		if q.State == "active" {
			active++
		}
	}
	if active != 1 {
		t.Fatalf("the export shows %d purposes in force; want the one confirmed:\n%s", active, doc.Body)
	}
	if pageOf := do(t, http.MethodGet, pathOf(t, exportLink), "", browserAccept, nil); pageOf.Status != 200 || !strings.Contains(pageOf.Body, email) {
		t.Fatalf("export page = %d", pageOf.Status)
	}
	status := privacyLink(t, email, "Your data at", "/privacy/status")
	if s := do(t, http.MethodGet, pathOf(t, status), "", browserAccept, nil); s.Status != 200 || !strings.Contains(s.Body, "completed") || !strings.Contains(s.Body, "Open your data") {
		t.Fatalf("status page = %d\n%s", s.Status, s.Body)
	}
	r := requestOn(t, stack, id)
	if r.Email != "" || r.Nonce != "" || r.ClosedAt.IsZero() {
		t.Fatalf("the closed request keeps %+v", r)
	}
	t.Logf("DynamoDB requests of an access request: ask %v, verify %v, export %v", askCalls, verifyCalls, exportCalls)

	// Staff see it, without the address.
	one := admin(t, stack, http.MethodGet, "/admin/requests/"+id, "", "", true)
	if one.Status != 200 || !strings.Contains(one.Body, `"status":"completed"`) || strings.Contains(one.Body, "@") {
		t.Fatalf("admin = %d %s", one.Status, one.Body)
	}
	if unsigned := admin(t, stack, http.MethodGet, "/admin/requests/"+id, "", "", false); unsigned.Status != http.StatusForbidden {
		t.Fatalf("an unsigned admin call = %d", unsigned.Status)
	}
	month := admin(t, stack, http.MethodGet, "/admin/requests?status=completed&month="+r.ClosedAt.Format("2006-01"), "", "", true)
	if month.Status != 200 || !strings.Contains(month.Body, `"id":"`+id+`"`) {
		t.Fatalf("completed this month = %d %s", month.Status, month.Body)
	}
}

func TestAnUnknownAddressGetsTheSameAnswerAndIsToldNothingIsHeld(t *testing.T) {
	const email, known = "stranger@example.com", "known-asker@example.com"
	signedUp(t, known)
	asked := postForm(t, "/privacy", url.Values{"kind": {"access"}, "email": {email}})
	if asked.Status != http.StatusSeeOther || asked.Header.Get("Location") != "/privacy/sent" {
		t.Fatalf("ask = %d %v", asked.Status, asked.Header)
	}
	// A known address gets the same answer and the same mail, but for its link.
	if k := postForm(t, "/privacy", url.Values{"kind": {"access"}, "email": {known}}); k.Status != asked.Status ||
		k.Header.Get("Location") != asked.Header.Get("Location") || k.Body != asked.Body {
		t.Fatalf("a known address got %d %v %q; an unknown one %d %v %q", k.Status, k.Header, k.Body, asked.Status, asked.Header, asked.Body)
	}
	link := privacyLink(t, email, "confirm your privacy request", "/privacy/verify")
	knownMail, unknownMail := newestMail(t, known, "confirm your privacy request"), newestMail(t, email, "confirm your privacy request")
	knownLink := privacyLink(t, known, "confirm your privacy request", "/privacy/verify")
	if knownMail.Subject != unknownMail.Subject || strings.ReplaceAll(knownMail.Body.Text, knownLink, "LINK") != strings.ReplaceAll(unknownMail.Body.Text, link, "LINK") {
		t.Fatalf("the verification mails differ:\n%s\n%s", knownMail.Body.Text, unknownMail.Body.Text)
	}
	got := postForm(t, "/privacy/verify", url.Values{"t": {tokenOf(t, link)}})
	if got.Status != 200 || !strings.Contains(got.Body, "refused: we hold no data about this address") || !strings.Contains(got.Body, "We hold no personal data") {
		t.Fatalf("verify = %d\n%s", got.Status, got.Body)
	}
	m := newestMail(t, email, "Your privacy request")
	if !strings.Contains(m.Body.Text, "holds no personal data about this address") {
		t.Fatalf("the last mail says %s", m.Body.Text)
	}
	if _, err := personOf(t, email); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("the request created a person: %v", err)
	}
}

func TestADeletionIsCancellableThenCarriedOutThroughTheSweepsErasure(t *testing.T) {
	const email, keeps = "delete-me@example.com", "changed-mind@example.com"
	signedUp(t, email)
	signedUp(t, keeps)
	for _, addr := range []string{email, keeps} {
		if got := postForm(t, "/privacy", url.Values{"kind": {"delete"}, "email": {addr}}); got.Status != http.StatusSeeOther {
			t.Fatalf("ask = %d", got.Status)
		}
		// Asking again starts no second request: the same link comes again.
		postForm(t, "/privacy", url.Values{"kind": {"delete"}, "email": {addr}})
		if n := countMailsTo(t, addr, "confirm your privacy request"); n != 2 {
			t.Fatalf("%d verification mails to %s", n, addr)
		}
		if first, second := requestID(t, privacyLink(t, addr, "confirm your privacy request", "/privacy/verify")), requestID(t, privacyLinkAt(t, addr, 0)); first != second {
			t.Fatalf("asking again opened a second request: %s, %s", first, second)
		}
		link := privacyLink(t, addr, "confirm your privacy request", "/privacy/verify")
		if got := postForm(t, "/privacy/verify", url.Values{"t": {tokenOf(t, link)}}); got.Status != 200 || !strings.Contains(got.Body, "Cancel the deletion") {
			t.Fatalf("verify = %d\n%s", got.Status, got.Body)
		}
	}
	status := privacyLink(t, keeps, "Your privacy request", "/privacy/status")
	cancelled := postForm(t, pathOf(t, status), url.Values{"action": {"cancel"}})
	if cancelled.Status != 200 || !strings.Contains(cancelled.Body, "cancelled") || strings.Contains(cancelled.Body, "Cancel the deletion") {
		t.Fatalf("cancel = %d\n%s", cancelled.Status, cancelled.Body)
	}
	deleteID := requestID(t, privacyLink(t, email, "Your privacy request", "/privacy/status"))
	received := requestOn(t, stack, deleteID).VerifiedAt

	if r := privacyClock(t, stack, received.Add(71*time.Hour)); r.Erased != 0 {
		t.Fatalf("in the cool-off the clock erased %d", r.Erased)
	}
	if _, err := personOf(t, email); err != nil {
		t.Fatalf("erased in the cool-off: %v", err)
	}
	r := privacyClock(t, stack, received.Add(73*time.Hour))
	if r.Erased < 1 || r.Completed < 1 || r.Failed != 0 {
		t.Fatalf("after the cool-off the clock did %+v", r)
	}
	if _, err := personOf(t, email); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("the person is still there: %v", err)
	}
	if _, err := personOf(t, keeps); err != nil {
		t.Fatalf("the cancelled deletion erased someone: %v", err)
	}
	if m := newestMail(t, email, "is deleted"); !strings.Contains(m.Body.Text, "This is the last mail") {
		t.Fatalf("last mail %s", m.Body.Text)
	}
	if again := privacyClock(t, stack, received.Add(74*time.Hour)); again.Erased != 0 || countMailsTo(t, email, "is deleted") != 1 {
		t.Fatalf("a second run = %+v, %d last mails", again, countMailsTo(t, email, "is deleted"))
	}
	done := requestOn(t, stack, deleteID)
	if done.Status != privacy.Completed || done.Outcome != privacy.Erased || done.Email != "" {
		t.Fatalf("the request = %+v", done)
	}
	for _, line := range strings.Split(dump(t, stack), "\n") {
		if strings.Contains(line, email) {
			t.Fatalf("the table still holds the address: %s", line)
		}
	}
	if s := do(t, http.MethodGet, pathOf(t, privacyLink(t, email, "Your privacy request", "/privacy/status")), "", browserAccept, nil); !strings.Contains(s.Body, "Your data was deleted on") {
		t.Fatalf("status after the deletion:\n%s", s.Body)
	}
}

// privacyLinkAt is the verification link of the i-th verification mail to addr.
func privacyLinkAt(t *testing.T, addr string, i int) string {
	t.Helper()
	var links []string
	for _, m := range mailsTo(t, addr) {
		if strings.Contains(m.Subject, "confirm your privacy request") {
			links = append(links, regexp.MustCompile(`https?://[^\s"<>]+/privacy/verify\?t=[A-Za-z0-9_.%-]+`).FindString(m.Body.Text))
		}
	}
	return links[i]
}

func TestWrongLinksAndBadRequestsChangeAndMailNothing(t *testing.T) {
	const email = "careful@example.com"
	postJSON(t, "/privacy", `{"kind":"delete","email":"`+email+`"}`)
	link := privacyLink(t, email, "confirm your privacy request", "/privacy/verify")
	id := requestID(t, link)
	signedUp(t, "confirmer@example.com")
	confirm := confirmLink(t, mailsTo(t, "confirmer@example.com")[0])
	unsubscribe := keys.Issue("unsubscribe", id, []string{"preferences"}, time.Now(), 0)
	mails := countMails(t)
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"a confirm link on the verify route", http.MethodPost, "/privacy/verify", url.Values{"t": {tokenOf(t, confirm)}}.Encode(), 400},
		{"an unsubscribe token on the status route", http.MethodGet, "/privacy/status?t=" + url.QueryEscape(unsubscribe), "", 400},
		{"a verify link on the confirm route", http.MethodPost, "/confirm", url.Values{"t": {tokenOf(t, link)}}.Encode(), 400},
		{"a verify link on the unsubscribe route", http.MethodGet, "/unsubscribe?t=" + url.QueryEscape(tokenOf(t, link)), "", 400},
		{"a tampered link", http.MethodPost, "/privacy/verify", url.Values{"t": {tokenOf(t, link) + "x"}}.Encode(), 400},
		{"an unknown kind", http.MethodPost, "/privacy", `{"kind":"correct","email":"` + email + `"}`, 400},
		{"a broken body", http.MethodPost, "/privacy", `{"kind":`, 400},
		{"an oversized body", http.MethodPost, "/privacy", `{"kind":"access","email":"` + strings.Repeat("a", 20000) + `"}`, 413},
	} {
		t.Run(tt.name, func(t *testing.T) {
			contentType := "application/x-www-form-urlencoded"
			if strings.HasPrefix(tt.body, "{") {
				contentType = "application/json"
			}
			got := do(t, tt.method, tt.path, contentType, "application/json", strings.NewReader(tt.body))
			if got.Status != tt.status || !strings.Contains(got.Body, `"error"`) {
				t.Fatalf("= %d %s; want %d", got.Status, got.Body, tt.status)
			}
		})
	}
	if r := requestOn(t, stack, id); r.Status != privacy.Unverified || r.Version != 1 {
		t.Fatalf("the request changed: %+v", r)
	}
	if n := countMails(t); n != mails {
		t.Fatalf("%d mails were sent", n-mails)
	}
}

func TestTheClockExpiresRemindsAndReportsOverdueRequests(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A deadline shorter than the cool-off: a verified deletion is open
	// when its reminders and its due date come.
	own, err := startStack(ctx, localstack.Options{Name: "e2e-privacy-clock", Parameters: map[string]string{"RequestDeadline": "48h", "DownstreamSystems": ""}})
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	post := func(path string, form url.Values) {
		req, _ := http.NewRequest(http.MethodPost, own.GatewayURL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode >= 400 {
			t.Fatalf("POST %s = %v, %v", path, resp, err)
		}
		resp.Body.Close()
	}
	verifyLink := func(addr string) string {
		ms, err := own.Mailbox.To(ctx, addr)
		if err != nil || len(ms) == 0 {
			t.Fatalf("no mail to %s: %v", addr, err)
		}
		return regexp.MustCompile(`https?://[^\s"<>]+/privacy/verify\?t=[A-Za-z0-9_.%-]+`).FindString(ms[len(ms)-1].Body.Text)
	}
	post("/signup", signupForm("late@example.com", "newsletter")) // held: its deletion is verified, not refused
	post("/privacy", url.Values{"kind": {"delete"}, "email": {"late@example.com"}})
	post("/privacy/verify", url.Values{"t": {tokenOf(t, verifyLink("late@example.com"))}})
	post("/privacy", url.Values{"kind": {"access"}, "email": {"silent@example.com"}}) // never verified
	now := time.Now()

	open := admin(t, own, http.MethodGet, "/admin/requests", "", "", true)
	if open.Status != 200 || strings.Count(open.Body, `"kind"`) != 2 || !strings.Contains(open.Body, `"overdue":0`) {
		t.Fatalf("open requests = %d %s", open.Status, open.Body)
	}
	if r := privacyClock(t, own, now.Add(time.Hour)); r.Open != 2 || r.Reminders != 1 {
		t.Fatalf("an hour in = %+v; want the 2-day reminder of the deletion", r)
	}
	if r := privacyClock(t, own, now.Add(2*time.Hour)); r.Reminders != 0 {
		t.Fatalf("a reminder went twice: %+v", r)
	}
	r := privacyClock(t, own, now.Add(48*time.Hour+time.Minute))
	if r.Overdue != 1 || r.Reminders != 1 {
		t.Fatalf("at the due date = %+v", r)
	}
	var stages []string
	for _, e := range own.BusEvents() {
		var a struct{ Stage, RequestID string }
		json.Unmarshal(e.Detail, &a)
		if e.Source != "pledge.privacy" || e.Function != "PrivacyClockFunction" || strings.Contains(string(e.Detail), "@") {
			t.Fatalf("event %+v", e)
		}
		stages = append(stages, e.DetailType+":"+a.Stage)
	}
	if strings.Join(stages, ",") != "Privacy Request Reminder:due-in-2-days,Privacy Request Overdue:overdue" {
		t.Fatalf("events = %v", stages)
	}
	if listed := admin(t, own, http.MethodGet, "/admin/requests?status=verified", "", "", true); !strings.Contains(listed.Body, `"status":"verified"`) {
		t.Fatalf("verified = %s", listed.Body)
	}
	last := privacyClock(t, own, now.Add(8*24*time.Hour))
	if last.Expired != 1 || last.Erased != 1 || last.Completed != 1 || last.Open != 2 {
		t.Fatalf("after 8 days = %+v; want the unverified one expired and the deletion carried out", last)
	}
	if _, err := personOn(t, own, "late@example.com"); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("the deletion left the person: %v", err)
	}
	if again := privacyClock(t, own, now.Add(9*24*time.Hour)); again.Open != 0 {
		t.Fatalf("still open: %+v", again)
	}
}
