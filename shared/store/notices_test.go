package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

func policy(version string, material bool) notice.Policy {
	return notice.Policy{Version: version, Effective: t0.Add(40 * 24 * time.Hour), Material: material,
		Summary: "We now keep survey answers for 12 months.", URL: "https://example.com/privacy/" + version, PublishedAt: t0}
}

func TestPublishingIsIdempotentAndAPublishedVersionNeverChanges(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	v, created, err := s.Publish(ctx, policy("v2", true), policy("v2", true).RecordsClock(3*365*24*time.Hour))
	if err != nil || !created || v.Progress.State != notice.Pending {
		t.Fatalf("first publish = %+v, %v, %v", v, created, err)
	}
	again := policy("v2", true)
	again.PublishedAt = t0.Add(time.Hour) // a retry by the operator, later
	if v, created, err := s.Publish(ctx, again, again.RecordsClock(3*365*24*time.Hour)); err != nil || created || !v.Policy.PublishedAt.Equal(t0) {
		t.Fatalf("the same version again = %+v, %v, %v; want the first, unchanged", v, created, err)
	}
	changed := policy("v2", true)
	changed.Summary = "Something else."
	if _, _, err := s.Publish(ctx, changed, changed.RecordsClock(0)); !isCode(err, people.Conflict) {
		t.Fatalf("a changed version = %v; want a conflict", err)
	}
	if got, _ := s.PolicyVersion(ctx, "v2"); got.Policy.Summary != policy("v2", true).Summary {
		t.Fatalf("the stored version changed: %+v", got.Policy)
	}
	if _, err := s.PolicyVersion(ctx, "v9"); !isCode(err, people.NotFound) {
		t.Fatalf("an unknown version = %v; want not found", err)
	}
	if v, _, err := s.Publish(ctx, policy("v2.1", false), people.Clock{}); err != nil || v.Progress.State != notice.NotRequired {
		t.Fatalf("a non-material version = %+v, %v", v, err)
	}
	todo, err := s.ToNotify(ctx, t0)
	if err != nil || len(todo) != 1 || todo[0].Policy.Version != "v2" {
		t.Fatalf("to notify = %+v, %v; want only the material v2", todo, err)
	}
}

// TestAPublishThrottledPastTheSDKsRetriesIsBusyAndSafeToRepeat: found by
// schemathesis (POST /admin/policies answered 500 when DynamoDB throttled
// the put): throttling, or a 500 after which the put may be done, is
// people.ErrBusy (503 with Retry-After), and the operator's retry of the
// same publish then succeeds once.
func TestAPublishThrottledPastTheSDKsRetriesIsBusyAndSafeToRepeat(t *testing.T) {
	ctx := context.Background()
	_, name := freshTable(t)
	impatient := dynamodb.NewFromConfig(localstack.AWSConfig(), func(o *dynamodb.Options) {
		o.BaseEndpoint, o.RetryMaxAttempts = aws.String(moto.URL), 1
	})
	s := store.New(impatient, name)
	p := policy("v3", true)

	moto.Calls.InjectFaults(localstack.NewFaults(1, 1)) // every write throttled
	_, _, err := s.Publish(ctx, p, p.RecordsClock(0))
	moto.Calls.InjectFaults(nil)
	if !errors.Is(err, people.ErrBusy) {
		t.Fatalf("a throttled publish = %v; want people.ErrBusy", err)
	}
	if _, err := s.PolicyVersion(ctx, "v3"); !isCode(err, people.NotFound) {
		t.Fatalf("a throttled publish stored the version: %v", err)
	}

	moto.Calls.InjectFaults(localstack.NewFaults(0, 1).LoseAnswers(1)) // done, its answer lost
	_, _, err = s.Publish(ctx, p, p.RecordsClock(0))
	moto.Calls.InjectFaults(nil)
	if !errors.Is(err, people.ErrBusy) {
		t.Fatalf("a publish whose answer was lost = %v; want people.ErrBusy", err)
	}
	if v, created, err := s.Publish(ctx, p, p.RecordsClock(0)); err != nil || created || v.Policy.Version != "v3" {
		t.Fatalf("the retry = %+v, created %v, %v; want the version, published once", v, created, err)
	}
}

func isCode(err error, code people.Code) bool {
	e, ok := people.AsError(err)
	return ok && e.Code == code
}

func TestRecipientsAreConfirmedAddressesIncludingUnsubscribedOnes(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	var want []string
	for i := range 23 {
		id := fmt.Sprintf("rc-%02d", i)
		person(t, s, id, t0, true, people.Newsletter)
		want = append(want, id)
	}
	person(t, s, "rc-unconfirmed", t0, false, people.Newsletter)
	if !stopMarketing(t, s, "rc-03", t0) {
		t.Fatal("the unsubscribe changed nothing")
	}
	if n, err := s.CountRecipients(ctx); err != nil || n != len(want) {
		t.Fatalf("count = %d, %v; want %d", n, err, len(want))
	}
	var got []string
	cursor, pages := "", 0
	for {
		page, more, err := s.Recipients(ctx, cursor, 5)
		if err != nil || len(page) > 5 {
			t.Fatalf("page %d = %d recipients, %v", pages, len(page), err)
		}
		for _, rc := range page {
			if rc.Email != rc.ID+"@example.com" {
				t.Fatalf("recipient %+v has the wrong address", rc)
			}
			got = append(got, rc.ID)
			cursor = rc.Key
		}
		pages++
		if !more {
			break
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("recipients over %d pages = %v; want every confirmed person once (unsubscribed included, unconfirmed not): %v", pages, got, want)
	}
	if _, _, err := s.Recipients(ctx, "9|P#x", 5); err == nil {
		t.Fatal("a forged cursor must be refused")
	}
}

func TestAClaimIsHeldOnceAndOnlyAFailedReleasedOrLapsedOneIsTakenAgain(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	rc := notice.Recipient{ID: "c1"}
	lease := t0.Add(time.Minute)
	claim := func(run string, at time.Time) notice.ClaimResult {
		t.Helper()
		res, err := s.Claim(ctx, "v2", rc, run, lease, at)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if got := claim("run-a", t0); got != notice.Claimed {
		t.Fatalf("first claim = %v", got)
	}
	if got := claim("run-b", t0.Add(30*time.Second)); got != notice.HeldByOther {
		t.Fatalf("a claim while run-a's lease holds = %v; want held by another", got)
	}
	if got := claim("run-b", t0.Add(2*time.Minute)); got != notice.Claimed {
		t.Fatalf("a claim after run-a's lease lapsed = %v; want claimed", got)
	}
	settle := func(o notice.Outcome) {
		t.Helper()
		o.PersonID = rc.ID
		if err := s.Settle(ctx, "v2", "run-b", []notice.Outcome{o}, t0); err != nil {
			t.Fatal(err)
		}
	}
	settle(notice.Outcome{Attempts: 0}) // given back unsent
	if got := claim("run-c", t0); got != notice.Claimed {
		t.Fatalf("a claim of a released record = %v", got)
	}
	settle(notice.Outcome{Failed: true, Attempts: 1, Reason: "rejected"})
	failed, err := s.FailedRecipients(ctx, "v2", 10)
	if err != nil || len(failed) != 1 || failed[0].Attempts != 1 || failed[0].Email != "" {
		t.Fatalf("failed recipients = %+v, %v; want c1 once, attempt 1, no address (c1 has no profile)", failed, err)
	}
	if got := claim("run-d", t0); got != notice.Claimed {
		t.Fatalf("a claim of a failed record = %v", got)
	}
	settle(notice.Outcome{Sent: true, MessageID: "m-1", Attempts: 2})
	if got := claim("run-e", t0.Add(time.Hour)); got != notice.AlreadySent {
		t.Fatalf("a claim of a sent record = %v; want already sent, whatever the time", got)
	}
	if failed, _ := s.FailedRecipients(ctx, "v2", 10); len(failed) != 0 {
		t.Fatalf("a sent record is still to be retried: %+v", failed)
	}
	counts, err := s.NoticeRecords(ctx, "v2")
	if err != nil || counts["sent"] != 1 || len(counts) != 1 {
		t.Fatalf("records = %v, %v", counts, err)
	}
}

func TestAFailedRecipientIsRetriedWithTheAddressFromTheProfileUntilGivenUp(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	person(t, s, "f1", t0, true, people.Newsletter)
	rc := notice.Recipient{ID: "f1"}
	if res, err := s.Claim(ctx, "v2", rc, "run-a", t0.Add(time.Minute), t0); err != nil || res != notice.Claimed {
		t.Fatal(res, err)
	}
	s.Settle(ctx, "v2", "run-a", []notice.Outcome{{PersonID: "f1", Failed: true, Attempts: 1}}, t0)
	failed, err := s.FailedRecipients(ctx, "v2", 10)
	if err != nil || len(failed) != 1 || failed[0].Email != "f1@example.com" || !failed[0].LastAttempt.Equal(t0) {
		t.Fatalf("failed = %+v, %v", failed, err)
	}
	// A retry that is cut off (its claim lapses) is still found.
	if res, err := s.Claim(ctx, "v2", failed[0], "run-b", t0.Add(2*time.Minute), t0.Add(time.Minute)); err != nil || res != notice.Claimed {
		t.Fatal(res, err)
	}
	if again, _ := s.FailedRecipients(ctx, "v2", 10); len(again) != 1 || again[0].Attempts != 1 {
		t.Fatalf("a retry in flight left the retry list: %+v", again)
	}
	s.Settle(ctx, "v2", "run-b", []notice.Outcome{{PersonID: "f1", Failed: true, Attempts: 3, GiveUp: true}}, t0)
	if again, _ := s.FailedRecipients(ctx, "v2", 10); len(again) != 0 {
		t.Fatalf("a recipient given up on is still retried: %+v", again)
	}
}

func TestOnlyOneRunHoldsTheSenderLease(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	acquire := func(owner string, now time.Time) bool {
		t.Helper()
		ok, err := s.AcquireSender(ctx, owner, now, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !acquire("a", t0) || acquire("b", t0.Add(10*time.Second)) || !acquire("a", t0.Add(20*time.Second)) {
		t.Fatal("a must take and renew the lease, and b must not take it while a holds it")
	}
	if acquire("b", t0.Add(70*time.Second)) { // a renewed until t0+80s
		t.Fatal("b took a lease that a renewed")
	}
	if !acquire("b", t0.Add(81*time.Second)) {
		t.Fatal("b must take a lease that lapsed")
	}
	if err := s.ReleaseSender(ctx, "a"); err != nil { // a was cut off and comes back: nothing to give
		t.Fatal(err)
	}
	if acquire("c", t0.Add(90*time.Second)) {
		t.Fatal("a's release freed b's lease")
	}
	if err := s.ReleaseSender(ctx, "b"); err != nil || !acquire("c", t0.Add(91*time.Second)) {
		t.Fatalf("after b's release c must take the lease: %v", err)
	}
}

func TestProgressMovesOnlyForward(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	s.Publish(ctx, policy("v3", true), people.Clock{})
	if err := s.Checkpoint(ctx, "v3", "0|P#a", 1, 0, 0, 14); !errors.Is(err, people.ErrConflict) {
		t.Fatalf("a checkpoint of a version not started = %v; want a conflict", err)
	}
	if err := s.StartNotice(ctx, "v3", 10, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.StartNotice(ctx, "v3", 99, t0); !errors.Is(err, people.ErrConflict) {
		t.Fatalf("starting twice = %v; want a conflict", err)
	}
	must(t, s.Checkpoint(ctx, "v3", "0|P#a", 4, 1, 0, 14))
	must(t, s.Checkpoint(ctx, "v3", "3|P#b", 3, 1, 0, 14))
	must(t, s.Walked(ctx, "v3"))
	must(t, s.Checkpoint(ctx, "v3", "3|P#b", 1, -1, 0, 14)) // a retry that succeeded
	v, err := s.PolicyVersion(ctx, "v3")
	p := v.Progress
	if err != nil || p.State != notice.Sending || p.Total != 10 || p.Sent != 8 || p.Failed != 1 || p.Cursor != "3|P#b" || !p.Walked || p.Rate != 14 {
		t.Fatalf("progress = %+v, %v", p, err)
	}
	must(t, s.Finish(ctx, "v3", t0.Add(time.Hour)))
	if err := s.Finish(ctx, "v3", t0); !errors.Is(err, people.ErrConflict) {
		t.Fatalf("finishing twice = %v", err)
	}

	// Done, but not yet in effect: catch-up passes still count the people
	// who confirmed later.
	if todo, err := s.ToNotify(ctx, t0.Add(2*time.Hour)); err != nil || len(todo) != 1 || todo[0].Progress.State != notice.Done {
		t.Fatalf("a done version before it takes effect = %+v, %v; want it listed for catch-up", todo, err)
	}
	must(t, s.CatchUp(ctx, "v3", "5|P#c", 2, 2, 0, 0))
	if v, _ := s.PolicyVersion(ctx, "v3"); v.Progress.CatchCursor != "5|P#c" || v.Progress.Total != 12 || v.Progress.Sent != 10 {
		t.Fatalf("after a catch-up batch: %+v", v.Progress)
	}
	must(t, s.CaughtUp(ctx, "v3", t0.Add(3*time.Hour)))
	v, _ = s.PolicyVersion(ctx, "v3")
	if p := v.Progress; p.CatchCursor != "" || !p.CaughtUpAt.Equal(t0.Add(3*time.Hour)) || p.State != notice.Done || p.Remaining() != 1 {
		t.Fatalf("after the pass: %+v", p)
	}
	if todo, err := s.ToNotify(ctx, v.Policy.Effective); err != nil || len(todo) != 0 {
		t.Fatalf("a version in effect is still to notify: %+v, %v", todo, err)
	}
}

func TestUntoldIsWhomNoRecordSaysWasToldOrIsBeingTold(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	lease := t0.Add(time.Minute)
	var all []notice.Recipient
	for _, id := range []string{"none", "sent", "failed", "released", "live", "lapsed"} {
		all = append(all, notice.Recipient{ID: id, Email: id + "@example.com"})
	}
	for _, rc := range all[1:] {
		until := lease
		if rc.ID == "lapsed" {
			until = t0.Add(10 * time.Second) // its run was cut off; the lease ran out
		}
		if res, err := s.Claim(ctx, "v2", rc, "run-a", until, t0); err != nil || res != notice.Claimed {
			t.Fatalf("claim %s = %v, %v", rc.ID, res, err)
		}
	}
	must(t, s.Settle(ctx, "v2", "run-a", []notice.Outcome{
		{PersonID: "sent", Sent: true, MessageID: "m", Attempts: 1},
		{PersonID: "failed", Failed: true, Reason: "rejected", Attempts: 1},
		{PersonID: "released"},
	}, t0))
	many := slices.Clone(all)
	for i := range 150 { // more than one BatchGetItem takes
		many = append(many, notice.Recipient{ID: fmt.Sprintf("new-%03d", i)})
	}
	got, err := s.Untold(ctx, "v2", many, t0.Add(30*time.Second))
	var ids []string
	for _, rc := range got {
		ids = append(ids, rc.ID)
	}
	if err != nil || len(ids) != 153 || ids[0] != "none" || ids[1] != "released" || ids[2] != "lapsed" {
		t.Fatalf("untold = %v (%d), %v; want none, released, lapsed and the 150 new", ids[:min(len(ids), 4)], len(ids), err)
	}
	// Before its lease ran out, the cut-off run's claim was live: not untold.
	got, _ = s.Untold(ctx, "v2", all, t0.Add(5*time.Second))
	if len(got) != 2 || got[0].ID != "none" || got[1].ID != "released" {
		t.Fatalf("untold while the lease holds = %+v", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var _ notice.Store = (*store.Store)(nil)

func TestTheSweepDeletesANoticesRecordsWhenTheirProofPeriodEndsAndKeepsTheVersion(t *testing.T) {
	ctx := context.Background()
	s, table := freshTable(t)
	pol := policy("v4", true)
	if _, _, err := s.Publish(ctx, pol, pol.RecordsClock(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	must(t, s.StartNotice(ctx, "v4", 30, t0))
	var outcomes []notice.Outcome
	for i := range 30 {
		id := fmt.Sprintf("nr-%02d", i)
		if res, err := s.Claim(ctx, "v4", notice.Recipient{ID: id}, "run", t0.Add(time.Minute), t0); err != nil || res != notice.Claimed {
			t.Fatal(res, err)
		}
		outcomes = append(outcomes, notice.Outcome{PersonID: id, Sent: true, Attempts: 1})
	}
	must(t, s.Settle(ctx, "v4", "run", outcomes, t0))
	must(t, s.Checkpoint(ctx, "v4", "7|P#x", 30, 0, 0, 14))
	must(t, s.Finish(ctx, "v4", t0))

	before, err := sweep(s).Run(ctx, pol.Effective.Add(-time.Hour), false) // the day before: not yet
	if counts, _ := s.NoticeRecords(ctx, "v4"); err != nil || counts["sent"] != 30 || before.Erased[people.RuleNoticeRecords] != 0 {
		t.Fatalf("before the period ended: %+v, %v, records %v", before, err, counts)
	}
	sum, err := sweep(s).Run(ctx, pol.Effective.Add(25*time.Hour), false)
	if err != nil || sum.Erased[people.RuleNoticeRecords] != 1 {
		t.Fatalf("sweep = %+v, %v", sum, err)
	}
	if counts, _ := s.NoticeRecords(ctx, "v4"); len(counts) != 0 {
		t.Fatalf("records left: %v", counts)
	}
	v, err := s.PolicyVersion(ctx, "v4")
	if err != nil || v.Progress.Sent != 30 || v.Progress.State != notice.Done {
		t.Fatalf("the version and its counts must stay: %+v, %v", v, err)
	}
	if dump := scanText(t, table); strings.Contains(dump, "N#v4") || strings.Contains(dump, "duePK") {
		t.Fatalf("the table still holds notice records or the due entry:\n%s", dump)
	}
	if again, _ := sweep(s).Run(ctx, pol.Effective.Add(26*time.Hour), false); len(again.Erased) != 0 {
		t.Fatalf("a second sweep erased again: %+v", again)
	}
}

func TestASendEventMarksTheRecordSentWhoeverClaimedIt(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	if res, err := s.Claim(ctx, "v5", notice.Recipient{ID: "e1"}, "killed-run", t0.Add(time.Minute), t0); err != nil || res != notice.Claimed {
		t.Fatal(res, err)
	}
	sent := notice.Sent{Version: "v5", PersonID: "e1", MessageID: "ses-1"}
	if changed, err := s.MarkSent(ctx, sent, t0); err != nil || !changed {
		t.Fatalf("MarkSent = %v, %v", changed, err)
	}
	// The next run, after the killed one's lease, finds it sent: no second mail.
	if res, err := s.Claim(ctx, "v5", notice.Recipient{ID: "e1"}, "next-run", t0.Add(3*time.Minute), t0.Add(2*time.Minute)); err != nil || res != notice.AlreadySent {
		t.Fatalf("a claim after the send event = %v, %v; want already sent", res, err)
	}
	if changed, err := s.MarkSent(ctx, sent, t0); err != nil || changed {
		t.Fatalf("the same event again (EventBridge delivers at least once) = %v, %v; want no change", changed, err)
	}
	if changed, err := s.MarkSent(ctx, notice.Sent{Version: "v5", PersonID: "nobody", MessageID: "x"}, t0); err != nil || changed {
		t.Fatalf("an event without a record = %v, %v; want no change", changed, err)
	}
	if counts, _ := s.NoticeRecords(ctx, "v5"); counts["sent"] != 1 || len(counts) != 1 {
		t.Fatalf("records = %v; the event must not create one", counts)
	}
	// A retry in flight that SES took leaves the retry list too.
	s.Settle(ctx, "v5", "run", []notice.Outcome{{PersonID: "e2", Failed: true, Attempts: 1}}, t0)
	if changed, _ := s.MarkSent(ctx, notice.Sent{Version: "v5", PersonID: "e2", MessageID: "ses-2"}, t0); !changed {
		t.Fatal("a failed record's later send event must mark it sent")
	}
	if failed, _ := s.FailedRecipients(ctx, "v5", 10); len(failed) != 0 {
		t.Fatalf("still to retry: %+v", failed)
	}
}

func TestSettlingNeverTurnsASentRecordBack(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	ids := []string{"lost-1", "lost-2", "lost-3", "known"}
	for _, id := range ids {
		if res, err := s.Claim(ctx, "v6", notice.Recipient{ID: id}, "run", t0.Add(time.Minute), t0); err != nil || res != notice.Claimed {
			t.Fatal(res, err)
		}
	}
	// SES took the call, its answer was lost, and the send events landed
	// before the run gave its claims back (or wrote a failure, or the sent
	// outcome again): each record stays sent with the event's message id.
	for _, id := range ids[:3] {
		if changed, err := s.MarkSent(ctx, notice.Sent{Version: "v6", PersonID: id, MessageID: "event-" + id}, t0); err != nil || !changed {
			t.Fatalf("MarkSent(%s) = %v, %v", id, changed, err)
		}
	}
	outcomes := []notice.Outcome{
		{PersonID: "lost-1"},                                    // released
		{PersonID: "lost-2", Failed: true, Attempts: 1},         // failed, to retry
		{PersonID: "lost-3", Sent: true, MessageID: "answer-3"}, // sent again
		{PersonID: "known", Failed: true, Attempts: 1, Reason: "MESSAGE_REJECTED"},
	}
	if err := s.Settle(ctx, "v6", "run", outcomes, t0.Add(time.Second)); err != nil {
		t.Fatalf("Settle = %v; a record already sent is skipped, not an error", err)
	}
	if counts, _ := s.NoticeRecords(ctx, "v6"); counts["sent"] != 3 || counts["failed"] != 1 || len(counts) != 2 {
		t.Fatalf("records = %v; want the 3 sent ones kept and the other failed", counts)
	}
	for _, id := range ids[:3] {
		if res, err := s.Claim(ctx, "v6", notice.Recipient{ID: id}, "next-run", t0.Add(3*time.Minute), t0.Add(2*time.Minute)); err != nil || res != notice.AlreadySent {
			t.Fatalf("the next run's claim of %s = %v, %v; want already sent", id, res, err)
		}
	}
	if failed, _ := s.FailedRecipients(ctx, "v6", 10); len(failed) != 1 || failed[0].ID != "known" {
		t.Fatalf("to retry: %+v; want only the one SES refused", failed)
	}
}

func TestTheSenderLeaseWaitsOutTheGraceAfterAKilledRun(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	grace := 2 * time.Minute
	if ok, _ := s.AcquireSender(ctx, "killed", t0.Add(-grace), t0.Add(time.Minute)); !ok {
		t.Fatal("the first run must take the lease")
	}
	later := t0.Add(2 * time.Minute) // the killed run's lease lapsed a minute ago
	if ok, _ := s.AcquireSender(ctx, "next", later.Add(-grace), later.Add(time.Minute)); ok {
		t.Fatal("a run took over within the grace: the killed run's send events may not have landed")
	}
	later = t0.Add(3*time.Minute + time.Second)
	if ok, _ := s.AcquireSender(ctx, "next", later.Add(-grace), later.Add(time.Minute)); !ok {
		t.Fatal("a run must take over once the grace has passed")
	}
}

func TestAnErasedPersonIsToldNothingAndTheirFailedNoticeIsGivenUp(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	person(t, s, "stays", t0, true, people.Newsletter)
	person(t, s, "leaves", t0, true, people.Newsletter)
	if !stopMarketing(t, s, "leaves", t0) {
		t.Fatal("the unsubscribe changed nothing")
	}
	// Their notice failed before the erasure: the retry pass will look for them.
	if res, err := s.Claim(ctx, "v2", notice.Recipient{ID: "leaves"}, "run-a", t0.Add(time.Minute), t0); err != nil || res != notice.Claimed {
		t.Fatalf("claim = %v, %v", res, err)
	}
	if err := s.Settle(ctx, "v2", "run-a", []notice.Outcome{{PersonID: "leaves", Failed: true, Attempts: 1}}, t0); err != nil {
		t.Fatal(err)
	}
	ids := func() []string {
		t.Helper()
		page, _, err := s.Recipients(ctx, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, rc := range page {
			ids = append(ids, rc.ID)
		}
		slices.Sort(ids)
		return ids
	}
	if got := ids(); !slices.Equal(got, []string{"leaves", "stays"}) {
		t.Fatalf("recipients before the erasure = %v", got)
	}
	if sum, err := sweep(s).Run(ctx, t0.Add(91*24*time.Hour), false); err != nil || sum.Erased[people.RuleNoPurpose] != 1 {
		t.Fatalf("sweep = %+v, %v; want the unsubscribed person erased", sum, err)
	}
	if got := ids(); !slices.Equal(got, []string{"stays"}) {
		t.Fatalf("recipients after the erasure = %v; want only the person we still hold", got)
	}
	if n, err := s.CountRecipients(ctx); err != nil || n != 1 {
		t.Fatalf("count after the erasure = %d, %v", n, err)
	}
	failed, err := s.FailedRecipients(ctx, "v2", 10)
	if err != nil || len(failed) != 1 || failed[0].ID != "leaves" || failed[0].Email != "" {
		t.Fatalf("failed recipients = %+v, %v; want the erased person with no address, for the retry pass to give up", failed, err)
	}
}

// A recipient's Reach and Name come with them from the index; a record settled
// undeliverable is counted apart, never overwrites sent, is untold only
// once mail reaches the person (Counted), and may be claimed again.
func TestUndeliverableRecipientsCarryTheirReachAndTheirRecordsAreCountedApart(t *testing.T) {
	ctx := context.Background()
	s, _ := freshTable(t)
	bounced := people.Deliverability{State: people.Undeliverable, Since: t0.Add(-time.Hour), LastBounce: t0.Add(-time.Hour)}
	var in []store.Imported
	for _, id := range []string{"ud-bounced", "ud-fine", "ud-sent"} {
		p := people.Person{ID: id, Email: id + "@example.com", Status: people.Confirmed, Active: []people.Purpose{people.Newsletter},
			CreatedAt: t0, UpdatedAt: t0, ConfirmedAt: t0}
		if id != "ud-fine" {
			p.Deliverability = bounced
		} else {
			p.Name = "Jo Fine"
		}
		in = append(in, store.Imported{Person: p})
	}
	must(t, s.Import(ctx, in))
	rs, _, err := s.Recipients(ctx, "", 10)
	if err != nil || len(rs) != 3 {
		t.Fatalf("recipients = %+v, %v", rs, err)
	}
	byID := map[string]notice.Recipient{}
	for _, rc := range rs {
		byID[rc.ID] = rc
		if want := rc.ID != "ud-fine"; rc.Reach.Reachable(t0) == want {
			t.Fatalf("%s came with reach %+v", rc.ID, rc.Reach)
		}
		if want := map[bool]string{true: "Jo Fine"}[rc.ID == "ud-fine"]; rc.Name != want {
			t.Fatalf("%s came with name %q; want %q, for the notice's greeting", rc.ID, rc.Name, want)
		}
	}
	s.Publish(ctx, policy("v9", true), people.Clock{})
	must(t, s.StartNotice(ctx, "v9", 3, t0))
	for _, rc := range rs {
		if res, err := s.Claim(ctx, "v9", rc, "run-a", t0.Add(time.Minute), t0); err != nil || res != notice.Claimed {
			t.Fatalf("claim %s = %v, %v", rc.ID, res, err)
		}
	}
	// ud-sent's send event lands (a run that bounced it too late to know).
	if _, err := s.MarkSent(ctx, notice.Sent{Version: "v9", PersonID: "ud-sent", MessageID: "m"}, t0); err != nil {
		t.Fatal(err)
	}
	must(t, s.Settle(ctx, "v9", "run-a", []notice.Outcome{
		{PersonID: "ud-bounced", Undeliverable: true, Counted: true}, {PersonID: "ud-sent", Undeliverable: true, Counted: true},
		{PersonID: "ud-fine", Sent: true, MessageID: "m2", Attempts: 1},
	}, t0))
	must(t, s.Checkpoint(ctx, "v9", "9|P#z", 1, 0, 2, 14))
	if counts, _ := s.NoticeRecords(ctx, "v9"); counts["undeliverable"] != 1 || counts["sent"] != 2 {
		t.Fatalf("records = %v; want ud-bounced undeliverable, sent kept sent", counts)
	}
	v, _ := s.PolicyVersion(ctx, "v9")
	if p := v.Progress; p.Undeliverable != 2 || p.Sent != 1 || p.Remaining() != 0 {
		t.Fatalf("progress = %+v", p)
	}
	if untold, err := s.Untold(ctx, "v9", rs, t0.Add(time.Hour)); err != nil || len(untold) != 0 {
		t.Fatalf("untold while the bounce stands = %+v, %v", untold, err)
	}
	back := byID["ud-bounced"]
	back.Reach = people.Deliverability{ClearedAt: t0.Add(time.Hour)} // confirmed again
	untold, err := s.Untold(ctx, "v9", []notice.Recipient{back, byID["ud-sent"]}, t0.Add(2*time.Hour))
	if err != nil || len(untold) != 1 || untold[0].ID != "ud-bounced" || !untold[0].Counted {
		t.Fatalf("untold once mail reaches them = %+v, %v", untold, err)
	}
	if res, err := s.Claim(ctx, "v9", untold[0], "run-b", t0.Add(3*time.Hour), t0.Add(2*time.Hour)); err != nil || res != notice.Claimed {
		t.Fatalf("claiming an undeliverable record = %v, %v", res, err)
	}
	must(t, s.CatchUp(ctx, "v9", "9|P#z", 0, 1, 0, -1))
	if v, _ := s.PolicyVersion(ctx, "v9"); v.Progress.Undeliverable != 1 || v.Progress.Sent != 2 || v.Progress.Total != 3 {
		t.Fatalf("progress after the catch-up = %+v", v.Progress)
	}
}
