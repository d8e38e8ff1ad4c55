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
	newWorld(s, t0.Add(3*24*time.Hour)).confirm(t, "back", people.Offers)

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
	if got["Scan"] != 0 || got["TransactWriteItems"] != 12 || got["Query"] != days || got["GetItem"] != 13 || got["PutItem"] != 2 {
		t.Fatalf("a sweep of 12 due people among 24 made %v; want %d queries (one per day), a consistent read and a transaction per due person, the cursor read and the cursor and summary writes", got, days)
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

// staleIndex answers the due index as it was read before the test changed
// the people in it, as a sweep that read a page before they came back sees it.
type staleIndex struct {
	*store.Store
	day     string
	entries []retention.Entry
}

func (x staleIndex) DueEntries(ctx context.Context, day, cursor string) ([]retention.Entry, string, error) {
	if day == x.day {
		return x.entries, "", nil
	}
	return x.Store.DueEntries(ctx, day, cursor)
}

func TestAPersonWhoseClockMovedOrRuleNoLongerAppliesIsKept(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	person(t, s, "moved", t0, false, people.Newsletter)
	day := t0.Add(7 * 24 * time.Hour).Format("2006-01-02")
	stale, _, err := s.DueEntries(ctx, day, "")
	if err != nil || len(stale) != 1 || stale[0].Kind != retention.Person || stale[0].PersonID != "moved" {
		t.Fatalf("due entries = %+v, %v", stale, err)
	}
	// They come back after the sweep read the index.
	newWorld(s, t0.Add(time.Hour)).confirm(t, "moved", people.Newsletter)
	sw := sweep(s)
	sw.Store = staleIndex{s, day, stale}
	if sum, err := sw.Run(ctx, t0.Add(8*24*time.Hour), false); err != nil || sum.Moved != 1 || len(sum.Erased) != 0 {
		t.Fatalf("a sweep over a moved clock = %+v, %v", sum, err)
	}
	if _, err := s.Person(ctx, "moved"); err != nil {
		t.Fatal("a person who came back was erased")
	}

	// A clock filed by an older version of pledge that did not read the
	// person (a one-click unsubscribe that left a testimonial consent, and
	// filed the 90-day no-purpose clock): the domain says the inactivity
	// rule applies, and the sweep refiles the clock instead of erasing.
	quote := people.Person{ID: "quote", Email: "quote@example.com", Status: people.Unsubscribed, Active: []people.Purpose{people.Testimonials},
		CreatedAt: t0, UpdatedAt: t0}
	if err := s.Import(ctx, []store.Imported{{Person: quote, Clock: people.Clock{Rule: people.RuleNoPurpose, Due: t0.Add(r.NoPurpose)}}}); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(91 * 24 * time.Hour)
	sum, err := sweep(s).Run(ctx, now, false)
	if err != nil || sum.Rescheduled != 1 || len(sum.Erased) != 0 {
		t.Fatalf("summary = %+v, %v", sum, err)
	}
	if q, err := s.Person(ctx, "quote"); err != nil || !q.Has(people.Testimonials) || q.Clock != (people.Clock{Rule: people.RuleInactive, Due: now.Add(r.Inactive)}) {
		t.Fatalf("the person with a testimonial consent = %+v, %v; want them kept on the inactivity clock", q, err)
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
	if len(evs) != 2 || evs[0].Purpose != people.Surveys || evs[1].Purpose != people.Surveys || evs[0].At.Before(end.Add(-24*time.Hour)) {
		t.Fatalf("after the proof period the ledger holds %+v; want only the new sign-up's grant and confirm", evs)
	}
	if !strings.Contains(scanText(t, table), "SUPPRESSED") {
		t.Fatal("the suppression marker went with the ledger")
	}
}

func TestAWithdrawnConsentsEntriesGoWhenTheirProofPeriodEndsAndOthersStay(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	person(t, s, "wd", t0, true, people.Newsletter, people.Surveys) // granted both at t0
	left := t0.Add(30 * 24 * time.Hour)
	w := newWorld(s, left)
	if changed, err := w.subscriptions().SetPreferences(ctx, "wd", []people.Purpose{people.Newsletter}, people.Context{Source: "preferences"}); err != nil || !changed.Changed {
		t.Fatalf("withdrawing surveys = %v, %v", changed, err)
	}
	// The person stays active (they confirm again): keep their clock from
	// falling due meanwhile.
	end := left.Add(r.LedgerProof)
	w.now = end.Add(-72 * time.Hour)
	w.signUp(t, "wd", people.Offers)
	w.confirm(t, "wd", people.Offers)

	early := sweep(s)
	early.Epoch = end.Add(-48 * time.Hour).Format("2006-01-02")
	if sum, err := early.Run(ctx, end.Add(-24*time.Hour), false); err != nil || sum.Erased[people.RuleLedgerProof] != 0 {
		t.Fatalf("before the proof period ended: %+v, %v", sum, err)
	}
	if evs, _ := s.Consents(ctx, "wd"); len(evs) != 7 {
		t.Fatalf("the ledger holds %d entries before the proof period ended, want 7", len(evs))
	}
	sum, err := early.Run(ctx, end.Add(24*time.Hour), false)
	if err != nil || sum.Erased[people.RuleLedgerProof] != 1 {
		t.Fatalf("summary = %+v, %v", sum, err)
	}
	evs, _ := s.Consents(ctx, "wd")
	var kept []string
	for _, e := range evs {
		kept = append(kept, string(e.Action)+" "+string(e.Purpose))
	}
	if want := []string{"grant newsletter", "confirm newsletter", "grant offers", "confirm offers"}; !slices.Equal(kept, want) {
		t.Fatalf("after the proof period the ledger holds %v; want only the entries of the consents still in force, %v", kept, want)
	}
	if p, err := s.Person(ctx, "wd"); err != nil || !p.Has(people.Newsletter) {
		t.Fatalf("the person must stay: %+v, %v", p, err)
	}
}
