package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
)

// cli runs the command line against the stack at api and returns its exit
// code, stdout and stderr.
func cli(t *testing.T, api string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"-api", api}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// ok runs the command line and fails the test unless it exits 0.
func ok(t *testing.T, api string, args ...string) string {
	t.Helper()
	code, out, errOut := cli(t, api, args...)
	if code != 0 {
		t.Fatalf("pledge %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// okJSON runs the command line with -json and decodes what it wrote into v.
func okJSON(t *testing.T, api string, v any, args ...string) {
	t.Helper()
	out := ok(t, api, append([]string{"-json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("pledge -json %s wrote %q: %v", strings.Join(args, " "), out, err)
	}
}

// TestTheCommandsDriveTheDevStack starts the local stack (as `make dev`
// does) and drives every command whose route exists on main through run,
// as an operator's command line: each outcome is checked in what the
// stack answers afterwards.
func TestTheCommandsDriveTheDevStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the local stack")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s, err := localstack.Start(ctx, localstack.Options{Name: "cli", Parameters: localstack.WithDefaults(nil, localstack.LooseLimits)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	api := s.GatewayURL
	now := time.Now().UTC()

	t.Run("publish, status and notices", func(t *testing.T) {
		effective := now.Add(40 * 24 * time.Hour).Format("2006-01-02")
		out := ok(t, api, "publish", "-version", "2027-cli", "-effective", effective, "-summary", "We keep less.", "-url", "https://smartprotect.example/privacy/2027-cli")
		if !strings.Contains(out, "2027-cli") {
			t.Fatalf("publish wrote %q: no version", out)
		}
		var st struct{ Version, State string }
		okJSON(t, api, &st, "status", "-version", "2027-cli")
		if st.Version != "2027-cli" || st.State == "" {
			t.Fatalf("status = %+v", st)
		}
		ok(t, api, "notices")
		// A refusal is printed plainly, naming the field, with exit 1.
		code, out, errOut := cli(t, api, "publish", "-version", "2027-bad", "-effective", effective, "-summary", "x", "-url", "http://plain.example/")
		if code != 1 || out != "" || !strings.Contains(errOut, "url: the policy URL must be an https URL") || !strings.Contains(errOut, "HTTP 400") {
			t.Fatalf("a bad publish: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		if code, _, errOut := cli(t, api, "status", "-version", "2027-bad"); code != 1 || !strings.Contains(errOut, "HTTP 404") {
			t.Fatalf("the refused version: exit %d, stderr %q", code, errOut)
		}
	})

	t.Run("account and sweep", func(t *testing.T) {
		email := "cli-account@example.com"
		ok(t, api, "account", "-email", email, "-event", "opened", "-at", now.Add(-48*time.Hour).Format(time.RFC3339))
		var closed struct {
			Account   string
			Changed   bool
			Retention struct {
				Rule string
				Due  time.Time
			}
		}
		okJSON(t, api, &closed, "account", "-email", email, "-event", "closed")
		if closed.Account != "closed" || !closed.Changed || closed.Retention.Rule == "" || closed.Retention.Due.Before(now) {
			t.Fatalf("account closed = %+v", closed)
		}
		after := closed.Retention.Due.Add(24 * time.Hour).Format(time.RFC3339)
		type result struct {
			DryRun bool
			Done   bool
			Due    map[string]int
			Erased map[string]int
		}
		sweep := func(args ...string) result {
			var r result
			for range 10 { // a long sweep stops at its deadline and goes on from its cursor
				okJSON(t, api, &r, append([]string{"sweep", "-now", after}, args...)...)
				if r.Done {
					return r
				}
			}
			t.Fatalf("the sweep is not done: %+v", r)
			return r
		}
		if dry := sweep("-dry-run"); !dry.DryRun || dry.Due[closed.Retention.Rule] != 1 || len(dry.Erased) != 0 {
			t.Fatalf("dry run as of %s = %+v, want one due under %s and nothing erased", after, dry, closed.Retention.Rule)
		}
		if real := sweep(); real.DryRun || real.Erased[closed.Retention.Rule] != 1 {
			t.Fatalf("sweep as of %s = %+v, want one erased under %s", after, real, closed.Retention.Rule)
		}
		if out := ok(t, api, "sweep", "-dry-run", "-now", after); !strings.Contains(out, "dryRun: true") {
			t.Fatalf("the sweep's text answer: %q", out)
		}
	})

	t.Run("privacy clock and requests list and show", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, api+"/privacy", strings.NewReader(`{"kind":"access","email":"cli-request@example.com"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("POST /privacy = %d", resp.StatusCode)
		}
		var open struct {
			Status   string
			Requests []struct{ ID, Kind, Status string }
		}
		okJSON(t, api, &open, "requests", "list")
		if open.Status != "open" || len(open.Requests) != 1 || open.Requests[0].Kind != "access" {
			t.Fatalf("requests list = %+v, want the one access request", open)
		}
		id := open.Requests[0].ID
		if out := ok(t, api, "requests", "list"); !strings.HasPrefix(out, "1 open requests\n") || !strings.Contains(out, id) || !strings.Contains(out, "access") {
			t.Fatalf("requests list wrote %q", out)
		}
		out := ok(t, api, "requests", "show", id)
		if !strings.Contains(out, "id: "+id+"\n") || !strings.Contains(out, "kind: access\n") || !strings.Contains(out, "status: "+open.Requests[0].Status+"\n") || strings.Contains(out, "cli-request@") {
			t.Fatalf("requests show wrote %q", out)
		}
		if code, _, errOut := cli(t, api, "requests", "show", "no-such-request"); code != 1 || !strings.Contains(errOut, "id: no such request") || !strings.Contains(errOut, "HTTP 404") {
			t.Fatalf("an unknown request: exit %d, stderr %q", code, errOut)
		}

		// Unverified, it expires after 7 days: the clock run as of 8 days on closes it.
		later := now.Add(8 * 24 * time.Hour)
		var clock struct{ Open, Expired, Failed int }
		okJSON(t, api, &clock, "privacy-clock", "-now", later.Format(time.RFC3339))
		if clock.Expired != 1 || clock.Failed != 0 {
			t.Fatalf("privacy clock as of %s = %+v, want the request expired", later, clock)
		}
		var closed struct {
			Month    string
			Requests []struct{ ID, Status string }
		}
		okJSON(t, api, &closed, "requests", "list", "-status", "expired", "-month", later.Format("2006-01"))
		if len(closed.Requests) != 1 || closed.Requests[0].ID != id || closed.Requests[0].Status != "expired" {
			t.Fatalf("expired requests of %s = %+v", later.Format("2006-01"), closed)
		}
		if out := ok(t, api, "requests", "show", id); !strings.Contains(out, "status: expired\n") {
			t.Fatalf("requests show after the clock wrote %q", out)
		}
	})

	// The staff commands on the routes of functions/requests, after the
	// subtests above (which count the open requests).
	t.Run("requests enter, ack, complete, refuse and extend", func(t *testing.T) {
		type staffAnswer struct {
			ID, Kind, Status, Channel, Outcome, VerifiedBy string
			Due, Received, Erased                          time.Time
			WaitingOn                                      []string
			Systems                                        []struct {
				Name   string
				Acted  bool
				Reason string
			}
			Extension *struct {
				Months      int
				Reason      string
				OriginalDue time.Time
			}
			Mailed bool
		}
		received := now.Add(-3 * time.Hour).Truncate(time.Second)
		enter := func(kind, email string) staffAnswer {
			t.Helper()
			var a staffAnswer
			okJSON(t, api, &a, "requests", "enter", "-channel", "phone", "-kind", kind, "-email", email,
				"-received", received.Format(time.RFC3339), "-verified-by", "amy (staff 17)", "-verified-how", "called back on the number on file")
			if a.ID == "" || a.Status != "verified" || a.Channel != "phone" || a.Kind != kind || !a.Received.Equal(received) ||
				!a.Due.Equal(received.Add(30*24*time.Hour)) || a.VerifiedBy != "amy (staff 17)" {
				t.Fatalf("requests enter %s = %+v: want verified, its clock from %s", kind, a, received)
			}
			return a
		}
		mails := func(addr, subject string) int {
			t.Helper()
			ms, err := s.Mailbox.To(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, m := range ms {
				if strings.Contains(m.Subject, subject) {
					n++
				}
			}
			return n
		}

		// A deletion by phone: erased after the cool-off, completed when
		// both systems answered (one acted, one says why not).
		ok(t, api, "account", "-email", "cli-phone-delete@example.com", "-event", "opened", "-at", now.Add(-time.Hour).Format(time.RFC3339))
		del := enter("delete", "cli-phone-delete@example.com")
		if strings.Join(del.WaitingOn, ",") != "billing,support" {
			t.Fatalf("the deletion waits on %v, want billing,support", del.WaitingOn)
		}
		var clock struct{ Erased, Completed, Failed int }
		okJSON(t, api, &clock, "privacy-clock", "-now", now.Add(73*time.Hour).Format(time.RFC3339))
		if clock.Erased != 1 || clock.Completed != 0 || clock.Failed != 0 {
			t.Fatalf("privacy clock after the cool-off = %+v, want the deletion erased and waiting", clock)
		}
		var billing staffAnswer
		okJSON(t, api, &billing, "requests", "ack", del.ID, "billing")
		if billing.Status != "in-progress" || strings.Join(billing.WaitingOn, ",") != "support" {
			t.Fatalf("requests ack billing = %+v", billing)
		}
		out := ok(t, api, "requests", "ack", del.ID, "support", "-not-acted", "no tickets for this person")
		if !strings.Contains(out, "status: completed\n") || !strings.Contains(out, "outcome: erased\n") || !strings.Contains(out, "mailed: true\n") ||
			!strings.Contains(out, "reason: no tickets for this person\n") || strings.Contains(out, "@") {
			t.Fatalf("requests ack support -not-acted wrote %q", out)
		}
		if n := mails("cli-phone-delete@example.com", "is deleted"); n != 1 {
			t.Fatalf("%d last mails, want 1", n)
		}

		// A content removal waits for staff, who complete it.
		rm := enter("remove-content", "cli-phone-remove@example.com")
		var done staffAnswer
		okJSON(t, api, &done, "requests", "complete", rm.ID, "-note", "thread 4411 removed")
		if done.Status != "completed" || !done.Mailed {
			t.Fatalf("requests complete = %+v", done)
		}

		// An access request refused, its reason mailed.
		acc := enter("access", "cli-phone-refuse@example.com")
		var refused staffAnswer
		okJSON(t, api, &refused, "requests", "refuse", acc.ID, "-reason", "no-data", "-text", "We hold nothing under this address.")
		if refused.Status != "refused" || !refused.Mailed || mails("cli-phone-refuse@example.com", "Your privacy request") != 1 {
			t.Fatalf("requests refuse = %+v", refused)
		}

		// Extended once by two months; a second extension is refused.
		ext := enter("access", "cli-phone-extend@example.com")
		want := ext.Due.AddDate(0, 2, 0) // two calendar months on, or the last day of the second month
		if want.Day() != ext.Due.Day() {
			want = want.AddDate(0, 0, -want.Day())
		}
		var extended staffAnswer
		okJSON(t, api, &extended, "requests", "extend", ext.ID, "-months", "2", "-reason", "Your data spans three archives.")
		if extended.Extension == nil || extended.Extension.Months != 2 || !extended.Extension.OriginalDue.Equal(ext.Due) ||
			!extended.Due.Equal(want) || !extended.Mailed || mails("cli-phone-extend@example.com", "needs more time") != 1 {
			t.Fatalf("requests extend = %+v", extended)
		}
		code, out, errOut := cli(t, api, "requests", "extend", ext.ID, "-months", "1", "-reason", "More.")
		if code != 1 || out != "" || !strings.Contains(errOut, "extended once already") || !strings.Contains(errOut, "HTTP 409") {
			t.Fatalf("a second extension: exit %d, stdout %q, stderr %q", code, out, errOut)
		}

		// Bad input: exit 1 with the server's words naming the field, or
		// exit 2 for a command line that is not one; nothing changed.
		for _, c := range []struct {
			args []string
			code int
			says []string
		}{
			{[]string{"requests", "enter", "-channel", "fax", "-kind", "access", "-email", "cli-bad@example.com", "-received", received.Format(time.RFC3339), "-verified-by", "amy", "-verified-how", "call"}, 1, []string{"channel: ", "HTTP 400"}},
			{[]string{"requests", "enter", "-channel", "email", "-kind", "forget-me", "-email", "cli-bad@example.com", "-received", received.Format(time.RFC3339), "-verified-by", "amy", "-verified-how", "call"}, 1, []string{"kind: ", "HTTP 400"}},
			{[]string{"requests", "enter", "-channel", "email", "-kind", "access", "-email", "cli-bad@", "-received", received.Format(time.RFC3339), "-verified-by", "amy", "-verified-how", "call"}, 1, []string{"email: ", "HTTP 400"}},
			{[]string{"requests", "enter", "-channel", "email", "-kind", "access", "-email", "cli-bad@example.com", "-received", "yesterday", "-verified-by", "amy", "-verified-how", "call"}, 1, []string{"received: ", "HTTP 400"}},
			{[]string{"requests", "extend", ext.ID, "-months", "3", "-reason", "x"}, 1, []string{"months: ", "HTTP 400"}},
			{[]string{"requests", "ack", del.ID, "crm"}, 1, []string{"name: ", "HTTP 404"}},
			{[]string{"requests", "ack", "nosuchrequest", "billing"}, 1, []string{"id: ", "HTTP 404"}},
			{[]string{"requests", "refuse", acc.ID, "-reason", "bored", "-text", "x"}, 1, []string{"reason: ", "HTTP 400"}},
			{[]string{"requests", "complete"}, 2, []string{"give ID", "usage: pledge requests complete"}},
			{[]string{"requests", "ack", del.ID}, 2, []string{"give ID and SYSTEM"}},
			{[]string{"requests", "extend", ext.ID, "-months", "two"}, 2, []string{"usage: pledge requests extend"}},
		} {
			code, out, errOut := cli(t, api, c.args...)
			if code != c.code || out != "" {
				t.Fatalf("pledge %s: exit %d (want %d), stdout %q, stderr %q", strings.Join(c.args, " "), code, c.code, out, errOut)
			}
			for _, want := range c.says {
				if !strings.Contains(errOut, want) {
					t.Fatalf("pledge %s: stderr %q does not say %q", strings.Join(c.args, " "), errOut, want)
				}
			}
		}
		var open struct{ Requests []struct{ ID string } }
		okJSON(t, api, &open, "requests", "list")
		if len(open.Requests) != 1 || open.Requests[0].ID != ext.ID {
			t.Fatalf("open requests after the bad input = %+v, want only the extended one", open)
		}
		if out := ok(t, api, "requests", "show", ext.ID); !strings.Contains(out, "months: 2\n") || strings.Contains(out, "@") {
			t.Fatalf("requests show of the extended request wrote %q", out)
		}
	})
}
