package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/retention"
	"github.com/smartprotect/pledge/shared/store"
)

var tables atomic.Int64

// freshTable creates a table of its own for a test: sweeps keep a cursor per table.
func freshTable(t *testing.T) (*store.Store, string) {
	t.Helper()
	root, _ := localstack.Root()
	tmpl, err := localstack.LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("pledge-retention-%d", tables.Add(1))
	if err := localstack.CreateTable(context.Background(), db, tmpl, "Table", name); err != nil {
		t.Fatal(err)
	}
	return store.New(db, name), name
}

var r = people.DefaultRetention

// person signs id up at t and, with confirm, confirms at t.
func person(t *testing.T, s *store.Store, id string, at time.Time, confirm bool, ps ...people.Purpose) {
	t.Helper()
	rec := signUp(id, at, ps...)
	rec.Clock = r.PersonClock(people.Unconfirmed, nil, people.Account{}, at)
	for i := range rec.Events {
		rec.Events[i].IP = "keyed-ip-of-" + id
	}
	if _, err := s.SignUp(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if !confirm {
		return
	}
	p, _ := s.Person(context.Background(), id)
	err := s.ChangeConsent(context.Background(), p, people.ConsentChange{Active: ps, Joined: ps, Status: people.Confirmed, Now: at,
		Clock: r.PersonClock(people.Confirmed, ps, people.Account{}, at)})
	if err != nil {
		t.Fatal(err)
	}
}

func sweep(s *store.Store) *retention.Sweep {
	return &retention.Sweep{Store: s, Retention: r, Epoch: t0.Format("2006-01-02"), Margin: time.Second,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func scanText(t *testing.T, table string) string {
	t.Helper()
	out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	var items []map[string]any
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, it := range items {
		keys := slices.Sorted(maps.Keys(it))
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%v ", k, it[k])
		}
		b.WriteString("\n")
	}
	lines := strings.Split(b.String(), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// withoutRunSummaries splits a table dump into everything but the sweep's
// run summaries, and those.
func withoutRunSummaries(dump string) (rest, runs string) {
	var keep, summaries []string
	for _, line := range strings.Split(dump, "\n") {
		if strings.Contains(line, "sk=RUN#") {
			summaries = append(summaries, line)
		} else {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n"), strings.Join(summaries, "\n")
}

func TestSweepErasesWhatIsDueAndLeavesOnlyAggregates(t *testing.T) {
	ctx := context.Background()
	s, table := freshTable(t)
	person(t, s, "gone", t0, false, people.Newsletter)                 // unconfirmed: due t0+7d
	person(t, s, "stays", t0, true, people.Newsletter)                 // confirmed: due t0+3y
	person(t, s, "back", t0, false, people.Offers)                     // confirms on day 3: clock moves
	person(t, s, "late", t0.Add(3*24*time.Hour), false, people.Offers) // due t0+10d
	p, _ := s.Person(ctx, "back")
	s.ChangeConsent(ctx, p, people.ConsentChange{Active: []people.Purpose{people.Offers}, Joined: []people.Purpose{people.Offers},
		Status: people.Confirmed, Now: t0.Add(3 * 24 * time.Hour), Clock: r.PersonClock(people.Confirmed, []people.Purpose{people.Offers}, people.Account{}, t0.Add(3*24*time.Hour))})

	sum, err := sweep(s).Run(ctx, t0.Add(8*24*time.Hour), false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Erased[people.RuleUnconfirmed] != 1 || sum.Failed != 0 || !sum.Done || sum.Moved != 0 {
		t.Fatalf("summary = %+v", sum)
	}
	if _, err := s.Person(ctx, "gone"); err != people.ErrNotFound {
		t.Fatalf("the due person is still there: %v", err)
	}
	for _, id := range []string{"stays", "back", "late"} {
		if _, err := s.Person(ctx, id); err != nil {
			t.Fatalf("%s was erased: %v", id, err)
		}
	}
	dump := scanText(t, table)
	// The ledger stays for its proof period, with the keyed hash of the IP;
	// the profile (address, name) and the list membership are gone.
	for _, line := range strings.Split(dump, "\n") {
		if strings.Contains(line, "gone@example.com") || strings.Contains(line, "pk=P#gone sk=PROFILE") || strings.Contains(line, "sk=P#gone") {
			t.Errorf("after the sweep the table still holds %q", line)
		}
	}
	if !strings.Contains(dump, "SUPPRESSED") || !strings.Contains(dump, "#erased#unconfirmed") {
		t.Fatalf("no suppression marker or aggregate counter:\n%s", dump)
	}
}

func TestSweepCostFollowsWhatIsDue(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	for i := range 12 {
		person(t, s, fmt.Sprintf("due-%d", i), t0, false, people.Newsletter)
		person(t, s, fmt.Sprintf("kept-%d", i), t0, true, people.Newsletter)
	}
	calls := moto.Calls
	calls.Reset()
	now := t0.Add(8 * 24 * time.Hour)
	sum, err := sweep(s).Run(ctx, now, false)
	if err != nil || sum.Erased[people.RuleUnconfirmed] != 12 {
		t.Fatalf("summary = %+v, %v", sum, err)
	}
	got := calls.Counts()
	days := 9 // the epoch day through today, one query page each
	if got["Scan"] != 0 || got["TransactWriteItems"] != 12 || got["Query"] != days || got["GetItem"] != 1 || got["PutItem"] != 2 {
		t.Fatalf("a sweep of 12 due people among 24 made %v; want %d queries (one per day), 12 transactions, the cursor read and the cursor and summary writes", got, days)
	}
	// The next day's run starts from the cursor: one query for yesterday's leftovers (none) and today.
	calls.Reset()
	if _, err := sweep(s).Run(ctx, now.Add(24*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if q := calls.Counts()["Query"]; q != 2 {
		t.Fatalf("the next day's run made %d queries, want 2", q)
	}
}

func TestARunIsIdempotentResumableAndDryRunsChangeNothing(t *testing.T) {
	ctx := context.Background()
	s, table := freshTable(t)
	for i := range 5 {
		person(t, s, fmt.Sprintf("r-%d", i), t0, false, people.Surveys)
	}
	now := t0.Add(30 * 24 * time.Hour)
	before := scanText(t, table)
	dry, err := sweep(s).Run(ctx, now, true)
	if err != nil || dry.Due[people.RuleUnconfirmed] != 5 || len(dry.Erased) != 0 || !dry.DryRun {
		t.Fatalf("dry run = %+v, %v", dry, err)
	}
	after, summary := withoutRunSummaries(scanText(t, table))
	if after != before {
		t.Fatal("a dry run changed the table")
	}
	if !strings.Contains(summary, "dryRun=true") || !strings.Contains(summary, "unconfirmed:5") {
		t.Fatalf("the dry run's summary = %q; want it kept, marked dry, with what it found", summary)
	}
	// A run that runs out of time stops, checkpoints, and the next resumes.
	short, cancel := context.WithTimeout(ctx, 2*time.Millisecond)
	defer cancel()
	cut, err := sweep(s).Run(short, now, false)
	if err != nil || cut.Done {
		t.Fatalf("a run without time = %+v, %v", cut, err)
	}
	full, err := sweep(s).Run(ctx, now, false)
	if err != nil || !full.Done || cut.Erased[people.RuleUnconfirmed]+full.Erased[people.RuleUnconfirmed] != 5 {
		t.Fatalf("the cut run erased %v and the resumed run %+v, %v; want 5 in all", cut.Erased, full, err)
	}
	again, err := sweep(s).Run(ctx, now, false)
	if err != nil || len(again.Erased) != 0 || again.Failed != 0 {
		t.Fatalf("a repeated run = %+v, %v", again, err)
	}
}

func TestAPersonWhoseClockMovedOrRuleNoLongerAppliesIsKept(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	person(t, s, "moved", t0, false, people.Newsletter)
	stale, _, err := s.DueEntries(ctx, t0.Add(7*24*time.Hour).Format("2006-01-02"), "")
	if err != nil || len(stale) != 1 {
		t.Fatalf("due entries = %+v, %v", stale, err)
	}
	p, _ := s.Person(ctx, "moved") // they come back after the sweep read the index
	s.ChangeConsent(ctx, p, people.ConsentChange{Active: []people.Purpose{people.Newsletter}, Status: people.Confirmed, Now: t0.Add(time.Hour),
		Clock: r.PersonClock(people.Confirmed, []people.Purpose{people.Newsletter}, people.Account{}, t0.Add(time.Hour))})
	if out, err := s.Erase(ctx, stale[0], r, t0.Add(8*24*time.Hour)); err != nil || out != retention.Moved {
		t.Fatalf("Erase of a moved clock = %v, %v", out, err)
	}
	if _, err := s.Person(ctx, "moved"); err != nil {
		t.Fatal("a person who came back was erased")
	}

	// One-click leaves a testimonial consent: the no-purpose clock runs, but
	// the sweep restarts it as the inactivity clock instead of erasing.
	person(t, s, "quote", t0, true, people.Newsletter, people.Testimonials)
	e := people.NewEvents("quote", people.Withdraw, []people.Purpose{people.AllMarketing}, t0, people.Context{Source: "one-click"}, people.RandomID)[0]
	if _, err := s.StopMarketing(ctx, "quote", e, r.PersonClock(people.Unsubscribed, nil, people.Account{}, t0)); err != nil {
		t.Fatal(err)
	}
	sum, err := sweep(s).Run(ctx, t0.Add(91*24*time.Hour), false)
	if err != nil || sum.Rescheduled != 1 {
		t.Fatalf("summary = %+v, %v", sum, err)
	}
	if q, err := s.Person(ctx, "quote"); err != nil || !q.Has(people.Testimonials) {
		t.Fatalf("the person with a testimonial consent = %+v, %v", q, err)
	}
}

func TestTheLedgerGoesWhenItsProofPeriodEnds(t *testing.T) {
	ctx := context.Background()
	s, table := freshTable(t)
	person(t, s, "proof", t0, false, people.Newsletter, people.Offers)
	erasedAt := t0.Add(8 * 24 * time.Hour)
	if _, err := sweep(s).Run(ctx, erasedAt, false); err != nil {
		t.Fatal(err)
	}
	if evs, _ := s.Consents(ctx, "proof"); len(evs) != 2 {
		t.Fatalf("the ledger kept %d entries after erasure, want 2 for the proof period", len(evs))
	}
	// The same address comes back just before the proof period ends: a
	// clean start with a ledger of its own, which the purge leaves alone.
	end := erasedAt.Add(r.LedgerProof)
	person(t, s, "proof", end.Add(-24*time.Hour), true, people.Surveys)
	sum, err := sweep(s).Run(ctx, end.Add(24*time.Hour), false)
	if err != nil || sum.Erased[people.RuleLedgerProof] != 1 {
		t.Fatalf("summary = %+v, %v", sum, err)
	}
	evs, _ := s.Consents(ctx, "proof")
	if len(evs) != 1 || evs[0].Purpose != people.Surveys {
		t.Fatalf("after the proof period the ledger holds %+v; want only the new sign-up's entry", evs)
	}
	if !strings.Contains(scanText(t, table), "SUPPRESSED") {
		t.Fatal("the suppression marker went with the ledger")
	}
}

func TestAWithdrawnConsentsEntriesGoWhenTheirProofPeriodEndsAndOthersStay(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	person(t, s, "wd", t0, true, people.Newsletter, people.Surveys) // granted both at t0
	p, _ := s.Person(ctx, "wd")
	left := t0.Add(30 * 24 * time.Hour)
	events := r.WithProofClocks(people.NewEvents("wd", people.Withdraw, []people.Purpose{people.Surveys}, left, people.Context{Source: "preferences"}, people.RandomID))
	err := s.ChangeConsent(ctx, p, people.ConsentChange{Active: []people.Purpose{people.Newsletter}, Left: []people.Purpose{people.Surveys},
		Status: people.Confirmed, Now: left, Events: events, Clock: r.PersonClock(people.Confirmed, []people.Purpose{people.Newsletter}, people.Account{}, left)})
	if err != nil {
		t.Fatal(err)
	}
	// The person stays active: keep their clock from falling due meanwhile.
	end := left.Add(r.LedgerProof)
	p, _ = s.Person(ctx, "wd")
	s.ChangeConsent(ctx, p, people.ConsentChange{Active: p.Active, Status: people.Confirmed, Now: end, Clock: r.PersonClock(people.Confirmed, p.Active, people.Account{}, end)})

	early := sweep(s)
	early.Epoch = end.Add(-48 * time.Hour).Format("2006-01-02")
	if sum, err := early.Run(ctx, end.Add(-24*time.Hour), false); err != nil || sum.Erased[people.RuleLedgerProof] != 0 {
		t.Fatalf("before the proof period ended: %+v, %v", sum, err)
	}
	if evs, _ := s.Consents(ctx, "wd"); len(evs) != 3 {
		t.Fatalf("the ledger holds %d entries before the proof period ended, want 3", len(evs))
	}
	sum, err := early.Run(ctx, end.Add(24*time.Hour), false)
	if err != nil || sum.Erased[people.RuleLedgerProof] != 1 {
		t.Fatalf("summary = %+v, %v", sum, err)
	}
	evs, _ := s.Consents(ctx, "wd")
	if len(evs) != 1 || evs[0].Purpose != people.Newsletter || evs[0].Action != people.Grant {
		t.Fatalf("after the proof period the ledger holds %+v; want only the newsletter consent still in force", evs)
	}
	if p, err := s.Person(ctx, "wd"); err != nil || !p.Has(people.Newsletter) {
		t.Fatalf("the person must stay: %+v, %v", p, err)
	}
}
