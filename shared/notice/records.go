package notice

import "errors"

// RecordState is where one person's notice of one version stands: the
// record the fan-out claims before a send and settles after it.
type RecordState string

const (
	RecordSending  RecordState = "sending"  // claimed by a run, under its lease
	RecordSent     RecordState = "sent"     // SES accepted it: final
	RecordFailed   RecordState = "failed"   // SES refused it; retried unless given up
	RecordReleased RecordState = "released" // given back unsent: the next run sends it
	// RecordUndeliverable: SES's feedback said our mail does not reach the
	// person when their turn came (a permanent bounce, or a rest after
	// transient ones), so nothing was sent; a catch-up pass before the
	// version takes effect tells them if it reaches them by then.
	RecordUndeliverable RecordState = "undeliverable"
)

// recordStates lists every state, in the order above.
var recordStates = []RecordState{RecordSending, RecordSent, RecordFailed, RecordReleased, RecordUndeliverable}

// State is the state o leaves a record in when a run settles it.
func (o Outcome) State() RecordState {
	switch {
	case o.Sent:
		return RecordSent
	case o.Failed:
		return RecordFailed
	case o.Undeliverable, o.Counted:
		return RecordUndeliverable // a counted one given back unsent stays counted
	}
	return RecordReleased
}

// MaySettle reports whether a run may write an outcome that leaves a record
// in state to over one in state from. Sent is final: SES's send event
// (Store.MarkSent) writes it whenever SES accepted the mail, also for a call
// whose answer the run never got, and a settle that turned it back into
// released or failed would have the notice sent a second time (issue 12,
// item 4). Writing sent is always allowed: it is what the record says, or
// will say once the event lands.
func MaySettle(from, to RecordState) bool { return to == RecordSent || from != RecordSent }

// SettleableStates lists the states a record may be in for a settle to
// write to over it, for a store's conditional write; all of them when the
// write needs no condition.
func SettleableStates(to RecordState) []RecordState {
	var out []RecordState
	for _, s := range recordStates {
		if MaySettle(s, to) {
			out = append(out, s)
		}
	}
	return out
}

// SettleNeedsCondition reports whether writing to may meet a state it must
// not overwrite.
func SettleNeedsCondition(to RecordState) bool { return len(SettleableStates(to)) < len(recordStates) }

// ErrAnswerLost is what a Mailer's error wraps when SES may have accepted a
// call whose answer never came back (the connection dropped, the deadline
// passed): nobody knows which recipients SES took. The fan-out treats it as
// a kill at that moment: it leaves those claims held and keeps the sender
// lease, so no run sends to them before SES's send events had SettleGrace
// to mark the accepted ones sent.
var ErrAnswerLost = errors.New("notice: SES's answer was lost; it may have accepted the call")
