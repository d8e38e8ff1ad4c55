package export_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/export"
	"github.com/smartprotect/pledge/shared/export/exporttest"
	"github.com/smartprotect/pledge/shared/people"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func facts(r people.Retention) export.Facts {
	return export.Facts{Controller: export.Controller{Name: "SmartProtect, Inc.", PostalAddress: "514 S. Stratford Road"}, Retention: r}
}

func periods(d export.Document) map[string]export.Period {
	out := map[string]export.Period{}
	for _, p := range d.Processing.Retention {
		out[p.Category+"/"+p.Rule] = p
	}
	return out
}

func TestThePeriodsStatedAreTheConfiguredOnes(t *testing.T) {
	h := export.Held{Person: &people.Person{ID: "p", Email: "p@example.com", CreatedAt: t0, UpdatedAt: t0}}
	def := periods(export.Build(h, facts(people.DefaultRetention), t0))
	short := people.DefaultRetention
	short.Unconfirmed, short.LedgerProof, short.NoticeRecords = 36*time.Hour, 2*365*24*time.Hour, 90*time.Minute
	got := periods(export.Build(h, facts(short), t0))
	for _, c := range []struct {
		key, defPeriod, period, words string
	}{
		{"identity/unconfirmed", "P7D", "PT36H", "Deleted 36 hours after you signed up"},
		{"consent-records/ledger-proof", "P2190D", "P730D", "deleted 2 years later"},
		{"notice-records/notice-records", "P365D", "PT5400S", "Deleted 90 minutes after"},
		{"identity/inactive", "P1095D", "P1095D", "Deleted 3 years after"},
	} {
		if def[c.key].Period != c.defPeriod || got[c.key].Period != c.period || !strings.Contains(got[c.key].Description, c.words) {
			t.Errorf("%s: default %q, configured %+v; want %q, then %q saying %q", c.key, def[c.key].Period, got[c.key], c.defPeriod, c.period, c.words)
		}
	}
	if p := got["privacy-requests/request-records"]; p.Period != "" {
		t.Errorf("requests without a configured period state %q", p.Period)
	}
	f := facts(short)
	f.RequestRecords = 3 * 365 * 24 * time.Hour
	if p := periods(export.Build(h, f, t0))["privacy-requests/request-records"]; p.Period != "P1095D" || !strings.Contains(p.Description, "3 years") {
		t.Errorf("requests with a period = %+v", p)
	}
}

func TestFactsWithoutTheNoticeRecordsPeriodAreRefused(t *testing.T) {
	// config.Retention leaves NoticeRecords zero: the caller must set it
	// from config.NoticeRecordsKept, or the export would state no period.
	r := people.DefaultRetention
	r.NoticeRecords = 0
	if err := facts(r).Validate(); err == nil {
		t.Fatal("facts without the notice records' period validate")
	}
	f := facts(people.DefaultRetention)
	f.Controller.PostalAddress = ""
	if err := f.Validate(); err == nil {
		t.Fatal("facts without the controller's address validate")
	}
	if _, err := (export.Exporter{Store: held{}, Facts: facts(r)}).Export(context.Background(), "p", t0); err == nil {
		t.Fatal("an exporter with invalid facts exported")
	}
}

type held struct {
	h   export.Held
	err error
}

func (s held) Holdings(context.Context, string) (export.Held, error) { return s.h, s.err }

func TestNothingHeldIsNotFoundAndAStoreFaultIsReturned(t *testing.T) {
	ctx := context.Background()
	if _, err := (export.Exporter{Store: held{}, Facts: facts(people.DefaultRetention)}).Export(ctx, "p", t0); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("nothing held: %v", err)
	}
	fault := errors.New("throttled")
	if _, err := (export.Exporter{Store: held{err: fault}, Facts: facts(people.DefaultRetention)}).Export(ctx, "p", t0); !errors.Is(err, fault) {
		t.Fatalf("a fault: %v", err)
	}
}

func TestAPurposeIsWithdrawnOnlyWhenItsLastEntryIsAWithdrawal(t *testing.T) {
	ev := func(q people.Purpose, a people.Action, min int) people.ConsentEvent {
		return people.ConsentEvent{ID: string(q) + string(a), At: t0.Add(time.Duration(min) * time.Minute), Purpose: q, Action: a}
	}
	p := people.Person{ID: "p", Email: "p@example.com", Status: people.Unsubscribed, Pending: []people.Purpose{people.Testimonials}, CreatedAt: t0, UpdatedAt: t0}
	d := export.Build(export.Held{Person: &p, Consents: []people.ConsentEvent{
		ev(people.Newsletter, people.Grant, 0), ev(people.Newsletter, people.Confirm, 1), // then all marketing withdrawn
		ev(people.Offers, people.Grant, 2), // never confirmed, no longer pending
		ev(people.AllMarketing, people.Withdraw, 3),
		ev(people.Offers, people.Grant, 4), // asked for again after the withdrawal, link expired
		ev(people.Testimonials, people.Grant, 5),
	}}, facts(people.DefaultRetention), t0.Add(time.Hour))
	want := map[string]string{"newsletter": "withdrawn", "offers": "none", "surveys": "withdrawn", "testimonials": "pending"}
	for _, q := range d.Purposes {
		if q.State != want[q.ID] {
			t.Errorf("%s is %s; want %s", q.ID, q.State, want[q.ID])
		}
	}
	if s := d.Purposes[2].Since; s == nil || !s.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("surveys since %v; want the withdrawal of all marketing", s)
	}
}

func TestABuiltDocumentValidatesAndEmptyListsAreArrays(t *testing.T) {
	d := export.Build(export.Held{Erased: &export.Erased{At: t0}}, facts(people.DefaultRetention), t0)
	body, err := export.JSON(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := exporttest.Validate(body); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	for _, want := range []string{`"consents": []`, `"notices": []`, `"requests": []`, `"profile": null`, `"ledgerKeptUntil": null`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the document lacks %s:\n%s", want, body)
		}
	}
}

func TestRequestsLeftNilAreWrittenAsAnEmptyList(t *testing.T) {
	d := export.Build(export.Held{Erased: &export.Erased{At: t0}}, facts(people.DefaultRetention), t0)
	d.Requests = nil // a caller that assigned what it read
	body, err := export.JSON(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := exporttest.Validate(body); err != nil || !strings.Contains(string(body), `"requests": []`) {
		t.Fatalf("%v\n%s", err, body)
	}
}

// Found by schemathesis: the product's account event makes a person of an
// address that never signed up (no status); their export said "status": ""
// and broke its own schema.
func TestAnAccountHolderWhoNeverSignedUpIsExportedWithStatusNone(t *testing.T) {
	p := people.Person{ID: "p1", Email: "jo@example.com", CreatedAt: t0, UpdatedAt: t0,
		Account: people.Account{State: people.AccountOpen, At: t0}}
	body, err := export.JSON(export.Build(export.Held{Person: &p}, facts(people.DefaultRetention), t0))
	if err != nil {
		t.Fatal(err)
	}
	if err := exporttest.Validate(body); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if !strings.Contains(string(body), `"status": "none"`) {
		t.Fatalf("the profile's status is not none:\n%s", body)
	}
}
