package notice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

// Recipient is a person the notice goes to.
type Recipient struct {
	ID    string // person id: logs carry this, never the address
	Email string
	// Name is the person's name as they gave it, for the greeting; "" for
	// none (the mail then greets "Hello,").
	Name string
	Key  string // the store's position of this recipient, for the checkpoint
	// Attempts and LastAttempt are set on a recipient whose earlier sends
	// failed: the retry pass takes them up again.
	Attempts    int
	LastAttempt time.Time
	// Reach is what SES's feedback says of the person's address as the
	// store read it with the recipient: a recipient it does not reach when
	// their turn comes is not sent the notice but settled undeliverable.
	Reach people.Deliverability
	// Counted is set on a recipient whose record is counted in the
	// version's Undeliverable total (a catch-up pass takes them up again
	// once mail reaches them): telling them moves them out of it.
	Counted bool
}

// Version is a published policy with its notice progress.
type Version struct {
	Policy   Policy
	Progress Progress
}

// Sent is SES's word that it accepted one recipient's notice: its send
// event, which arrives even when the sender was killed before recording it.
type Sent struct {
	Version   string
	PersonID  string
	MessageID string
}

// ClaimResult says what the conditional write of a recipient's record found.
type ClaimResult int

const (
	Claimed     ClaimResult = iota // ours to send now
	AlreadySent                    // a run that was cut off sent it and did not count it
	HeldByOther                    // another run holds it: we lost the sender lease
)

// Outcome is what became of one claimed recipient in a run.
type Outcome struct {
	PersonID  string
	Sent      bool
	MessageID string
	Failed    bool   // failed in this run; a later run retries it unless GiveUp
	Reason    string // why it failed, without personal data
	Attempts  int    // sends tried for this recipient so far, this one included
	GiveUp    bool   // failed too often (or the person is gone): no more retries
	// Undeliverable: not sent, as SES's feedback says our mail does not
	// reach the person (Recipient.Reach).
	Undeliverable bool
	// Counted: the recipient is counted as undeliverable (Recipient.Counted);
	// given back unsent, their record stays undeliverable, and counted.
	Counted bool
}

// Store is what the fan-out needs from the table.
type Store interface {
	// ToNotify lists material versions whose notices are not done, and
	// those done but not yet in effect at now (people who confirm later are
	// still to be told), oldest effective date first.
	ToNotify(ctx context.Context, now time.Time) ([]Version, error)
	// AcquireSender takes (or renews) the account-wide sender lease for
	// owner until until, unless another owner's lease ends at or after free.
	AcquireSender(ctx context.Context, owner string, free, until time.Time) (bool, error)
	ReleaseSender(ctx context.Context, owner string) error
	CountRecipients(ctx context.Context) (int, error)
	// StartNotice moves a pending version to sending with its total.
	StartNotice(ctx context.Context, version string, total int, now time.Time) error
	// Recipients returns up to limit recipients after cursor ("" from the
	// start) and whether there are more.
	Recipients(ctx context.Context, cursor string, limit int) ([]Recipient, bool, error)
	// Claim writes the recipient's record for version if none exists, or if
	// it failed, was released, or belongs to a run whose lease has passed.
	Claim(ctx context.Context, version string, rc Recipient, run string, leaseUntil, now time.Time) (ClaimResult, error)
	// Settle records outcomes: sent, failed, or (neither) released unsent.
	Settle(ctx context.Context, version, run string, outcomes []Outcome, now time.Time) error
	// Checkpoint records that every recipient up to cursor is counted,
	// adding sent, failed and undeliverable to the totals (each negative
	// when a recipient counted there moves to another).
	Checkpoint(ctx context.Context, version, cursor string, sent, failed, undeliverable int, rate float64) error
	// Walked records that the walk over every recipient is complete.
	Walked(ctx context.Context, version string) error
	// Untold returns those of rs whom version's notice has not reached and
	// nobody is sending it to: no record, a released one, a claim whose
	// run's lease ended before now, or an undeliverable one whose
	// recipient's Reach lets mail through at now (with Counted set, as on
	// a lapsed claim of one). Failed ones belong to the retry pass.
	Untold(ctx context.Context, version string, rs []Recipient, now time.Time) ([]Recipient, error)
	// CatchUp records a catch-up pass's progress: everyone up to cursor is
	// told; added recipients join the total, sent, failed and
	// undeliverable are counted (as in Checkpoint).
	CatchUp(ctx context.Context, version, cursor string, added, sent, failed, undeliverable int) error
	// CaughtUp records that a catch-up pass finished at.
	CaughtUp(ctx context.Context, version string, at time.Time) error
	// FailedRecipients lists up to limit recipients of version whose send
	// failed and is to be retried; Email is empty for a person we no longer hold.
	FailedRecipients(ctx context.Context, version string, limit int) ([]Recipient, error)
	Finish(ctx context.Context, version string, now time.Time) error
}

// SendResult is SES's answer for one recipient of a send.
type SendResult int

const (
	Accepted  SendResult = iota
	Throttled            // try again after a pause: the SDK does not retry entries
	Rejected             // this recipient failed; the next pass retries
	Halted               // the account cannot send now (quota, pause): stop the run
)

// Delivery is the result of a send for one recipient.
type Delivery struct {
	Result    SendResult
	MessageID string
	Reason    string
}

// Mailer sends the notice of a version.
type Mailer interface {
	MaxSendRate(ctx context.Context) (float64, error)
	// MaxBatch is the most recipients one send call takes.
	MaxBatch() int
	// SendNotice sends pol's notice to each of to and returns one Delivery
	// per recipient, in order. An error means the call as a whole failed.
	SendNotice(ctx context.Context, pol Policy, to []Recipient) ([]Delivery, error)
}

// Pacer spaces a run's send calls so that no one-second window holds more
// recipients than the rate it was made for, and waits longer after SES
// throttled a call. mail.Pacer is the one the notices function uses.
type Pacer interface {
	// Batch is the most recipients one call may carry.
	Batch() int
	// Wait returns when the next call may start, or ctx's error.
	Wait(ctx context.Context) error
	// Sent is called when a call has returned and SES did not throttle it.
	Sent()
	// Throttled is called when SES throttled (part of) a call that has
	// returned; it returns how long the next Wait lasts.
	Throttled() time.Duration
}

// Fanout tells every recipient of every material version, once.
type Fanout struct {
	Store Store
	Mail  Mailer
	// Pace (required) makes the pacer of a run for rate messages a second
	// (the lower of the account's rate and MaxRate) in calls of at most
	// maxBatch recipients.
	Pace func(rate float64, maxBatch int) Pacer
	// MaxRate caps the send rate below the account's (0: the account's).
	MaxRate float64
	// Lease is how long a run holds the sender lease between renewals; a
	// run that was killed blocks the next one for at most Lease+SettleGrace.
	Lease time.Duration
	// SettleGrace is how long after another run's lease lapsed a run waits
	// before it takes over: the killed run may have had a call out to SES,
	// and the send events of what SES accepted mark those records sent in
	// that time, so the new run does not send them again.
	SettleGrace time.Duration
	// Margin is how long before the context's deadline a run stops.
	Margin time.Duration
	// PageSize is how many recipients one store read returns.
	PageSize int
	// ClaimConcurrency is how many claims are written at once.
	ClaimConcurrency int
	// MaxAttempts is how often a recipient's send is tried before giving up
	// (default 3); a failed one is retried no sooner than RetryAfter (default
	// 5 minutes) later, by the run after the walk.
	MaxAttempts int
	RetryAfter  time.Duration
	// CatchUpEvery is how often, after the walk and until the version takes
	// effect, a pass looks for people who confirmed since and tells them
	// (default a day). The first pass follows the walk at once.
	CatchUpEvery time.Duration
	NewRunID     func() string
	Now          func() time.Time
	Log          *slog.Logger
}

// Report says what one run did.
type Report struct {
	Run    string  `json:"run"`
	Busy   bool    `json:"busy,omitempty"` // another run holds the sender lease
	Rate   float64 `json:"rate"`
	Batch  int     `json:"batch"`
	Sent   int     `json:"sent"`
	Failed int     `json:"failed"`
	// Undeliverable is how many recipients this run did not send to because
	// SES's feedback says our mail does not reach them.
	Undeliverable int             `json:"undeliverable"`
	Recounted     int             `json:"recounted"` // sent by a run that was cut off, counted now
	Calls         int             `json:"calls"`     // SES send calls
	Stopped       string          `json:"stopped,omitempty"`
	Versions      map[string]bool `json:"versions,omitempty"` // version -> done
}

// errStop ends a run cleanly: the deadline is near or the lease is lost.
// With hold, the run keeps the sender lease and its claims as a killed run
// would (see ErrAnswerLost).
type errStop struct {
	why  string
	hold bool
}

func (e errStop) Error() string { return "stopped: " + e.why }

// Run sends what it can before ctx's deadline less Margin and checkpoints;
// the next run resumes there. A run killed at any point loses nobody: its
// claims lapse with its lease and are sent by the next run.
func (f *Fanout) Run(ctx context.Context) (rep Report, err error) {
	rep = Report{Run: f.NewRunID(), Versions: map[string]bool{}}
	all, err := f.Store.ToNotify(ctx, f.Now())
	if err != nil {
		return rep, err
	}
	// A version already done needs a run only when a catch-up pass is due:
	// the other scheduled runs end here, having read one small partition.
	var versions []Version
	for _, v := range all {
		if v.Progress.State != Done || f.catchUpDue(v.Policy, v.Progress, f.Now()) {
			versions = append(versions, v)
		}
	}
	if len(versions) == 0 {
		return rep, nil
	}
	r := &run{Fanout: f, rep: &rep}
	r.deadline, r.hasDeadline = ctx.Deadline()
	r.margin = f.Margin
	if remaining := time.Until(r.deadline); r.hasDeadline && remaining < 4*r.margin {
		r.margin = remaining / 4
	}
	if ok, err := r.renew(ctx, true); err != nil || !ok {
		rep.Busy = err == nil
		return rep, err
	}
	hold := false
	defer func() {
		if hold {
			return // the lease lapses on its own, as a killed run's does
		}
		if err := f.Store.ReleaseSender(context.WithoutCancel(ctx), rep.Run); err != nil {
			f.Log.WarnContext(ctx, "releasing the sender lease", "err", err)
		}
	}()
	rate, err := f.Mail.MaxSendRate(ctx)
	if err != nil {
		return rep, err
	}
	if f.MaxRate > 0 {
		rate = min(rate, f.MaxRate)
	}
	if rate <= 0 {
		return rep, errors.New("notice: the account's max send rate is 0: sending is not enabled")
	}
	r.pace, r.rate = f.Pace(rate, f.Mail.MaxBatch()), rate
	rep.Rate, rep.Batch = rate, r.pace.Batch()
	for _, v := range versions {
		done, err := r.version(ctx, v)
		rep.Versions[v.Policy.Version] = done
		var stop errStop
		if errors.As(err, &stop) {
			rep.Stopped, hold = stop.why, stop.hold
			return rep, nil
		}
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

type run struct {
	*Fanout
	rep         *Report
	pace        Pacer
	rate        float64 // messages a second
	deadline    time.Time
	hasDeadline bool
	margin      time.Duration
	leaseUntil  time.Time
}

func (r *run) outOfTime() bool {
	return r.hasDeadline && time.Now().Add(r.margin).After(r.deadline)
}

// renew takes or extends the sender lease when less than half of it is left.
func (r *run) renew(ctx context.Context, force bool) (bool, error) {
	now := r.Now()
	if !force && r.leaseUntil.Sub(now) > r.Lease/2 {
		return true, nil
	}
	until := now.Add(r.Lease)
	if r.hasDeadline && until.After(r.deadline) {
		until = r.deadline // Lambda ends the run there: the lease must not outlive it
	}
	ok, err := r.Store.AcquireSender(ctx, r.rep.Run, now.Add(-r.SettleGrace), until)
	if ok {
		r.leaseUntil = until
	}
	return ok, err
}

// version sends one version's notice until done or stopped.
func (r *run) version(ctx context.Context, v Version) (bool, error) {
	pol, prog := v.Policy, v.Progress
	if prog.State == Pending {
		total, err := r.Store.CountRecipients(ctx)
		if err != nil {
			return false, err
		}
		if err := r.Store.StartNotice(ctx, pol.Version, total, r.Now()); err != nil {
			return false, err
		}
		prog.State, prog.Total, prog.StartedAt = Sending, total, r.Now()
		r.Log.InfoContext(ctx, "notice started", "version", pol.Version, "total", total, "effective", pol.Effective)
	}
	prog.Rate = r.rate
	r.alertIfLate(ctx, pol, prog)
	if !prog.Walked {
		if err := r.walk(ctx, pol, &prog); err != nil {
			return false, err
		}
	}
	if r.catchUpDue(pol, prog, r.Now()) {
		if err := r.catchUp(ctx, pol, &prog); err != nil {
			return false, err
		}
	}
	done, err := r.retry(ctx, pol, &prog)
	if err != nil || !done {
		return false, err
	}
	if prog.State == Done {
		return true, nil // a later catch-up pass: finished long ago
	}
	if err := r.Store.Finish(ctx, pol.Version, r.Now()); err != nil {
		return false, err
	}
	prog.State, prog.FinishedAt = Done, r.Now()
	r.Log.InfoContext(ctx, "notice finished", "version", pol.Version, "sent", prog.Sent, "failed", prog.Failed, "undeliverable", prog.Undeliverable)
	r.alertIfLate(ctx, pol, prog)
	return true, nil
}

// walk tries every recipient once, from the checkpoint on.
func (r *run) walk(ctx context.Context, pol Policy, prog *Progress) error {
	keepAll := func(_ context.Context, page []Recipient) ([]Recipient, error) { return page, nil }
	err := r.pass(ctx, pol, prog.Cursor, keepAll, func(cursor string, _ int, t tally) error {
		if err := r.Store.Checkpoint(ctx, pol.Version, cursor, t.sent, t.failed, t.undeliverable, r.rate); err != nil {
			return err
		}
		prog.Cursor = cursor
		t.addTo(prog)
		return nil
	})
	if err != nil {
		return err
	}
	prog.Walked = true
	return r.Store.Walked(ctx, pol.Version)
}

// catchUpDue says whether a catch-up pass is to run now: right after the
// walk, then every CatchUpEvery until the version takes effect, and always
// to finish a pass that was cut off.
func (f *Fanout) catchUpDue(pol Policy, prog Progress, now time.Time) bool {
	every := f.CatchUpEvery
	if every <= 0 {
		every = 24 * time.Hour
	}
	switch {
	case !now.Before(pol.Effective):
		return false // in effect: a notice now would come too late anyway
	case prog.CatchCursor != "":
		return true
	case prog.State != Done:
		return prog.CaughtUpAt.IsZero()
	}
	return now.Sub(prog.CaughtUpAt) >= every
}

// catchUp walks the recipients again and tells those the notice has not
// reached: people who confirmed after the walk passed their place, or since
// the last pass. It reads the index and the records, and writes only for
// those it tells, so a pass that finds nobody costs reads only.
func (r *run) catchUp(ctx context.Context, pol Policy, prog *Progress) error {
	untold := func(ctx context.Context, page []Recipient) ([]Recipient, error) {
		return r.Store.Untold(ctx, pol.Version, page, r.Now())
	}
	err := r.pass(ctx, pol, prog.CatchCursor, untold, func(cursor string, told int, t tally) error {
		if err := r.Store.CatchUp(ctx, pol.Version, cursor, told, t.sent, t.failed, t.undeliverable); err != nil {
			return err
		}
		prog.CatchCursor, prog.Total = cursor, prog.Total+told
		t.addTo(prog)
		if t != (tally{}) {
			r.Log.InfoContext(ctx, "notice caught up with later recipients", "version", pol.Version, "told", t.sent, "failed", t.failed,
				"undeliverable", t.undeliverable)
		}
		return nil
	})
	if err != nil {
		return err
	}
	now := r.Now()
	if err := r.Store.CaughtUp(ctx, pol.Version, now); err != nil {
		return err
	}
	prog.CaughtUpAt, prog.CatchCursor = now, ""
	return nil
}

// pass reads the recipients from cursor on, keeps those keep returns, and
// sends to them in batches that run across page boundaries, so every call
// but the last is full. The next page is read while this one is sent, so
// sending never waits for a read that takes less time than a page's sends.
// After each batch it calls advance with the last recipient's key, the
// number of recipients new to the version's total (those not Counted
// already) and what it did (tally). Out of time with nothing queued
// (a pass that keeps nobody reads page after page without sending), it
// records where it stopped reading and stops.
func (r *run) pass(ctx context.Context, pol Policy, cursor string, keep func(context.Context, []Recipient) ([]Recipient, error),
	advance func(cursor string, told int, t tally) error) error {
	readCtx, stopReading := context.WithCancel(ctx)
	ahead := r.readAhead(readCtx, cursor, keep)
	pending := true
	defer func() { // no read outlives the pass
		stopReading()
		if pending {
			<-ahead
		}
	}()
	var queue []Recipient
	readFrom, more := cursor, true
	for more || len(queue) > 0 {
		for more && len(queue) < r.pace.Batch() {
			if len(queue) == 0 && r.outOfTime() {
				if err := advance(readFrom, 0, tally{}); err != nil { // everyone before readFrom is done
					return err
				}
				return errStop{why: "deadline"}
			}
			pg := <-ahead
			pending = false
			if pg.err != nil {
				return pg.err
			}
			queue, more, readFrom = append(queue, pg.kept...), pg.more, pg.last
			if more {
				ahead, pending = r.readAhead(readCtx, readFrom, keep), true
			}
		}
		n := min(r.pace.Batch(), len(queue))
		if n == 0 {
			break
		}
		t, err := r.batch(ctx, pol, queue[:n])
		if err != nil {
			return err
		}
		told := n
		for _, rc := range queue[:n] {
			if rc.Counted {
				told-- // in the total already, as undeliverable
			}
		}
		if err := advance(queue[n-1].Key, told, t); err != nil {
			return err
		}
		queue = queue[n:]
	}
	return nil
}

// page is one read of the recipients: those kept, the key of the last one
// read (kept or not), and whether more follow.
type page struct {
	kept []Recipient
	last string
	more bool
	err  error
}

// readAhead reads and filters the page after cursor in the background.
func (r *run) readAhead(ctx context.Context, cursor string, keep func(context.Context, []Recipient) ([]Recipient, error)) <-chan page {
	out := make(chan page, 1)
	go func() {
		rs, more, err := r.Store.Recipients(ctx, cursor, r.PageSize)
		pg := page{last: cursor, more: more, err: err}
		if err == nil {
			pg.kept, pg.err = keep(ctx, rs)
		}
		if len(rs) > 0 {
			pg.last = rs[len(rs)-1].Key
		}
		out <- pg
	}()
	return out
}

// retry sends again to recipients whose send failed at least RetryAfter ago
// and reports whether none is left to retry.
func (r *run) retry(ctx context.Context, pol Policy, prog *Progress) (bool, error) {
	failed, err := r.Store.FailedRecipients(ctx, pol.Version, r.PageSize)
	if err != nil || len(failed) == 0 {
		return err == nil, err
	}
	retryAfter := r.RetryAfter
	if retryAfter <= 0 {
		retryAfter = 5 * time.Minute
	}
	var due []Recipient
	var gone []Outcome
	now := r.Now()
	for _, c := range failed {
		switch {
		case c.Email == "":
			gone = append(gone, Outcome{PersonID: c.ID, Failed: true, GiveUp: true, Attempts: c.Attempts, Reason: "the person is no longer held"})
		case now.Sub(c.LastAttempt) >= retryAfter:
			due = append(due, c)
		}
	}
	if len(gone) > 0 {
		if err := r.Store.Settle(ctx, pol.Version, r.rep.Run, gone, now); err != nil {
			return false, err
		}
	}
	for len(due) > 0 {
		n := min(r.pace.Batch(), len(due))
		t, err := r.batch(ctx, pol, due[:n])
		if err != nil {
			return false, err
		}
		if err := r.Store.Checkpoint(ctx, pol.Version, prog.Cursor, t.sent, t.failed, t.undeliverable, r.rate); err != nil {
			return false, err
		}
		t.addTo(prog)
		due = due[n:]
	}
	left, err := r.Store.FailedRecipients(ctx, pol.Version, 1)
	return err == nil && len(left) == 0, err
}

// alertIfLate logs at error level when the notice will reach people only
// after the version takes effect: the policy promises notice before.
func (r *run) alertIfLate(ctx context.Context, pol Policy, prog Progress) {
	now := r.Now()
	if prog.Late(pol, now) {
		r.Log.ErrorContext(ctx, "policy notice will finish after the version takes effect",
			"version", pol.Version, "effective", pol.Effective, "estimatedFinish", prog.EstimatedFinish(now),
			"remaining", prog.Remaining(), "rate", prog.Rate)
	}
}

// tally is what a batch adds to a version's totals: a retry that succeeds
// moves a recipient from failed to sent, one counted as undeliverable that
// is told moves from undeliverable to sent (or failed).
type tally struct{ sent, failed, undeliverable int }

func (t tally) addTo(p *Progress) {
	p.Sent, p.Failed, p.Undeliverable = p.Sent+t.sent, p.Failed+t.failed, p.Undeliverable+t.undeliverable
}

// leaves moves c out of the total it is counted in, if any: undeliverable
// (Counted) or failed (a retry: counted as failed when it first failed).
func (t *tally) leaves(c Recipient) {
	switch {
	case c.Counted:
		t.undeliverable--
	case c.Attempts > 0:
		t.failed--
	}
}

// batch claims, sends and settles one batch of recipients and returns what
// to add to the version's totals. A claimed recipient whom SES's feedback
// says our mail does not reach at their turn (Recipient.Reach) is not sent
// to but settled undeliverable and counted apart (issue 12: "a notice's
// progress counts undeliverable people separately"); that includes one
// resting after transient bounces, and a catch-up pass before the version
// takes effect tells them once mail reaches them again. It returns
// errStop, having released what it claimed and not sent, when the run must
// end before the batch is done.
func (r *run) batch(ctx context.Context, pol Policy, rs []Recipient) (t tally, err error) {
	if r.outOfTime() {
		return t, errStop{why: "deadline"}
	}
	if ok, err := r.renew(ctx, false); err != nil || !ok {
		if err == nil {
			err = errStop{why: "the sender lease was taken over"}
		}
		return t, err
	}
	claimed, recounted, err := r.claim(ctx, pol.Version, rs)
	if err != nil {
		return t, err
	}
	r.rep.Recounted += len(recounted)
	for _, c := range recounted {
		t.sent++
		if c.Counted {
			t.undeliverable--
		}
	}
	var outcomes []Outcome
	settle := func() error {
		if len(outcomes) == 0 {
			return nil
		}
		err := r.Store.Settle(context.WithoutCancel(ctx), pol.Version, r.rep.Run, outcomes, r.Now())
		outcomes = outcomes[:0]
		return err
	}
	release := func(cs []Recipient) {
		for _, c := range cs {
			outcomes = append(outcomes, Outcome{PersonID: c.ID, Attempts: c.Attempts, Counted: c.Counted})
		}
	}
	maxAttempts := r.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 3
	}
	now := r.Now()
	reachable := claimed[:0:0]
	for _, c := range claimed {
		if c.Reach.Reachable(now) {
			reachable = append(reachable, c)
			continue
		}
		outcomes = append(outcomes, Outcome{PersonID: c.ID, Undeliverable: true, Attempts: c.Attempts, Counted: true})
		r.rep.Undeliverable++
		if !c.Counted {
			t.leaves(c)
			t.undeliverable++
		}
	}
	claimed = reachable
	for len(claimed) > 0 {
		// Claims are written before the wait, so the gap between sends
		// holds the store's work and the send rate holds.
		if err := r.pace.Wait(ctx); err != nil || r.outOfTime() {
			release(claimed)
			return t, errors.Join(errStop{why: "deadline"}, settle())
		}
		ds, err := r.Mail.SendNotice(ctx, pol, claimed)
		r.rep.Calls++
		if errors.Is(err, ErrAnswerLost) {
			// SES may have taken any of claimed: leave them held, as a
			// kill here would, and settle only what is known.
			r.Log.WarnContext(ctx, "notice: SES's answer was lost; stopping as if killed", "version", pol.Version, "recipients", len(claimed))
			return t, errors.Join(errStop{why: "SES's answer was lost", hold: true}, settle())
		}
		if err != nil {
			r.pace.Sent()
			// The call as a whole failed (the SDK already retried what it
			// retries): release the claims so the next run sends them.
			release(claimed)
			if serr := settle(); serr != nil {
				return t, errors.Join(err, serr)
			}
			return t, fmt.Errorf("notice: sending %s: %w", pol.Version, err)
		}
		var retry []Recipient
		halted := ""
		for i, d := range ds {
			c := claimed[i]
			switch d.Result {
			case Accepted:
				outcomes = append(outcomes, Outcome{PersonID: c.ID, Sent: true, MessageID: d.MessageID, Attempts: c.Attempts + 1})
				t.sent++
				r.rep.Sent++
				t.leaves(c)
			case Rejected:
				attempts := c.Attempts + 1
				outcomes = append(outcomes, Outcome{PersonID: c.ID, Failed: true, Reason: d.Reason, Attempts: attempts, GiveUp: attempts >= maxAttempts})
				r.rep.Failed++
				if c.Attempts == 0 {
					t.failed++
					if c.Counted {
						t.undeliverable--
					}
				}
				r.Log.WarnContext(ctx, "notice rejected", "version", pol.Version, "person", c.ID, "attempt", attempts, "reason", d.Reason)
			case Throttled:
				retry = append(retry, c)
			case Halted:
				retry, halted = append(retry, c), d.Reason
			}
		}
		claimed = retry
		if len(retry) == 0 {
			r.pace.Sent()
			break
		}
		if halted != "" {
			release(retry)
			return t, errors.Join(errStop{why: "SES stopped sending: " + halted}, settle())
		}
		// The next Wait lasts the backoff; the deadline is checked after it.
		backoff := r.pace.Throttled()
		r.Log.WarnContext(ctx, "notice throttled, backing off", "version", pol.Version, "recipients", len(retry), "backoff", backoff)
	}
	return t, settle()
}

// claim writes the records of a batch, a few at a time.
func (r *run) claim(ctx context.Context, version string, rs []Recipient) (claimed, recounted []Recipient, err error) {
	results := make([]ClaimResult, len(rs))
	errs := make([]error, len(rs))
	sem := make(chan struct{}, max(r.ClaimConcurrency, 1))
	var wg sync.WaitGroup
	now := r.Now()
	for i, rc := range rs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i], errs[i] = r.Store.Claim(ctx, version, rc, r.rep.Run, r.leaseUntil, now)
		}()
	}
	wg.Wait()
	var held bool
	for i, res := range results {
		switch {
		case errs[i] != nil:
			err = errors.Join(err, errs[i])
		case res == Claimed:
			claimed = append(claimed, rs[i])
		case res == AlreadySent:
			recounted = append(recounted, rs[i])
		case res == HeldByOther:
			held = true
		}
	}
	if err != nil || held {
		// Give back what this batch claimed; the next run sends it.
		var back []Outcome
		for _, c := range claimed {
			back = append(back, Outcome{PersonID: c.ID, Attempts: c.Attempts, Counted: c.Counted})
		}
		if len(back) > 0 {
			err = errors.Join(err, r.Store.Settle(context.WithoutCancel(ctx), version, r.rep.Run, back, r.Now()))
		}
		if err == nil {
			err = errStop{why: "another run holds a recipient: the sender lease was lost"}
		}
		return nil, nil, err
	}
	return claimed, recounted, nil
}
