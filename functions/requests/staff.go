package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"slices"
	"time"

	"github.com/aws/smithy-go"
	"github.com/smartprotect/pledge/shared/downstream"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/web"
)

// staffStore is what staff's routes need of the store (store.Store).
type staffStore interface {
	OpenRequest(ctx context.Context, r privacy.Request) (privacy.Request, bool, error)
	UpdateRequest(ctx context.Context, id string, decide privacy.Decide) (privacy.Request, bool, error)
	// Person is read only to check deliverability before a mail.
	Person(ctx context.Context, personID string) (people.Person, error)
}

// mailer sends the mails of a request (mail.Sender).
type mailer interface {
	SendRequest(ctx context.Context, m mail.RequestMail) error
}

// desk serves what staff do with privacy requests (policy §11 and §12):
//
//	POST /admin/requests                       enter a request made by mail or phone: 201 + the request
//	POST /admin/requests/{id}/complete         {"note"}: 200 + the request
//	POST /admin/requests/{id}/refuse           {"reason","text"}: 200; the reason is mailed
//	POST /admin/requests/{id}/extend           {"months","reason"}: 200; the reason is mailed at once
//	POST /admin/requests/{id}/systems/{name}   {"acted"[,"reason"]}: 200
//
// Every change is one conditional write of a pure decision (privacy), so a
// retried call changes nothing twice and sends no second mail. Errors are
// {"error":{"code","message","field"}}: 400 for bad input (naming the
// field), 404 for an unknown request ("id") or system ("name"), 409 for a
// change the request's state does not allow, 413 for a body over
// web.MaxBody.
type desk struct {
	store  staffStore
	mail   mailer
	bus    downstream.Publisher
	timing privacy.Timing // Deadline, CoolOff, and Systems: the downstream systems
	keyed  func(string) string
	now    func() time.Time
	newID  func() string
	log    *slog.Logger
}

func (d *desk) handle(ctx context.Context, req web.Request) (web.Response, error) {
	if req.RouteKey == "POST /admin/requests" {
		return d.enter(ctx, req)
	}
	id := req.PathParameters["id"]
	if !idPattern.MatchString(id) {
		return web.FailAPI(people.Errorf(people.Invalid, "id", "not a request id"))
	}
	switch req.RouteKey {
	case "POST /admin/requests/{id}/complete":
		return d.complete(ctx, req, id)
	case "POST /admin/requests/{id}/refuse":
		return d.refuse(ctx, req, id)
	case "POST /admin/requests/{id}/extend":
		return d.extend(ctx, req, id)
	case "POST /admin/requests/{id}/systems/{name}":
		return d.acknowledge(ctx, req, id)
	}
	return web.FailAPI(people.Errorf(people.NotFound, "", "no route %s", req.RouteKey))
}

// intakeRequest is the body of POST /admin/requests.
type intakeRequest struct {
	Channel     string `json:"channel"`     // email | phone
	Kind        string `json:"kind"`        // access | delete | remove-content
	Email       string `json:"email"`       // the person's address
	Received    string `json:"received"`    // RFC 3339: when the person asked
	VerifiedBy  string `json:"verifiedBy"`  // who checked the identity
	VerifiedHow string `json:"verifiedHow"` // how
	Details     string `json:"details"`     // optional: which content, what exactly
}

// decodeIntake reads POST /admin/requests as JSON (unknown fields, a body
// over web.MaxBody, a bad channel, kind, address or time: a *people.Error
// naming the field) and checks it against the clock at now
// (privacy.Timing.CheckIntake). Errors: *people.Error only.
func decodeIntake(req web.Request, t privacy.Timing, now time.Time) (privacy.Intake, error) {
	var in intakeRequest
	if err := decodeJSON(req, &in); err != nil {
		return privacy.Intake{}, err
	}
	channel, err := privacy.ParseChannel(in.Channel)
	if err != nil {
		return privacy.Intake{}, err
	}
	kind, err := privacy.ParseKind(in.Kind)
	if err != nil {
		return privacy.Intake{}, err
	}
	email := people.NormaliseEmail(in.Email)
	if err := people.ValidateEmail(email); err != nil {
		return privacy.Intake{}, err
	}
	received, err := time.Parse(time.RFC3339, in.Received)
	if err != nil {
		return privacy.Intake{}, people.Errorf(people.Invalid, "received", "received is a time in RFC 3339, e.g. 2027-01-04T09:30:00Z")
	}
	out := privacy.Intake{Channel: channel, Kind: kind, Email: email, Received: received.UTC(), VerifiedBy: in.VerifiedBy, VerifiedHow: in.VerifiedHow, Details: in.Details}
	return out, t.CheckIntake(out, now)
}

// decodeJSON is web.Decode for JSON bodies only (a body without a
// Content-Type is read as JSON): staff's routes take nothing else.
func decodeJSON(req web.Request, dst any) error {
	ct := web.Header(req, "Content-Type")
	if ct == "" {
		h := maps.Clone(req.Headers)
		if h == nil {
			h = map[string]string{}
		}
		h["content-type"] = "application/json"
		req.Headers = h
	} else if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return people.Errorf(people.UnsupportedMedia, "", "send application/json")
	}
	return web.Decode(req, dst)
}

// enter takes a request staff received by mail or phone: verified from
// the start, due Deadline after it was received. A retry of the same
// entry answers the request it made (200); another open request of the
// same kind for the person is a 409 naming it. The event to the
// downstream systems goes at once (or, if EventBridge fails, with the
// clock's next run).
func (d *desk) enter(ctx context.Context, req web.Request) (web.Response, error) {
	now := d.now().UTC()
	in, err := decodeIntake(req, d.timing, now)
	if err != nil {
		return web.FailAPI(err)
	}
	personID := d.keyed(in.Email)
	r, created, err := d.store.OpenRequest(ctx, d.timing.Enter(d.newID(), personID, in, now))
	if err != nil {
		return web.FailAPI(err)
	}
	if !created {
		if r.Channel != string(in.Channel) || !r.Received.Equal(in.Received) || r.Staff.VerifiedBy != in.VerifiedBy {
			return web.FailAPI(people.Errorf(people.Conflict, "kind", "the person has an open %s request already: %s (%s); complete, refuse or wait for it", r.Kind, r.ID, r.Status))
		}
		return web.JSON(http.StatusOK, detail(r, now)), nil
	}
	if q, err := downstream.Notify(ctx, d.store, d.bus, r, now); err != nil {
		d.log.ErrorContext(ctx, "privacy request: downstream event failed, the clock publishes it", "request", r.ID, "code", errorCode(err))
	} else {
		r = q
	}
	d.log.InfoContext(ctx, "privacy request entered by staff", "caller", web.Caller(req), "person", personID, "request", r.ID, "kind", r.Kind, "channel", r.Channel)
	return web.JSON(http.StatusCreated, detail(r, now)), nil
}

type completeRequest struct {
	Note string `json:"note"`
}

// complete closes an access or content removal request staff carried out;
// the person is told it is done (the note stays with staff).
func (d *desk) complete(ctx context.Context, req web.Request, id string) (web.Response, error) {
	var in completeRequest
	if err := decodeJSON(req, &in); err != nil {
		return web.FailAPI(err)
	}
	if err := privacy.CheckText("note", in.Note, false, 1000); err != nil {
		return web.FailAPI(err)
	}
	now := d.now().UTC()
	return d.change(ctx, req, id, now, func(r privacy.Request) (*privacy.Request, error) { return privacy.StaffComplete(r, in.Note, now) },
		func(q privacy.Request, email string) mail.RequestMail {
			return mail.RequestMail{PersonID: q.PersonID, To: email, Topic: mail.RequestDone, Kind: q.Kind.Label(), Due: q.Due}
		})
}

type refuseRequest struct {
	Reason string `json:"reason"`
	Text   string `json:"text"`
}

// refuse closes a request refused for a reason; the person is told why
// (policy §12: "we will let you know why" a removal cannot be done).
func (d *desk) refuse(ctx context.Context, req web.Request, id string) (web.Response, error) {
	var in refuseRequest
	if err := decodeJSON(req, &in); err != nil {
		return web.FailAPI(err)
	}
	reason, err := privacy.ParseReason(in.Reason, in.Text)
	if err != nil {
		return web.FailAPI(err)
	}
	if err := privacy.CheckText("text", in.Text, false, 1000); err != nil {
		return web.FailAPI(err)
	}
	now := d.now().UTC()
	return d.change(ctx, req, id, now, func(r privacy.Request) (*privacy.Request, error) { return privacy.Refuse(r, reason, in.Text, now) },
		func(q privacy.Request, email string) mail.RequestMail {
			return mail.RequestMail{PersonID: q.PersonID, To: email, Topic: mail.RequestRefused, Kind: q.Kind.Label(), Due: q.Due, Words: q.RefusalWords()}
		})
}

type extendRequest struct {
	Months int    `json:"months"`
	Reason string `json:"reason"`
}

// extend moves the due date once, before it, by one or two months; the
// reason and the new date are mailed at once, so the person hears of it
// before the original due date (GDPR Art. 12(3)).
func (d *desk) extend(ctx context.Context, req web.Request, id string) (web.Response, error) {
	var in extendRequest
	if err := decodeJSON(req, &in); err != nil {
		return web.FailAPI(err)
	}
	now := d.now().UTC()
	if err := privacy.CheckExtension(in.Months, in.Reason); err != nil {
		return web.FailAPI(err)
	}
	return d.change(ctx, req, id, now, func(r privacy.Request) (*privacy.Request, error) { return privacy.Extend(r, in.Months, in.Reason, now) },
		func(q privacy.Request, email string) mail.RequestMail {
			return mail.RequestMail{PersonID: q.PersonID, To: email, Topic: mail.RequestExtended, Kind: q.Kind.Label(), Due: q.Due, Words: q.Staff.ExtensionReason}
		})
}

type ackRequest struct {
	Acted  *bool  `json:"acted"`
	Reason string `json:"reason"`
}

// acknowledge records a downstream system's answer; the last answer a
// deletion (already erased by pledge) waited for completes it, and the
// person gets the deletion's last mail.
func (d *desk) acknowledge(ctx context.Context, req web.Request, id string) (web.Response, error) {
	name := req.PathParameters["name"]
	if !slices.Contains(d.timing.Systems, name) {
		return web.FailAPI(people.Errorf(people.NotFound, "name", "no downstream system is named %q (known: %v)", truncate(name, 40), d.timing.Systems))
	}
	var in ackRequest
	if err := decodeJSON(req, &in); err != nil {
		return web.FailAPI(err)
	}
	switch {
	case in.Acted == nil:
		return web.FailAPI(people.Errorf(people.Invalid, "acted", "acted is true or false"))
	case *in.Acted && in.Reason != "":
		return web.FailAPI(people.Errorf(people.Invalid, "reason", "a reason is given only when the system did not act"))
	case !*in.Acted:
		if err := privacy.CheckText("reason", in.Reason, true, 1000); err != nil {
			return web.FailAPI(err)
		}
	}
	now := d.now().UTC()
	return d.change(ctx, req, id, now, func(r privacy.Request) (*privacy.Request, error) {
		return privacy.Acknowledge(r, name, *in.Acted, in.Reason, now)
	}, func(q privacy.Request, email string) mail.RequestMail {
		if q.Kind != privacy.Delete || q.Status != privacy.Completed {
			return mail.RequestMail{}
		}
		return mail.RequestMail{PersonID: q.PersonID, To: email, Topic: mail.RequestErased, Kind: q.Kind.Label(), Due: q.Due}
	})
}

// staffAnswer is a staff route's answer: the request as GET
// /admin/requests/{id} shows it, and whether this call mailed the person.
type staffAnswer struct {
	detailAnswer
	Mailed bool `json:"mailed"`
}

// change runs decide on request id and, when it changed the request,
// mails what mailOf says (no Topic: nothing) to the address the request
// held as read, unless the person is known not to receive mail. A mail
// that fails is logged and answered as mailed false: the change stands,
// and a retry changes and mails nothing.
func (d *desk) change(ctx context.Context, req web.Request, id string, now time.Time, decide privacy.Decide,
	mailOf func(q privacy.Request, email string) mail.RequestMail) (web.Response, error) {
	var email string
	q, changed, err := d.store.UpdateRequest(ctx, id, func(r privacy.Request) (*privacy.Request, error) {
		email = r.Email
		return decide(r)
	})
	if errors.Is(err, people.ErrNotFound) {
		return web.FailAPI(people.Errorf(people.NotFound, "id", "no request %s", id))
	}
	if err != nil {
		return web.FailAPI(err)
	}
	ans := staffAnswer{detailAnswer: detail(q, now)}
	if changed {
		m := mailOf(q, email)
		if m.Topic != 0 && email != "" {
			sent, err := d.send(ctx, m, now)
			if err != nil {
				d.log.ErrorContext(ctx, "privacy request mail failed", "request", q.ID, "code", mail.ErrorCode(err))
			}
			ans.Mailed = sent
		}
	}
	d.log.InfoContext(ctx, "privacy request changed by staff", "caller", web.Caller(req), "route", req.RouteKey, "request", q.ID,
		"person", q.PersonID, "status", q.Status, "changed", changed, "mailed", ans.Mailed)
	return web.JSON(http.StatusOK, ans), nil
}

// send mails m unless the person is known not to receive mail (SES
// feedback); a person pledge no longer holds (erased, or never signed up)
// is mailed.
func (d *desk) send(ctx context.Context, m mail.RequestMail, now time.Time) (bool, error) {
	p, err := d.store.Person(ctx, m.PersonID)
	switch {
	case errors.Is(err, people.ErrNotFound):
	case err != nil:
		return false, err
	case !p.Deliverability.Reachable(now):
		d.log.InfoContext(ctx, "privacy request mail skipped: undeliverable", "person", m.PersonID)
		return false, nil
	}
	if err := d.mail.SendRequest(ctx, m); err != nil {
		return false, err
	}
	return true, nil
}

// staffView is what part 2 adds to a request's answer.
type staffView struct {
	VerifiedBy  string         `json:"verifiedBy,omitempty"`
	VerifiedHow string         `json:"verifiedHow,omitempty"`
	Details     string         `json:"details,omitempty"`
	Note        string         `json:"note,omitempty"`
	Extension   *extensionView `json:"extension,omitempty"`
	Systems     []systemView   `json:"systems"`
	WaitingOn   []string       `json:"waitingOn"`
	Notified    time.Time      `json:"notified,omitzero"`
	Erased      time.Time      `json:"erased,omitzero"`
}

type extensionView struct {
	Months      int       `json:"months"`
	Reason      string    `json:"reason"`
	At          time.Time `json:"at"`
	OriginalDue time.Time `json:"originalDue"`
}

type systemView struct {
	Name     string    `json:"name"`
	Answered time.Time `json:"answered,omitzero"`
	Acted    bool      `json:"acted"`
	Reason   string    `json:"reason,omitempty"`
}

func newStaffView(r privacy.Request) staffView {
	s := r.Staff
	v := staffView{VerifiedBy: s.VerifiedBy, VerifiedHow: s.VerifiedHow, Details: s.Details, Note: s.Note, Systems: []systemView{},
		WaitingOn: r.Waiting(), Notified: s.Notified, Erased: s.ErasedAt}
	if v.WaitingOn == nil {
		v.WaitingOn = []string{}
	}
	if s.ExtendedMonths > 0 {
		v.Extension = &extensionView{Months: s.ExtendedMonths, Reason: s.ExtensionReason, At: s.ExtendedAt, OriginalDue: s.OriginalDue}
	}
	for _, a := range s.Systems {
		v.Systems = append(v.Systems, systemView{Name: a.Name, Answered: a.At, Acted: a.Acted, Reason: a.Reason})
	}
	return v
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%.*s…", n, s)
}

// errorCode is what a log may say of an error: the AWS error code, or the
// domain's code, never an SDK error's text (it can carry an address).
func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	if e, ok := people.AsError(err); ok {
		return string(e.Code)
	}
	return "error"
}
