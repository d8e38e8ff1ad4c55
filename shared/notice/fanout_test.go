package notice_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/mail/mailtest"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
)

type record struct {
	state    string // sending, sent, failed, released, undeliverable
	counted  bool   // counted in the version's undeliverable total
	run      string
	until    time.Time
	at       time.Time
	attempts int
	retry    bool
}

// memStore keeps what store.Store keeps, with the same conditions; the
// real one is tested against DynamoDB in package store.
type memStore struct {
	mu         sync.Mutex
	people     []notice.Recipient
	version    notice.Version
	records    map[string]*record
	owner      string
	ownerUntil time.Time
	claims     int
	readDelay  time.Duration // real time each page read takes
	reading    atomic.Int32  // page reads in progress
	erased     map[string]bool
}

func newMemStore(n int, pol notice.Policy) *memStore {
	s := &memStore{records: map[string]*record{}, version: notice.Version{Policy: pol, Progress: notice.Progress{State: notice.Pending}}}
	for i := range n {
		id := fmt.Sprintf("p%04d", i)
		s.people = append(s.people, notice.Recipient{ID: id, Email: id + "@example.com", Key: fmt.Sprintf("%06d", i)})
	}
	return s
}

func (s *memStore) ToNotify(_ context.Context, now time.Time) ([]notice.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.version.Progress.State; st == notice.Pending || st == notice.Sending || st == notice.Done && now.Before(s.version.Policy.Effective) {
		return []notice.Version{s.version}, nil
	}
	return nil, nil
}

func (s *memStore) Untold(_ context.Context, _ string, rs []notice.Recipient, now time.Time) ([]notice.Recipient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []notice.Recipient
	for _, rc := range rs {
		r, ok := s.records[rc.ID]
		switch {
		case !ok, r.state == "released", r.state == "sending" && r.until.Before(now):
		case r.state == "undeliverable" && rc.Reach.Reachable(now):
		default:
			continue
		}
		if ok {
			rc.Counted = r.counted
		}
		out = append(out, rc)
	}
	return out, nil
}

func (s *memStore) CatchUp(_ context.Context, _, cursor string, added, sent, failed, undeliverable int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &s.version.Progress
	p.CatchCursor, p.Total, p.Sent, p.Failed, p.Undeliverable = cursor, p.Total+added, p.Sent+sent, p.Failed+failed, p.Undeliverable+undeliverable
	return nil
}

func (s *memStore) CaughtUp(_ context.Context, _ string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version.Progress.CaughtUpAt, s.version.Progress.CatchCursor = at, ""
	return nil
}

// join adds a recipient at its place in key order, as a confirmation puts a
// person into the index wherever their id falls.
func (s *memStore) join(id, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.Search(len(s.people), func(i int) bool { return s.people[i].Key > key })
	s.people = slices.Insert(s.people, i, notice.Recipient{ID: id, Email: id + "@example.com", Key: key})
}

func (s *memStore) AcquireSender(_ context.Context, owner string, now, until time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner != "" && s.owner != owner && !s.ownerUntil.Before(now) {
		return false, nil
	}
	s.owner, s.ownerUntil = owner, until
	return true, nil
}

func (s *memStore) ReleaseSender(_ context.Context, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner == owner {
		s.owner = ""
	}
	return nil
}

func (s *memStore) CountRecipients(context.Context) (int, error) { return len(s.people), nil }

func (s *memStore) StartNotice(_ context.Context, _ string, total int, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &s.version.Progress
	p.State, p.Total, p.StartedAt = notice.Sending, total, now
	return nil
}

func (s *memStore) Recipients(_ context.Context, cursor string, limit int) ([]notice.Recipient, bool, error) {
	s.reading.Add(1)
	defer s.reading.Add(-1)
	time.Sleep(s.readDelay)
	var out []notice.Recipient
	for _, p := range s.people {
		if p.Key > cursor && len(out) < limit && !s.erased[p.ID] {
			out = append(out, p)
		}
	}
	return out, len(out) == limit && out[len(out)-1].Key != s.people[len(s.people)-1].Key, nil
}

func (s *memStore) Claim(_ context.Context, _ string, rc notice.Recipient, run string, leaseUntil, now time.Time) (notice.ClaimResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims++
	r, ok := s.records[rc.ID]
	switch {
	case !ok, r.state == "failed", r.state == "released", r.state == "undeliverable", r.state == "sending" && r.until.Before(now):
		s.records[rc.ID] = &record{state: "sending", counted: rc.Counted, run: run, until: leaseUntil, at: now, attempts: rc.Attempts, retry: rc.Attempts > 0}
		return notice.Claimed, nil
	case r.state == "sent":
		return notice.AlreadySent, nil
	}
	return notice.HeldByOther, nil
}

func (s *memStore) Settle(_ context.Context, _, run string, outcomes []notice.Outcome, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range outcomes {
		if old, ok := s.records[o.PersonID]; ok && !notice.MaySettle(notice.RecordState(old.state), o.State()) {
			continue // the store's condition: sent is final
		}
		r := &record{state: string(o.State()), run: run, at: now, attempts: o.Attempts, retry: o.Attempts > 0}
		switch r.state {
		case "sent":
			r.retry = false
		case "failed":
			r.retry = !o.GiveUp
		case "undeliverable":
			r.retry, r.counted = false, true
		}
		s.records[o.PersonID] = r
	}
	return nil
}

func (s *memStore) Checkpoint(_ context.Context, _, cursor string, sent, failed, undeliverable int, rate float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &s.version.Progress
	p.Cursor, p.Sent, p.Failed, p.Undeliverable, p.Rate = cursor, p.Sent+sent, p.Failed+failed, p.Undeliverable+undeliverable, rate
	return nil
}

func (s *memStore) Walked(context.Context, string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version.Progress.Walked = true
	return nil
}

func (s *memStore) FailedRecipients(_ context.Context, _ string, limit int) ([]notice.Recipient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []notice.Recipient
	for _, p := range s.people {
		if r, ok := s.records[p.ID]; ok && r.retry && len(out) < limit {
			email := p.Email
			if s.erased[p.ID] {
				email = "" // the record outlives the person, as in the table
			}
			out = append(out, notice.Recipient{ID: p.ID, Email: email, Attempts: r.attempts, LastAttempt: r.at, Reach: p.Reach})
		}
	}
	return out, nil
}

func (s *memStore) Finish(_ context.Context, _ string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version.Progress.State, s.version.Progress.FinishedAt = notice.Done, now
	return nil
}

// send is one call the mailer took, at virtual time.
type send struct {
	at time.Time
	to []string
}

// mailer accepts everything unless script says otherwise for a call.
type mailer struct {
	clock  *mailtest.Clock
	rate   float64
	calls  []send
	script func(call int, to []notice.Recipient) ([]notice.Delivery, error)
	got    map[string]int // accepted notices per address
}

func (m *mailer) MaxSendRate(context.Context) (float64, error) { return m.rate, nil }
func (m *mailer) MaxBatch() int                                { return 50 }
func (m *mailer) SendNotice(_ context.Context, _ notice.Policy, to []notice.Recipient) ([]notice.Delivery, error) {
	call := len(m.calls)
	s := send{at: m.clock.Now()}
	for _, r := range to {
		s.to = append(s.to, r.Email)
	}
	m.calls = append(m.calls, s)
	ds := make([]notice.Delivery, len(to))
	if m.script != nil {
		var err error
		if ds, err = m.script(call, to); err != nil {
			return nil, err
		}
	}
	for i, d := range ds {
		if d.Result == notice.Accepted {
			m.got[to[i].Email]++
		}
	}
	return ds, nil
}

// rejecting is a mailer script that counts each recipient's tries and
// rejects the try reject names.
func rejecting(tries map[string]int, reject func(id string, try int) bool) func(int, []notice.Recipient) ([]notice.Delivery, error) {
	return func(_ int, to []notice.Recipient) ([]notice.Delivery, error) {
		ds := make([]notice.Delivery, len(to))
		for i, r := range to {
			tries[r.ID]++
			if reject(r.ID, tries[r.ID]) {
				ds[i] = notice.Delivery{Result: notice.Rejected, Reason: "MESSAGE_REJECTED"}
			}
		}
		return ds, nil
	}
}

// maxInWindow is the most recipients sent in any one-second window.
func (m *mailer) maxInWindow() int {
	calls := make([]mailtest.Call, len(m.calls))
	for i, c := range m.calls {
		calls[i] = mailtest.Call{At: c.at, Recipients: len(c.to)}
	}
	return mailtest.MostInAnySecond(calls)
}

var pol = notice.Policy{Version: "v2", Material: true, Effective: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)}

func setup(n int, rate float64) (*notice.Fanout, *memStore, *mailer, *mailtest.Clock) {
	c := mailtest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	st := newMemStore(n, pol)
	m := &mailer{clock: c, rate: rate, got: map[string]int{}}
	runs := 0
	f := &notice.Fanout{Store: st, Mail: m, Lease: time.Minute, Margin: time.Second, PageSize: 100, ClaimConcurrency: 4,
		Pace:     func(rate float64, maxBatch int) notice.Pacer { return mail.NewPacer(rate, maxBatch, c) },
		NewRunID: func() string { runs++; return fmt.Sprintf("run-%d", runs) }, Now: c.Now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return f, st, m, c
}

// everyoneOnce fails unless each of the store's people got exactly one notice.
func everyoneOnce(t *testing.T, st *memStore, m *mailer) {
	t.Helper()
	for _, p := range st.people {
		if m.got[p.Email] != 1 {
			t.Fatalf("%s got %d notices, want 1", p.ID, m.got[p.Email])
		}
	}
}

func TestEveryRecipientIsToldOnceAndNoSecondHoldsMoreThanTheRate(t *testing.T) {
	f, st, m, c := setup(1037, 120)
	start := c.Now()
	rep, err := f.Run(context.Background())
	if err != nil || rep.Versions["v2"] != true || rep.Sent != 1037 || rep.Batch != 40 {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	everyoneOnce(t, st, m)
	if most := m.maxInWindow(); most > 120 {
		t.Fatalf("%d notices in one second; the rate is 120", most)
	}
	if len(m.calls) != 26 { // ceil(1037/40)
		t.Fatalf("%d calls, want 26", len(m.calls))
	}
	// The last call starts at (calls-1) gaps; the rate the run achieved:
	elapsed := m.calls[len(m.calls)-1].at.Sub(start) + time.Second/3
	if achieved := 1037 / elapsed.Seconds() / 120; achieved < 0.9 || achieved > 1 {
		t.Fatalf("achieved %.2f of the rate", achieved)
	}
	p := st.version.Progress
	if p.State != notice.Done || p.Sent != 1037 || p.Failed != 0 || p.Total != 1037 || p.Remaining() != 0 {
		t.Fatalf("progress = %+v", p)
	}
	if owner := st.owner; owner != "" {
		t.Fatalf("the sender lease is still held by %s", owner)
	}
}

func TestThrottledEntriesAreSentAgainAfterABackoff(t *testing.T) {
	f, st, m, c := setup(30, 14)
	m.script = func(call int, to []notice.Recipient) ([]notice.Delivery, error) {
		ds := make([]notice.Delivery, len(to))
		if call == 0 {
			for i := range 5 {
				ds[i].Result = notice.Throttled // per entry: the SDK does not retry these
			}
		}
		return ds, nil
	}
	start := c.Now()
	rep, err := f.Run(context.Background())
	if err != nil || !rep.Versions["v2"] {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	everyoneOnce(t, st, m)
	if len(m.calls[1].to) != 5 || m.calls[1].at.Sub(start) < time.Second {
		t.Fatalf("the throttled five went again at %v in a call of %d", m.calls[1].at.Sub(start), len(m.calls[1].to))
	}
	if most := m.maxInWindow(); most > 14 {
		t.Fatalf("%d in one second", most)
	}
}

func TestAFailedSendIsRetriedByALaterRunUntilItIsGivenUp(t *testing.T) {
	f, st, m, c := setup(10, 14)
	tries := map[string]int{}
	m.script = rejecting(tries, func(id string, try int) bool { return id == "p0003" || (id == "p0007" && try == 1) })
	rep, err := f.Run(context.Background())
	p := st.version.Progress
	if err != nil || rep.Versions["v2"] || p.Sent != 8 || p.Failed != 2 || !p.Walked {
		t.Fatalf("first run = %+v, %v; progress %+v: two failures wait for a retry", rep, err, p)
	}
	if rep, _ := f.Run(context.Background()); rep.Versions["v2"] || tries["p0007"] != 1 {
		t.Fatalf("a run straight after retried too soon: %+v, tries %v", rep, tries)
	}
	c.Sleep(context.Background(), 6*time.Minute)
	f.Run(context.Background())
	if p := st.version.Progress; p.Sent != 9 || p.Failed != 1 || p.State != notice.Sending || tries["p0007"] != 2 {
		t.Fatalf("after the first retry: %+v, tries %v", p, tries)
	}
	c.Sleep(context.Background(), 6*time.Minute)
	rep, err = f.Run(context.Background())
	if p := st.version.Progress; err != nil || !rep.Versions["v2"] || p.State != notice.Done || p.Sent != 9 || p.Failed != 1 || tries["p0003"] != 3 {
		t.Fatalf("after three attempts: %+v, %v; progress %+v, tries %v", rep, err, p, tries)
	}
	if m.got["p0007@example.com"] != 1 || m.got["p0003@example.com"] != 0 {
		t.Fatalf("got %v", m.got)
	}
}

func TestAHaltStopsTheRunAndTheNextResumesWithoutDoubles(t *testing.T) {
	f, st, m, _ := setup(100, 50)
	m.script = func(call int, to []notice.Recipient) ([]notice.Delivery, error) {
		ds := make([]notice.Delivery, len(to))
		if call == 1 {
			for i := range ds {
				ds[i] = notice.Delivery{Result: notice.Halted, Reason: "ACCOUNT_SENDING_PAUSED"}
			}
		}
		return ds, nil
	}
	rep, err := f.Run(context.Background())
	if err != nil || !strings.Contains(rep.Stopped, "ACCOUNT_SENDING_PAUSED") || rep.Sent != 50 {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	released := 0
	for _, r := range st.records {
		if r.state == "released" {
			released++
		}
	}
	if released != 50 || st.owner != "" {
		t.Fatalf("%d records released, lease owner %q; want the halted 50 given back and the lease freed", released, st.owner)
	}
	if rep, err := f.Run(context.Background()); err != nil || !rep.Versions["v2"] || rep.Sent != 50 {
		t.Fatalf("the next run = %+v, %v", rep, err)
	}
	everyoneOnce(t, st, m)
}

func TestACallThatFailsWhollyReleasesItsClaimsAndFailsTheRun(t *testing.T) {
	f, st, m, _ := setup(60, 50)
	m.script = func(call int, to []notice.Recipient) ([]notice.Delivery, error) {
		if call == 0 {
			return nil, errors.New("connection reset")
		}
		return make([]notice.Delivery, len(to)), nil
	}
	if _, err := f.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("run = %v; want the call's error", err)
	}
	if p := st.version.Progress; p.Sent != 0 || p.Cursor != "" {
		t.Fatalf("progress moved past an unsent batch: %+v", p)
	}
	if rep, err := f.Run(context.Background()); err != nil || !rep.Versions["v2"] {
		t.Fatalf("the next run = %+v, %v", rep, err)
	}
	everyoneOnce(t, st, m)
}

func TestARunThatRunsOutOfTimeStopsAndTheNextResumes(t *testing.T) {
	f, st, m, _ := setup(200, 50)
	ctx, cancel := context.WithCancel(context.Background())
	m.script = func(call int, to []notice.Recipient) ([]notice.Delivery, error) {
		if call == 1 {
			cancel() // the deadline comes while this call is out
		}
		return make([]notice.Delivery, len(to)), nil
	}
	rep, err := f.Run(ctx)
	if err != nil || rep.Stopped != "deadline" || rep.Sent != 100 {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	if p := st.version.Progress; p.Sent != 100 || p.Cursor != st.people[99].Key {
		t.Fatalf("progress = %+v; want the two sent batches counted", p)
	}
	if rep, err := f.Run(context.Background()); err != nil || !rep.Versions["v2"] || rep.Sent != 100 {
		t.Fatalf("the next run = %+v, %v", rep, err)
	}
	everyoneOnce(t, st, m)
}

func TestARunCutOffBeforeItsCheckpointIsRecountedNotResent(t *testing.T) {
	f, st, m, c := setup(120, 50)
	// A run that died after its first send, before it checkpointed: SES took
	// its 50 and their send events marked them sent.
	for _, p := range st.people[:50] {
		st.Claim(context.Background(), "v2", p, "dead", c.Now().Add(time.Minute), c.Now())
	}
	st.Settle(context.Background(), "v2", "dead", func() (os []notice.Outcome) {
		for _, p := range st.people[:50] {
			os = append(os, notice.Outcome{PersonID: p.ID, Sent: true, Attempts: 1})
			m.got[p.Email]++
		}
		return os
	}(), c.Now())
	st.owner, st.ownerUntil = "dead", c.Now().Add(time.Minute)
	if rep, err := f.Run(context.Background()); err != nil || !rep.Busy {
		t.Fatalf("a run while the dead run's lease holds = %+v, %v; want busy", rep, err)
	}
	f.SettleGrace = time.Minute
	c.Sleep(context.Background(), 2*time.Minute) // the lease lapsed a minute ago: the grace is not over
	if rep, err := f.Run(context.Background()); err != nil || !rep.Busy {
		t.Fatalf("a run within the grace after the dead run's lease = %+v, %v; want busy", rep, err)
	}
	c.Sleep(context.Background(), time.Second)
	rep, err := f.Run(context.Background())
	if err != nil || rep.Recounted != 50 || rep.Sent != 70 {
		t.Fatalf("report = %+v, %v; want 50 recounted and 70 sent", rep, err)
	}
	everyoneOnce(t, st, m)
	if p := st.version.Progress; p.Sent != 120 {
		t.Fatalf("progress = %+v", p)
	}
}

func TestALostAnswerStopsTheRunAsAKillWouldAndNobodyIsSentTwice(t *testing.T) {
	f, st, m, c := setup(120, 50)
	f.SettleGrace = time.Minute
	var lost []notice.Recipient
	m.script = func(call int, to []notice.Recipient) ([]notice.Delivery, error) {
		ds := make([]notice.Delivery, len(to))
		if call == 1 { // SES took the second call; its answer never came back
			for _, r := range to {
				m.got[r.Email]++
			}
			lost = to
			return nil, fmt.Errorf("mail.SendNotice: %w: connection reset", notice.ErrAnswerLost)
		}
		return ds, nil
	}
	rep, err := f.Run(context.Background())
	if err != nil || rep.Stopped == "" || rep.Sent != 50 {
		t.Fatalf("report = %+v, %v; want a clean stop after the first batch", rep, err)
	}
	for _, r := range lost {
		if rec := st.records[r.ID]; rec == nil || rec.state != "sending" {
			t.Fatalf("%s after the lost answer = %+v; want still claimed", r.ID, rec)
		}
	}
	if st.owner != rep.Run {
		t.Fatalf("lease owner %q; want the stopped run's lease kept, as a killed run's", st.owner)
	}
	// SES's send events mark what it took, whatever the run did.
	for _, r := range lost {
		st.records[r.ID].state = "sent"
	}
	if rep, err := f.Run(context.Background()); err != nil || !rep.Busy {
		t.Fatalf("a run while the stopped run's lease holds = %+v, %v; want busy", rep, err)
	}
	c.Sleep(context.Background(), 2*time.Minute+time.Second)
	rep, err = f.Run(context.Background())
	if err != nil || !rep.Versions["v2"] || rep.Recounted != len(lost) || rep.Sent != 120-50-len(lost) {
		t.Fatalf("the next run = %+v, %v; want the %d SES took recounted, the rest sent", rep, err, len(lost))
	}
	everyoneOnce(t, st, m)
	if p := st.version.Progress; p.Sent != 120 {
		t.Fatalf("progress = %+v", p)
	}
}

func TestARunAlertsWhenTheNoticeWillBeLate(t *testing.T) {
	f, _, _, c := setup(600, 1)
	var logged strings.Builder
	f.Log = slog.New(slog.NewTextHandler(&logged, nil))
	f.Store.(*memStore).version.Policy.Effective = c.Now().Add(5 * time.Minute) // 600 at 1/s takes 10
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.Run(ctx)
	if !strings.Contains(logged.String(), "level=ERROR msg=\"policy notice will finish after the version takes effect\"") {
		t.Fatalf("no error-level alert:\n%s", logged.String())
	}
}

func TestSomeoneWhoConfirmsBehindTheWalkIsToldByTheCatchUpPass(t *testing.T) {
	f, st, m, _ := setup(300, 50)
	m.script = func(call int, to []notice.Recipient) ([]notice.Delivery, error) {
		if call == 4 { // the walk is past the first 200: this one lands behind it
			st.join("late", "000010-late")
		}
		return make([]notice.Delivery, len(to)), nil
	}
	rep, err := f.Run(context.Background())
	if err != nil || !rep.Versions["v2"] {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	everyoneOnce(t, st, m)
	if m.got["late@example.com"] != 1 || len(m.calls) != 7 {
		t.Fatalf("the late one got %d notices in %d calls; want 1 in 7", m.got["late@example.com"], len(m.calls))
	}
	p := st.version.Progress
	if p.State != notice.Done || p.Total != 301 || p.Sent != 301 || p.Remaining() != 0 || p.CaughtUpAt.IsZero() || p.CatchCursor != "" {
		t.Fatalf("progress = %+v", p)
	}
}

func TestADoneNoticeCatchesUpDailyUntilTheVersionTakesEffect(t *testing.T) {
	f, st, m, c := setup(100, 50)
	if _, err := f.Run(context.Background()); err != nil || st.version.Progress.State != notice.Done {
		t.Fatalf("first run: %v, %+v", err, st.version.Progress)
	}
	st.join("later", "000050-later")
	calls := len(m.calls)
	if rep, err := f.Run(context.Background()); err != nil || len(rep.Versions) != 0 || len(m.calls) != calls {
		t.Fatalf("a run within the day = %+v, %v; %d calls more", rep, err, len(m.calls)-calls)
	}
	c.Sleep(context.Background(), 24*time.Hour)
	if rep, err := f.Run(context.Background()); err != nil || !rep.Versions["v2"] || rep.Sent != 1 {
		t.Fatalf("the next day's run = %+v, %v", rep, err)
	}
	everyoneOnce(t, st, m)
	if p := st.version.Progress; p.Total != 101 || p.Sent != 101 || p.State != notice.Done || !p.CaughtUpAt.Equal(c.Now()) {
		t.Fatalf("progress = %+v", p)
	}

	// Once the version is in effect a notice would come too late: no pass.
	c.Sleep(context.Background(), pol.Effective.Sub(c.Now()))
	st.join("after", "000060-after")
	if rep, err := f.Run(context.Background()); err != nil || len(rep.Versions) != 0 || m.got["after@example.com"] != 0 {
		t.Fatalf("a run after the version took effect = %+v, %v", rep, err)
	}
}

func TestACatchUpPassThatWasCutOffResumesAtItsCursor(t *testing.T) {
	f, st, m, _ := setup(120, 50)
	if _, err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.join("late-a", "000010-a")
	st.join("late-b", "000100-b")
	st.mu.Lock()
	st.version.Progress.CatchCursor = "000050" // a pass that got this far before it was cut off
	st.mu.Unlock()
	if _, err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m.got["late-b@example.com"] != 1 || m.got["late-a@example.com"] != 0 {
		t.Fatalf("the resumed pass told %v; want late-b only (late-a is before its cursor, for the next pass)", m.got)
	}
	if p := st.version.Progress; p.CatchCursor != "" || p.Total != 121 {
		t.Fatalf("progress = %+v", p)
	}
}

func TestACatchUpPassThatFindsNobodyAndRunsOutOfTimeKeepsItsPlace(t *testing.T) {
	f, st, m, c := setup(1000, 50)
	if _, err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := len(m.calls)
	c.Sleep(context.Background(), 25*time.Hour) // the daily pass is due
	st.readDelay, f.Margin = 60*time.Millisecond, 10*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond) // ten pages take 600 ms
	defer cancel()
	rep, err := f.Run(ctx)
	if err != nil || rep.Stopped != "deadline" {
		t.Fatalf("report = %+v, %v; want a run stopped by its deadline", rep, err)
	}
	cursor := st.version.Progress.CatchCursor
	if cursor == "" || cursor >= st.people[len(st.people)-1].Key || len(m.calls) != calls {
		t.Fatalf("catch-up cursor %q after %d new calls; want a place part-way through and nothing sent", cursor, len(m.calls)-calls)
	}
	st.readDelay = 0
	if _, err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := st.version.Progress; p.CatchCursor != "" || !p.CaughtUpAt.Equal(c.Now()) || len(m.calls) != calls {
		t.Fatalf("progress = %+v after %d new calls; want the pass finished, nobody told twice", p, len(m.calls)-calls)
	}
	everyoneOnce(t, st, m)
}

func TestTheNextPageIsReadWhileThisOneIsSent(t *testing.T) {
	f, st, m, _ := setup(1000, 50) // ten pages of 100, two calls each
	st.readDelay = 100 * time.Millisecond
	overlapped := 0
	m.script = func(_ int, to []notice.Recipient) ([]notice.Delivery, error) {
		if st.reading.Load() > 0 {
			overlapped++
		}
		return make([]notice.Delivery, len(to)), nil
	}
	if _, err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	everyoneOnce(t, st, m)
	// Every page but the last is sent while the next is read: a pass that
	// read only when its queue ran dry would overlap none.
	if overlapped < 9 {
		t.Fatalf("%d of %d calls were sent while a page was read; want at least the first of each page but the last", overlapped, len(m.calls))
	}
}

func TestAFailedRecipientErasedBeforeTheRetryIsGivenUpNotSent(t *testing.T) {
	f, st, m, c := setup(10, 14)
	tries := map[string]int{}
	m.script = rejecting(tries, func(id string, _ int) bool { return id == "p0004" })
	if rep, err := f.Run(context.Background()); err != nil || rep.Versions["v2"] {
		t.Fatalf("first run = %+v, %v; want one failure waiting for a retry", rep, err)
	}
	st.mu.Lock()
	st.erased = map[string]bool{"p0004": true}
	st.mu.Unlock()
	c.Sleep(context.Background(), 6*time.Minute)
	rep, err := f.Run(context.Background())
	if p := st.version.Progress; err != nil || !rep.Versions["v2"] || p.State != notice.Done || p.Sent != 9 || p.Failed != 1 || tries["p0004"] != 1 {
		t.Fatalf("after the erasure: %+v, %v; progress %+v, tries %v; want the notice done, the erased person never tried again", rep, err, p, tries)
	}
	if r := st.records["p0004"]; r.state != "failed" || r.retry {
		t.Fatalf("the erased person's record = %+v; want failed for good", r)
	}
}

// TestARejectedNoticeLogsNoAddress: SES's MessageRejected text lists
// addresses; a run through the real sender, one recipient (SendEmail) or
// many (SendBulkEmail), says no address in its JSON log, its error (which
// the notices function logs and returns) or its report.
func TestARejectedNoticeLogsNoAddress(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d recipients", n), func(t *testing.T) {
			f, st, _, _ := setup(n, 14)
			var logs bytes.Buffer
			f.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			sender, err := mail.NewSender(mailtest.Rejecting{}, "notices@example.com", "SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
			if err != nil {
				t.Fatal(err)
			}
			f.Mail = mail.NewNoticeSender(mailtest.Rejecting{}, sender)
			rep, err := f.Run(context.Background())
			said := fmt.Sprintf("%s\n%v\n%+v", logs.String(), err, rep)
			for _, addr := range append([]string{mailtest.RejectedAddress}, st.people[0].Email) {
				if strings.Contains(said, addr) {
					t.Fatalf("the run said %q, which names %s", said, addr)
				}
			}
			if rep.Sent != 0 || (err == nil && rep.Failed == 0) {
				t.Fatalf("a rejected notice run = %+v, %v", rep, err)
			}
		})
	}
}

// reach sets what SES's feedback says of a recipient's address, as the
// store would read it with them.
func (s *memStore) reach(id string, d people.Deliverability) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.people {
		if s.people[i].ID == id {
			s.people[i].Reach = d
		}
	}
}

// A recipient our mail does not reach when their turn comes is not sent
// the notice and is counted as undeliverable (neither lost nor failed);
// one resting whose rest ends, or one who confirms again, before the
// version takes effect is told by a catch-up pass and leaves that count.
// A failed one that bounced since is settled undeliverable by the retry.
func TestUndeliverableRecipientsAreCountedApartAndToldWhenMailReachesThemAgain(t *testing.T) {
	f, st, m, c := setup(200, 50)
	now := c.Now()
	st.reach("p0003", people.Deliverability{State: people.Undeliverable, Since: now.Add(-time.Hour)})
	st.reach("p0077", people.Deliverability{State: people.Resting, Since: now.Add(-time.Hour), Until: now.Add(3 * 24 * time.Hour)})
	st.reach("p0150", people.Deliverability{State: people.Resting, Since: now.Add(-48 * time.Hour), Until: now.Add(-time.Hour)}) // rested: reachable
	f.MaxAttempts, f.RetryAfter = 3, time.Minute
	tries := map[string]int{}
	m.script = rejecting(tries, func(id string, try int) bool { return id == "p0120" && try == 1 })
	// p0120's first send fails; before its retry it bounces for good.
	rep, err := f.Run(context.Background())
	if err != nil || rep.Undeliverable != 2 || rep.Failed != 1 {
		t.Fatalf("first run = %+v, %v; want 2 undeliverable, 1 failed", rep, err)
	}
	if p := st.version.Progress; p.Sent != 197 || p.Failed != 1 || p.Undeliverable != 2 || p.Total != 200 || p.Remaining() != 0 {
		t.Fatalf("progress after the walk = %+v", p)
	}
	for _, id := range []string{"p0003", "p0077"} {
		if m.got[id+"@example.com"] != 0 || st.records[id].state != "undeliverable" {
			t.Fatalf("%s got %d notices, record %+v", id, m.got[id+"@example.com"], st.records[id])
		}
	}
	st.reach("p0120", people.Deliverability{State: people.Undeliverable, Since: c.Now()})
	c.Sleep(context.Background(), 2*time.Minute)
	rep, err = f.Run(context.Background())
	if err != nil || !rep.Versions["v2"] || rep.Undeliverable != 1 {
		t.Fatalf("the retry run = %+v, %v", rep, err)
	}
	p := st.version.Progress
	if p.State != notice.Done || p.Sent != 197 || p.Failed != 0 || p.Undeliverable != 3 || p.Total != 200 || p.Remaining() != 0 {
		t.Fatalf("progress after the retry = %+v", p)
	}
	if m.got["p0120@example.com"] != 0 || tries["p0120"] != 1 {
		t.Fatalf("p0120 was tried %d times, got %d", tries["p0120"], m.got["p0120@example.com"])
	}
	// Four days on, p0077's rest is over and p0003 confirmed again: the
	// daily catch-up tells them, once.
	c.Sleep(context.Background(), 4*24*time.Hour)
	st.reach("p0077", people.Deliverability{State: people.Resting, Since: now.Add(-time.Hour), Until: now.Add(3 * 24 * time.Hour)})
	st.reach("p0003", people.Deliverability{ClearedAt: c.Now()})
	rep, err = f.Run(context.Background())
	if err != nil || rep.Sent != 2 || rep.Undeliverable != 0 {
		t.Fatalf("the catch-up run = %+v, %v", rep, err)
	}
	for id, want := range map[string]int{"p0003": 1, "p0077": 1, "p0120": 0} {
		if m.got[id+"@example.com"] != want {
			t.Fatalf("%s got %d notices, want %d", id, m.got[id+"@example.com"], want)
		}
	}
	if p := st.version.Progress; p.Sent != 199 || p.Failed != 0 || p.Undeliverable != 1 || p.Total != 200 || p.Remaining() != 0 {
		t.Fatalf("progress after the catch-up = %+v", p)
	}
	if got := m.got; got["p0150@example.com"] != 1 {
		t.Fatalf("a rested recipient got %d notices", got["p0150@example.com"])
	}
}
