package page

import (
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/export"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/web/webtest"
)

var exportAt = time.Date(2027, 1, 4, 10, 3, 0, 0, time.UTC)

// exportOf is the export of someone with v in every field a person, the
// product, SES or an operator controls.
func exportOf(v string) export.Document {
	created := exportAt.Add(-40 * 24 * time.Hour)
	p := people.Person{ID: "p1", Email: v, Name: v, Status: people.Confirmed, Active: []people.Purpose{people.Newsletter},
		Pending: []people.Purpose{people.Offers}, PolicyVersion: v, CreatedAt: created, UpdatedAt: created.Add(time.Hour), ConfirmedAt: created.Add(time.Minute),
		Links: []people.Link{{Nonce: "secret-nonce", Purposes: []people.Purpose{people.Offers}, Name: v, PolicyVersion: v, Source: v,
			Issued: created.Add(time.Hour), Expires: created.Add(49 * time.Hour)}},
		Account: people.Account{State: people.AccountClosed, At: created.Add(24 * time.Hour)},
		Clock:   people.Clock{Rule: people.RuleClosedAccount, Due: created.Add(24*time.Hour + 365*24*time.Hour)},
		Deliverability: people.Deliverability{State: people.Resting, Since: created, Until: created.Add(7 * 24 * time.Hour),
			Transient: []time.Time{created}, LastBounce: created}}
	ctx := people.Context{Source: v, PolicyVersion: v, IP: v, UserAgent: v}
	ledger := []people.ConsentEvent{
		{ID: "e1", At: created, Purpose: people.Newsletter, Action: people.Grant, TextHash: people.Newsletter.ConsentTextHash(), Context: ctx},
		{ID: "e2", At: created.Add(time.Minute), Purpose: people.Newsletter, Action: people.Confirm, TextHash: people.Newsletter.ConsentTextHash(), Context: ctx},
		{ID: "e3", At: created.Add(2 * time.Minute), Purpose: people.Surveys, Action: people.Withdraw, Context: ctx,
			ProofClock: people.Clock{Rule: people.RuleLedgerProof, Due: created.Add(6 * 365 * 24 * time.Hour)}},
	}
	h := export.Held{Person: &p, Consents: ledger, Listed: map[people.Purpose]time.Time{people.Newsletter: created.Add(time.Minute)},
		Notices: []export.HeldNotice{{Policy: notice.Policy{Version: v, Summary: v, URL: v, Effective: exportAt}, State: notice.RecordSent,
			At: created.Add(3 * time.Hour), Attempts: 1, MessageID: v}}}
	f := export.Facts{Controller: export.Controller{Name: v, PostalAddress: v}, Retention: people.DefaultRetention}
	d := export.Build(h, f, exportAt)
	d.Requests = []export.Request{{ID: v, Kind: v, Status: "completed", Received: exportAt.Add(-time.Hour), Due: exportAt.Add(719 * time.Hour),
		Completed: &exportAt, Outcome: v}}
	return d
}

func TestTheExportPageKeepsHostileValuesInTheirPlace(t *testing.T) {
	for _, v := range webtest.Hostile {
		site, _ := NewSite("SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
		plain := site.Page(200, "Your data", Export(exportOf(webtest.Plainly(v)))).Body
		hostile := site.Page(200, "Your data", Export(exportOf(v))).Body
		t.Run(v, func(t *testing.T) { webtest.CheckHTML(t, plain, hostile, v) })
	}
}

func TestTheExportPageSaysDatesAsPeopleWriteThemAndShowsEveryEntry(t *testing.T) {
	site, _ := NewSite("SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	d := exportOf("Jo")
	d.Requests[0].Kind = "access"
	body := site.Page(200, "Your data", Export(d)).Body
	for _, want := range []string{
		"As of 4 January 2027, 10:03 UTC.",
		"<dt>First heard of</dt><dd>25 November 2026</dd>",
		"Withdrew", "Awaiting your confirmation",
		"Closed on 26 November 2026, as our product last told us.",
		"Paused after repeated temporary bounces, until 2 December 2026, 10:03 UTC",
		"26 November 2027, unless something changes before then (your account was closed)",
		// The periods are the facts' (people.DefaultRetention here).
		"Deleted 7 days after you signed up, if you never confirmed.",
		"deleted 6 years later, as proof until then",
		"A copy of your data", // an access request, in words
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "2027-01-04") || strings.Contains(body, "secret-nonce") {
		t.Errorf("the page shows a machine date or a link's secret:\n%s", body)
	}
	// One row per ledger entry, each with its browser.
	if got := strings.Count(webtest.Content(body), "Jo"); got < len(d.Consents) {
		t.Errorf("the page shows %q %d times; the ledger has %d entries", "Jo", got, len(d.Consents))
	}
	if rows := strings.Count(body[strings.Index(body, "Your consent record"):strings.Index(body, "Privacy policy notices")], "<tr>"); rows != len(d.Consents)+1 {
		t.Errorf("the consent table has %d rows; want a header and %d entries", rows, len(d.Consents))
	}
}

func TestAnErasedPersonsExportPageSaysTheProfileIsGone(t *testing.T) {
	site, _ := NewSite("SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	erased := exportAt.Add(-time.Hour)
	d := export.Build(export.Held{Erased: &export.Erased{At: erased, ProofClock: people.Clock{Rule: people.RuleLedgerProof, Due: erased.AddDate(6, 0, 0)}},
		Consents: []people.ConsentEvent{{ID: "e1", At: erased.Add(-time.Hour), Purpose: people.Newsletter, Action: people.Confirm}}},
		export.Facts{Controller: export.Controller{Name: "SmartProtect, Inc.", PostalAddress: "street"}, Retention: people.DefaultRetention}, exportAt)
	body := site.Page(200, "Your data", Export(d)).Body
	for _, want := range []string{"We hold no profile for you.", "Your profile was deleted on 4 January 2027.", "as proof until 4 January 2033",
		"Ended when your profile was deleted"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
}

func TestTheExportPageWritesADatedPolicyVersionAsADayAndScrollsItsTablesInPlace(t *testing.T) {
	site, _ := NewSite("SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	d := exportOf("Jo")
	d.Profile.PolicyVersion = "2015-03-22"
	for i := range d.Consents {
		d.Consents[i].PolicyVersion = "2015-03-22"
	}
	d.Notices[0].Version = "2015-03-22"
	body := site.Page(200, "Your data", Export(d)).Body
	shown := webtest.VisibleText(t, body)
	if !strings.Contains(shown, "22 March 2015") || strings.Contains(shown, "2015-03-22") {
		t.Errorf("a policy version named by its date is not written as a day:\n%s", shown)
	}
	// A wide table scrolls inside a labelled, focusable region, so the page
	// itself fits a 320 px phone (WCAG 2.1 1.4.10) and a keyboard can scroll it.
	tables, regions := strings.Count(body, "<table"), strings.Count(body, `<div role="region" tabindex="0" style="overflow-x:auto" aria-label=`)
	if tables == 0 || regions != tables {
		t.Errorf("%d tables, %d scrolling regions; want one around each table", tables, regions)
	}
}

func TestTheExportPageSaysInWordsWhereAConsentCameFromAndWhatARequestCameTo(t *testing.T) {
	site, _ := NewSite("SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	d := exportOf("Jo")
	d.Consents[0].Source = "api" // a sign-up a program posted as JSON
	d.Requests[0].Kind, d.Requests[0].Outcome = "access", "export-sent"
	shown := webtest.VisibleText(t, site.Page(200, "Your data", Export(d)).Body)
	for _, want := range []string{"Sign-up through our API", "Your data was sent"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the export page does not say %q:\n%s", want, shown)
		}
	}
	if strings.Contains(shown, "export-sent") || strings.Contains(shown, "\tapi\t") {
		t.Errorf("the export page shows a code:\n%s", shown)
	}
}

// An address pledge holds only because the product said it has an account
// never signed up: the page says so in words, not "none".
func TestAnAccountHoldersExportPageSaysTheyNeverSignedUp(t *testing.T) {
	site, _ := NewSite("SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	p := people.Person{ID: "p1", Email: "jo@example.com", CreatedAt: exportAt, UpdatedAt: exportAt, Account: people.Account{State: people.AccountOpen, At: exportAt}}
	d := export.Build(export.Held{Person: &p}, export.Facts{Controller: export.Controller{Name: "SmartProtect, Inc.", PostalAddress: "street"}, Retention: people.DefaultRetention}, exportAt)
	body := site.Page(200, "Your data", Export(d)).Body
	if !strings.Contains(body, "Never signed up: we hold your address because you have an account with our product") {
		t.Fatalf("the page does not say the person never signed up:\n%s", body)
	}
}
