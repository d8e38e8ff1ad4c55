package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

// admin calls an IAM-authorised admin route of s, signed as an operator's
// AWS tools sign it (or unsigned).
func admin(t *testing.T, s *localstack.Stack, method, path, contentType, body string, sign bool) answer {
	t.Helper()
	ctx := context.Background()
	req, err := http.NewRequestWithContext(ctx, method, s.GatewayURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if sign {
		if err := localstack.SignAdmin(ctx, req, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

type noticeStatus struct {
	Version, State                 string
	Total, Sent, Failed, Remaining int
	Undeliverable                  int
	StartedAt, FinishedAt          time.Time
	CaughtUpAt                     time.Time
	Late                           bool
	Rate                           float64
}

func publication(version string, effective time.Time, summary string) string {
	b, _ := json.Marshal(map[string]any{"version": version, "effective": effective.UTC().Format("2006-01-02"), "material": true,
		"summary": summary, "url": "https://smartprotect.example/privacy/" + version})
	return string(b)
}

// waitDone polls the status route until the version's notice is done.
func waitDone(t *testing.T, s *localstack.Stack, version string, within time.Duration) noticeStatus {
	t.Helper()
	var st noticeStatus
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got := admin(t, s, http.MethodGet, "/admin/policies/"+version, "", "", true)
		if got.Status != http.StatusOK {
			t.Fatalf("status = %d %s", got.Status, got.Body)
		}
		st = noticeStatus{}
		if err := json.Unmarshal([]byte(got.Body), &st); err != nil {
			t.Fatalf("status body %s: %v", got.Body, err)
		}
		if st.State == "done" {
			return st
		}
	}
	t.Fatalf("the notice of %s is not done after %v: %+v", version, within, st)
	return st
}

// noticesBySubject counts, per address, the mails whose subject contains marker.
func noticesBySubject(t *testing.T, s *localstack.Stack, marker string) map[string]int {
	t.Helper()
	all, err := s.Mailbox.Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, m := range all {
		if strings.Contains(m.Subject, marker) {
			for _, to := range m.Destination.To {
				got[to]++
			}
		}
	}
	return got
}

// importPeople writes n people with status straight into the table.
func importPeople(t *testing.T, s *localstack.Stack, prefix string, n int, status people.Status) []string {
	t.Helper()
	var in []store.Imported
	var emails []string
	now := time.Now().UTC()
	for i := range n {
		email := fmt.Sprintf("%s-%04d@example.com", prefix, i)
		in = append(in, store.Imported{Person: people.Person{ID: people.RandomID(), Email: email, Name: "Imported", Status: status,
			Active: []people.Purpose{people.Newsletter}, CreatedAt: now, UpdatedAt: now, ConfirmedAt: now}})
		emails = append(emails, email)
	}
	if err := store.New(s.DynamoDB.DynamoDBClient(), s.Table).Import(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	return emails
}

// importUnreachable writes n confirmed people with deliverability d.
func importUnreachable(t *testing.T, s *localstack.Stack, prefix string, n int, d people.Deliverability) []string {
	t.Helper()
	var in []store.Imported
	var emails []string
	now := time.Now().UTC()
	for i := range n {
		email := fmt.Sprintf("%s-%04d@example.com", prefix, i)
		in = append(in, store.Imported{Person: people.Person{ID: people.RandomID(), Email: email, Name: "Imported", Status: people.Confirmed,
			Active: []people.Purpose{people.Newsletter}, CreatedAt: now, UpdatedAt: now, ConfirmedAt: now, Deliverability: d}})
		emails = append(emails, email)
	}
	if err := store.New(s.DynamoDB.DynamoDBClient(), s.Table).Import(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	return emails
}

// TestAPolicyVersionIsAnnouncedToEveryoneOnceBeforeItTakesEffect runs on a
// stack of its own: the notice goes to everyone the table holds.
func TestAPolicyVersionIsAnnouncedToEveryoneOnceBeforeItTakesEffect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	own, err := startStack(ctx, localstack.Options{Name: "e2e-notices",
		Parameters: map[string]string{"NoticeLease": "2s", "NoticeSettleGrace": "1s", "NoticeCatchUpEvery": "1s"},
		SESAccount: localstack.SESAccount{MaxSendRate: 100, Max24HourSend: 100000, SendingEnabled: true, ProductionMode: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	own.SESCalls.RecordSends()

	// One person signs up and confirms through the pages; one signs up and
	// never confirms (no proven address: no notice).
	for _, email := range []string{"noa@example.com", "una@example.com"} {
		resp, err := http.PostForm(own.GatewayURL+"/signup", url.Values{"email": {email}, "name": {"N"}, "purposes": {"newsletter"}, "policy_version": {policy}})
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("sign-up = %v, %v", resp, err)
		}
		resp.Body.Close()
	}
	mails, _ := own.Mailbox.To(ctx, "noa@example.com")
	resp, err := http.PostForm(own.GatewayURL+"/confirm", url.Values{"t": {tokenOf(t, linkPattern.FindString(mails[0].Body.Text))}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("confirm = %v, %v", resp, err)
	}
	resp.Body.Close()
	recipients := append([]string{"noa@example.com"}, importPeople(t, own, "conf", 230, people.Confirmed)...)
	recipients = append(recipients, importPeople(t, own, "unsub", 3, people.Unsubscribed)...) // not marketing: they are told too
	importPeople(t, own, "unconf", 2, people.Unconfirmed)

	effective := time.Now().Add(45 * 24 * time.Hour)
	body := publication("2027-02", effective, "We now keep survey answers for 12 months.\n\nNothing else changes.")

	// The route is IAM-authorised, and bad publications change nothing.
	if got := admin(t, own, http.MethodPost, "/admin/policies", "application/json", body, false); got.Status != http.StatusForbidden {
		t.Fatalf("an unsigned publish = %d %s; want 403", got.Status, got.Body)
	}
	for name, c := range map[string]struct {
		contentType, body string
		status            int
	}{
		"too soon":           {"application/json", publication("2027-02", time.Now().Add(10*24*time.Hour), "x"), 400},
		"not JSON":           {"application/x-www-form-urlencoded", "version=2027-02", 415},
		"an unknown field":   {"application/json", strings.Replace(body, `{`, `{"sendTo":"all",`, 1), 400},
		"broken JSON":        {"application/json", body[:20], 400},
		"a bad version":      {"application/json", strings.Replace(body, `"2027-02"`, `"../x"`, 1), 400},
		"a header injection": {"application/json", strings.Replace(body, `12 months.`, `12 months.\r\nBcc: x@example.com`, 1), 400},
		"an oversized body":  {"application/json", strings.Replace(body, `12 months.`, strings.Repeat("a", 20000), 1), 413},
	} {
		if got := admin(t, own, http.MethodPost, "/admin/policies", c.contentType, c.body, true); got.Status != c.status || !strings.Contains(got.Header.Get("Content-Type"), "json") {
			t.Errorf("%s: %d %s; want %d in JSON", name, got.Status, got.Body, c.status)
		}
	}
	if got := admin(t, own, http.MethodGet, "/admin/policies/2027-02", "", "", true); got.Status != http.StatusNotFound {
		t.Fatalf("a version that bad requests must not exist: %d %s", got.Status, got.Body)
	}

	if got := admin(t, own, http.MethodPost, "/admin/policies", "application/json", body, true); got.Status != http.StatusCreated {
		t.Fatalf("publish = %d %s", got.Status, got.Body)
	}
	st := waitDone(t, own, "2027-02", 2*time.Minute) // the publish kicked the notices function
	if st.Sent != len(recipients) || st.Failed != 0 || st.Remaining != 0 || st.Total != len(recipients) || st.Late || st.FinishedAt.IsZero() {
		t.Fatalf("status = %+v; want all %d sent", st, len(recipients))
	}
	records, err := store.New(own.DynamoDB.DynamoDBClient(), own.Table).NoticeRecords(ctx, "2027-02")
	if err != nil || records["sent"] != len(recipients) || len(records) != 1 {
		t.Fatalf("notice records = %v, %v; want one sent record per recipient", records, err)
	}
	marker := "effective " + effective.UTC().Format("2 January 2006")
	got := noticesBySubject(t, own, marker)
	for _, r := range recipients {
		if got[r] != 1 {
			t.Errorf("%s got %d notices, want 1", r, got[r])
		}
	}
	if len(got) != len(recipients) {
		t.Fatalf("%d addresses got the notice, want %d (no unconfirmed address): %v", len(got), len(recipients), got)
	}
	// The notice greets by the name given at sign-up (issue 16).
	noa, _ := own.Mailbox.To(ctx, "noa@example.com")
	greeted := false
	for _, m := range noa {
		greeted = greeted || strings.Contains(m.Subject, marker) && strings.Contains(m.Body.Text, "Hello N,\n") && strings.Contains(m.Body.HTML, "<p>Hello N,</p>")
	}
	if !greeted {
		t.Errorf("noa's notice does not greet her by name: %+v", noa)
	}
	// Every mail went through the one configuration set, tagged with its
	// person's key and kind (and the version, for a notice); no header
	// names the person.
	kinds := map[string]int{}
	for _, sent := range own.SESCalls.Sends() {
		for _, m := range sent.Mails {
			kinds[m.Tags[mail.TagKind]]++
			if sent.ConfigurationSet == "" || m.Tags[mail.TagPerson] == "" || strings.Contains(m.Tags[mail.TagPerson], "@") ||
				(m.Tags[mail.TagKind] == "notice") != (m.Tags[mail.TagNotice] == "2027-02") {
				t.Errorf("a mail to %v went through %q tagged %v", m.To, sent.ConfigurationSet, m.Tags)
			}
			for _, h := range m.Headers {
				if strings.Contains(h.Value, m.Tags[mail.TagPerson]) || strings.HasPrefix(strings.ToLower(h.Name), "x-pledge") {
					t.Errorf("a mail to %v carries the header %s: %s", m.To, h.Name, h.Value)
				}
			}
		}
	}
	if kinds["confirm"] != 2 || kinds["notice"] != len(recipients) || len(kinds) != 2 {
		t.Fatalf("mails by kind: %v; want 2 confirmations and %d notices", kinds, len(recipients))
	}
	calls := own.SESCalls.Counts()
	if calls["SendBulkEmail"] != (len(recipients)+49)/50 || calls["SendEmail"] != 2 { // and the two confirmation mails
		t.Fatalf("SES calls %v for %d recipients; want full bulk calls of 50", calls, len(recipients))
	}
	var noticeSends []localstack.Send // the confirmations just before are not the fan-out's to pace
	for _, sent := range own.SESCalls.Sends() {
		if len(sent.Mails) > 0 && sent.Mails[0].Tags[mail.TagKind] == "notice" {
			noticeSends = append(noticeSends, sent)
		}
	}
	if most := localstack.MaxPerSecond(noticeSends); most > 100 {
		t.Fatalf("%d notices left within one second; the account allows 100", most)
	}
	// SES's send events for every one of those mails were counted, by day,
	// without an address or a person key.
	checkMailCounts(t, own)

	// Publishing it again changes nothing and sends nothing; changing it is refused.
	before := len(own.SESCalls.Sends())
	if again := admin(t, own, http.MethodPost, "/admin/policies", "application/json", body, true); again.Status != http.StatusOK {
		t.Fatalf("the same version again = %d %s; want 200", again.Status, again.Body)
	}
	changed := strings.Replace(body, "12 months", "24 months", 1)
	if again := admin(t, own, http.MethodPost, "/admin/policies", "application/json", changed, true); again.Status != http.StatusConflict {
		t.Fatalf("a changed version = %d %s; want 409", again.Status, again.Body)
	}
	time.Sleep(1100 * time.Millisecond) // a catch-up pass is due: it finds nobody new
	if out, err := own.Invoke(ctx, "NoticesFunction", []byte("{}")); err != nil || len(own.SESCalls.Sends()) != before {
		t.Fatalf("a scheduled run after the notice was done = %s, %v; sent %d calls more", out, err, len(own.SESCalls.Sends())-before)
	}

	// Someone who confirms after the notice went out, before the version
	// takes effect, is told by the next catch-up pass, once.
	resp, err = http.PostForm(own.GatewayURL+"/signup", url.Values{"email": {"late@example.com"}, "purposes": {"surveys"}, "policy_version": {policy}})
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("late sign-up = %v, %v", resp, err)
	}
	resp.Body.Close()
	mails, _ = own.Mailbox.To(ctx, "late@example.com")
	resp, err = http.PostForm(own.GatewayURL+"/confirm", url.Values{"t": {tokenOf(t, linkPattern.FindString(mails[0].Body.Text))}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("late confirm = %v, %v", resp, err)
	}
	resp.Body.Close()
	time.Sleep(1100 * time.Millisecond)
	for range 2 { // the second run finds the late one told
		if out, err := own.Invoke(ctx, "NoticesFunction", []byte("{}")); err != nil {
			t.Fatalf("catch-up run = %s, %v", out, err)
		}
		time.Sleep(1100 * time.Millisecond)
	}
	got = noticesBySubject(t, own, marker)
	if got["late@example.com"] != 1 || len(got) != len(recipients)+1 {
		t.Fatalf("after the catch-up: late got %d notices, %d addresses in all; want 1 and %d", got["late@example.com"], len(got), len(recipients)+1)
	}
	for _, r := range recipients {
		if got[r] != 1 {
			t.Fatalf("%s got %d notices after the catch-up, want 1", r, got[r])
		}
	}
	if st := waitDone(t, own, "2027-02", time.Minute); st.Total != len(recipients)+1 || st.Sent != len(recipients)+1 || st.Remaining != 0 || st.CaughtUpAt.IsZero() {
		t.Fatalf("status after the catch-up = %+v", st)
	}
}

// TestARunKilledAnywhereLosesNobody kills the notices function at random
// moments and checks, from what SES accepted, that everyone got the notice.
func TestARunKilledAnywhereLosesNobody(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	own, err := startStack(ctx, localstack.Options{Name: "e2e-notice-kills", Parameters: map[string]string{"NoticeLease": "1s", "NoticeSettleGrace": "5s"},
		SESAccount: localstack.SESAccount{MaxSendRate: 100, Max24HourSend: 100000, SendingEnabled: true, ProductionMode: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	own.SESCalls.RecordSends()
	recipients := importPeople(t, own, "k", 600, people.Confirmed)
	// And 40 whom SES's feedback says our mail does not reach: 30 bounced
	// for good, 10 resting after transient bounces until after the test.
	unreachable := importUnreachable(t, own, "ku", 30, people.Deliverability{State: people.Undeliverable, Since: time.Now().Add(-time.Hour)})
	unreachable = append(unreachable, importUnreachable(t, own, "kr", 10,
		people.Deliverability{State: people.Resting, Since: time.Now().Add(-time.Hour), Until: time.Now().Add(7 * 24 * time.Hour)})...)
	body := publication("2027-03", time.Now().Add(40*24*time.Hour), "Kill test.")

	// First the window itself: a run claimed k-0000 and SES took the notice,
	// then the run died before recording it. SES's send event must mark the
	// record sent, so that no later run sends it again.
	st := store.New(own.DynamoDB.DynamoDBClient(), own.Table)
	page, _, err := st.Recipients(ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var first notice.Recipient
	for _, rc := range page {
		if rc.Email == recipients[0] {
			first = rc
		}
	}
	if res, err := st.Claim(ctx, "2027-03", first, "killed-run", time.Now().Add(time.Second), time.Now()); err != nil || res != notice.Claimed {
		t.Fatalf("claim = %v, %v", res, err)
	}
	env := own.Env("NoticesFunction")
	from, company := config.Sender(env), config.Company(env)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	sender, err := mail.NewSender(own.SES.SESClient(), from, company.Name, company.PostalAddress, company.Contact)
	if err != nil {
		t.Fatal(err)
	}
	killed := mail.NewNoticeSender(own.SES.SESClient(), sender)
	for _, f := range own.Functions {
		if f.LogicalID == "NoticesFunction" {
			killed.ConfigurationSet = f.Env["MAIL_CONFIGURATION_SET"]
		}
	}
	var in notice.Publication
	json.Unmarshal([]byte(body), &in)
	pol, _ := in.Validate(time.Now(), 0, "")
	if ds, err := killed.SendNotice(ctx, pol, []notice.Recipient{first}); err != nil || ds[0].Result != notice.Accepted {
		t.Fatalf("the killed run's send = %+v, %v", ds, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if records, _ := st.NoticeRecords(ctx, "2027-03"); records["sent"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("SES's send event never marked the killed run's notice sent")
		}
	}

	// Then kills at random moments of real runs, while the SES proxy loses
	// the answer of some send calls that SES took: the run cannot know whom
	// they reached, and must neither send them again nor lose them.
	answers := localstack.NewSESFaults(0.25, 3)
	own.SESCalls.LoseSESAnswers(answers)
	if got := admin(t, own, http.MethodPost, "/admin/policies", "application/json", body, true); got.Status != http.StatusCreated {
		t.Fatalf("publish = %d %s", got.Status, got.Body)
	}
	// After a kill the next run waits out the lease and the grace, as the
	// schedule would. The grace is generous for a loaded CI machine: the send
	// events of a killed call must land within it.
	kills, err := own.KillAtRandom(ctx, "NoticesFunction", 5, rand.New(rand.NewPCG(1, 2)), 1500*time.Millisecond, 6100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// The scheduled runs that follow; one that lost an answer stops as if
	// killed, and the next waits out its lease and the grace.
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(time.Second) {
		out, err := own.Invoke(ctx, "NoticesFunction", []byte("{}"))
		if err != nil {
			t.Fatal(err)
		}
		var rep notice.Report
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("report %s: %v", out, err)
		}
		if rep.Versions["2027-03"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the notice is not done after the kills: last run %s", out)
		}
	}
	own.SESCalls.LoseSESAnswers(nil)
	status := waitDone(t, own, "2027-03", 3*time.Minute)
	lost, doubled := localstack.LostAndDoubled(own.SESCalls.Sends(), recipients)
	t.Logf("%d kills, %d lost answers: %d lost, %d doubled of %d; %d undeliverable not sent; status %+v",
		kills, answers.Lost(), lost, doubled, len(recipients), len(unreachable), status)
	// Everyone is accounted for once: sent, or undeliverable (neither lost
	// nor failed), and nobody our mail does not reach was sent a notice.
	if status.Total != len(recipients)+len(unreachable) || status.Sent != len(recipients) || status.Undeliverable != len(unreachable) ||
		status.Failed != 0 || status.Remaining != 0 {
		t.Fatalf("status = %+v; want %d sent and %d undeliverable of %d", status, len(recipients), len(unreachable), len(recipients)+len(unreachable))
	}
	got := map[string]int{}
	for _, send := range own.SESCalls.Sends() {
		for _, to := range send.To {
			got[to]++
		}
	}
	for _, u := range unreachable {
		if got[u] != 0 {
			t.Fatalf("%s, whom our mail does not reach, was sent %d notices", u, got[u])
		}
	}
	if answers.Lost() == 0 {
		t.Fatal("no answer was lost: the test tested nothing of that")
	}
	if lost != 0 {
		t.Fatalf("%d recipients lost after %d kills and %d lost answers", lost, kills, answers.Lost())
	}
	// A kill between SES accepting a call and the run recording it is
	// covered by SES's send events, which mark those records sent during
	// the grace before the next run.
	if doubled != 0 {
		t.Fatalf("%d recipients doubled after %d kills and %d lost answers", doubled, kills, answers.Lost())
	}
}
