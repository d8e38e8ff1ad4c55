package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smartprotect/pledge/shared/downstream"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/page"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/token"
	"github.com/smartprotect/pledge/shared/web"
)

// requestStore keeps privacy requests (store.Store).
type requestStore interface {
	OpenRequest(ctx context.Context, r privacy.Request) (privacy.Request, bool, error)
	Request(ctx context.Context, id string) (privacy.Request, error)
	UpdateRequest(ctx context.Context, id string, decide privacy.Decide) (privacy.Request, bool, error)
	// PersonRequests is every request the person made, oldest first.
	PersonRequests(ctx context.Context, personID string) ([]privacy.Request, error)
}

// personReader reads the person an address is keyed as.
type personReader interface {
	Person(ctx context.Context, personID string) (people.Person, error)
}

// mailer sends the mails of a request (mail.Sender).
type mailer interface {
	SendRequest(ctx context.Context, m mail.RequestMail) error
}

// admitter holds the public door's limits (people.Limiter).
type admitter interface {
	Admit(ctx context.Context, addr, ip string) (people.Permit, error)
}

// handler serves privacy requests: the form, the verification button, the
// status page (with "cancel" during a deletion's cool-off) and an access
// request's export. GET and HEAD never change anything; the signed token
// in a link is the only credential, each of its own purpose.
type handler struct {
	requests    requestStore
	people      personReader
	mail        mailer
	limits      admitter
	export      Exporter
	correct     corrector        // a correction's changes to the person (correct.go)
	correctMail correctionMailer // a correction's own mails
	keys        *token.Keys
	keyed       func(string) string // people.KeyedID
	timing      privacy.Timing
	base        *url.URL // the base of links in mail; nil: the request's domain
	site        *page.Site
	now         func() time.Time
	newID       func() string
	log         *slog.Logger
	systems     downstream.Publisher // a verified request's event to the downstream systems
}

func (h *handler) handle(ctx context.Context, req web.Request) (web.Response, error) {
	switch req.RouteKey {
	case "GET /privacy":
		return h.form(req), nil
	case "POST /privacy":
		return h.ask(ctx, req)
	case "GET /privacy/sent":
		return h.site.Page(http.StatusOK, "Check your inbox", page.PrivacySentPage()), nil
	case "GET /privacy/verify":
		return h.verifyPage(ctx, req)
	case "POST /privacy/verify":
		return h.verify(ctx, req)
	case "GET /privacy/status":
		return h.status(ctx, req)
	case "POST /privacy/status":
		return h.cancel(ctx, req)
	case "GET /privacy/export":
		return h.exportDoc(ctx, req)
	case "GET /privacy/correct":
		return h.movePage(ctx, req)
	case "POST /privacy/correct":
		return h.move(ctx, req)
	}
	return h.site.Fail(req, people.Errorf(people.NotFound, "", "no route %s", req.RouteKey))
}

// formAnswer is GET /privacy for a script: what it may post.
type formAnswer struct {
	Kinds []privacy.Kind `json:"kinds"`
	Post  string         `json:"post"`
}

func (h *handler) form(req web.Request) web.Response {
	if !web.WantsHTML(req) {
		return web.JSON(http.StatusOK, formAnswer{Kinds: privacy.Kinds, Post: `{"kind": "access"|"delete"|"correct"|"remove-content", "email": "...", "new_name": "... (correct)", "new_email": "... (correct)"}`})
	}
	explain := map[privacy.Kind]string{
		privacy.Access:        "everything we hold about your address, as a page and as a file.",
		privacy.Delete:        fmt.Sprintf("we erase your address and everything tied to it, after %d hours in which you can still cancel.", int(h.timing.CoolOff.Hours())),
		privacy.Correct:       "we change your name, or move everything to a new address once you confirm it from there.",
		privacy.RemoveContent: "we take down your testimonial or forum posts, or tell you why we cannot. Our staff may write to ask which.",
	}
	var choices []page.PrivacyChoice
	for _, k := range privacy.Kinds {
		choices = append(choices, page.PrivacyChoice{Value: string(k), Label: k.Label(), Explain: explain[k]})
	}
	return h.site.Page(http.StatusOK, "Your data", page.PrivacyFormPage(page.PrivacyForm{Company: h.site.Company, Choices: choices, Within: within(h.timing.Deadline)}))
}

// within says a deadline as the form does: whole days ("30 days"), else hours.
func within(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	return fmt.Sprintf("%d hours", int(d.Hours()))
}

// askRequest is the body of POST /privacy, as a form or as JSON.
type askRequest struct {
	Kind  string `json:"kind"`
	Email string `json:"email"`
	Trap  string `json:"extra_comment"` // the honeypot (page.TrapField)
	// What a correction changes (kind correct; ignored for the others).
	NewName  string `json:"new_name"`
	NewEmail string `json:"new_email"`
}

// asked is a POST /privacy as decoded.
type asked struct {
	Kind    privacy.Kind
	Email   string // normalised, valid
	Trapped bool
	// NewName and NewEmail are a correction's, as typed (privacy.NewCorrection reads them).
	NewName, NewEmail string
}

// decodeAsk reads POST /privacy: a kind of the list and a valid address.
// Errors: *people.Error (4xx) only.
func decodeAsk(req web.Request) (asked, error) {
	var in askRequest
	if err := web.Decode(req, &in); err != nil {
		return asked{}, err
	}
	kind, err := privacy.ParseKind(in.Kind)
	if err != nil {
		return asked{}, err
	}
	email := people.NormaliseEmail(in.Email)
	if err := people.ValidateEmail(email); err != nil {
		return asked{}, err
	}
	return asked{Kind: kind, Email: email, Trapped: in.Trap != "", NewName: in.NewName, NewEmail: in.NewEmail}, nil
}

// askAnswer is the JSON answer to a script: the same whether the address
// is known, the request new or open already, or the trap filled.
type askAnswer struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// ask takes a request: within the public door's limits, it opens one (or
// finds the person's open one of that kind) and mails the verification
// link, or the open request's status link, to the address.
func (h *handler) ask(ctx context.Context, req web.Request) (web.Response, error) {
	in, err := decodeAsk(req)
	if err != nil {
		return h.site.Fail(req, err)
	}
	var correction privacy.Correction
	if in.Kind == privacy.Correct {
		if correction, err = privacy.NewCorrection(in.NewName, in.NewEmail, in.Email, h.keyed); err != nil {
			return h.site.Fail(req, err)
		}
	}
	permit, err := h.limits.Admit(ctx, in.Email, web.ClientIP(req))
	if err != nil {
		if e, ok := people.AsError(err); ok && e.Code == people.RateLimited {
			h.log.InfoContext(ctx, "privacy request over a limit", "retry_after_s", int(e.RetryAfter.Seconds()))
		}
		return h.site.Fail(req, err)
	}
	if in.Trapped {
		h.log.InfoContext(ctx, "honeypot filled")
		return asked202(req), nil // counted like a mail, so a bot meets the limits too
	}
	now := h.now().UTC()
	personID := h.keyed(in.Email)
	fresh := h.timing.New(h.newID(), personID, in.Kind, in.Email, now, h.newID())
	fresh.Correction = correction
	r, created, err := h.requests.OpenRequest(ctx, fresh)
	if err == nil && r.Status == privacy.Unverified && !now.Before(r.Expires) {
		// The open request lapsed and the hourly clock has not closed it
		// yet: its link could no longer verify it. It is expired now (the
		// clock's own decision) and a new request takes its place.
		if _, _, err = h.requests.UpdateRequest(ctx, r.ID, func(r privacy.Request) (*privacy.Request, error) {
			q, _ := privacy.Advance(r, now)
			return q, nil
		}); err == nil {
			fresh = h.timing.New(h.newID(), personID, in.Kind, in.Email, now, h.newID())
			fresh.Correction = correction
			r, created, err = h.requests.OpenRequest(ctx, fresh)
		}
	}
	if err != nil {
		return h.site.Fail(req, errors.Join(err, permit.Release(ctx)))
	}
	m := mail.RequestMail{PersonID: personID, To: in.Email, Kind: r.Kind.Label(), Due: r.Due}
	base := web.BaseURL(req, h.base)
	if r.Status == privacy.Unverified {
		// A new request, or one still unverified: its live link again
		// (the same nonce, so either mail's button verifies it once).
		m.Topic, m.Until = mail.RequestVerify, now.Add(h.timing.LinkTTL)
		m.Link = web.TokenURL(base, "/privacy/verify", h.keys.IssueOnce(token.PrivacyVerify, r.ID, r.Nonce, nil, now, h.timing.LinkTTL))
	} else {
		m.Topic, m.StatusLink = mail.RequestStatus, h.statusLink(base, r.ID, now)
		if r.CanCancel(now) {
			m.Until = r.CoolOffEnds
		}
	}
	sent, err := h.send(ctx, m, now)
	if err != nil {
		return h.site.Fail(req, errors.Join(err, permit.Release(ctx)))
	}
	if !sent {
		if err := permit.Release(ctx); err != nil {
			return h.site.Fail(req, err)
		}
	}
	h.log.InfoContext(ctx, "privacy request asked", "person", personID, "request", r.ID, "kind", r.Kind, "new", created, "status", r.Status, "mailed", sent)
	return asked202(req), nil
}

func asked202(req web.Request) web.Response {
	if web.WantsHTML(req) {
		return web.SeeOther("/privacy/sent")
	}
	return web.JSON(http.StatusAccepted, askAnswer{Status: "sent_if_deliverable",
		Message: "If the address can receive mail, a mail with a link to confirm the request (or, if you already asked, to its status) is on its way."})
}

// send mails m unless the person's address is known not to receive mail
// (SES feedback: undeliverable or resting); it reports whether it sent.
func (h *handler) send(ctx context.Context, m mail.RequestMail, now time.Time) (bool, error) {
	p, err := h.person(ctx, m.PersonID)
	if err != nil {
		return false, err
	}
	return h.sendTo(ctx, p, m, now)
}

// sendTo is send to p as already read (nobody: Version 0).
func (h *handler) sendTo(ctx context.Context, p people.Person, m mail.RequestMail, now time.Time) (bool, error) {
	if p.Exists() && !p.Deliverability.Reachable(now) {
		h.log.InfoContext(ctx, "privacy request mail skipped: undeliverable", "person", m.PersonID)
		return false, nil
	}
	if err := h.mail.SendRequest(ctx, m); err != nil {
		return false, err
	}
	return true, nil
}

func (h *handler) statusLink(base, requestID string, now time.Time) string {
	return web.TokenURL(base, "/privacy/status", h.keys.Issue(token.PrivacyStatus, requestID, nil, now, privacy.StatusLinkTTL))
}

func (h *handler) exportLink(base, requestID string, from time.Time) string {
	return web.TokenURL(base, "/privacy/export", h.keys.Issue(token.PrivacyExport, requestID, nil, from, privacy.ExportLinkTTL))
}

// The answers to links that cannot be used.
var (
	errLinkInvalid = people.Errorf(people.Invalid, "t", "This link is not valid. Copy the whole link from the mail, or make the request again.")
	errLinkExpired = people.Errorf(people.Expired, "t", "This link has expired. Make the request again to get a new one.")
	errLinkUsed    = people.Errorf(people.Invalid, "t", "This link is no longer valid: it was used, or the request was replaced. Make the request again.")
)

// claims verifies a link's token for purpose p.
func (h *handler) claims(raw string, p token.Purpose) (token.Claims, error) {
	c, err := h.keys.Verify(raw, p, h.now())
	switch {
	case errors.Is(err, token.ErrExpired):
		return c, errLinkExpired
	case err != nil:
		return c, errLinkInvalid
	}
	return c, nil
}

// request reads the request a verified token names; one we do not hold
// is an invalid link.
func (h *handler) request(ctx context.Context, c token.Claims) (privacy.Request, error) {
	r, err := h.requests.Request(ctx, c.Subject)
	if errors.Is(err, people.ErrNotFound) {
		return r, errLinkInvalid
	}
	return r, err
}

// verifyPage shows the button (GET never verifies: mail scanners open links).
func (h *handler) verifyPage(ctx context.Context, req web.Request) (web.Response, error) {
	raw := web.Query(req, "t")
	c, err := h.claims(raw, token.PrivacyVerify)
	if err != nil {
		return h.site.Fail(req, err)
	}
	r, err := h.request(ctx, c)
	if err != nil {
		return h.site.Fail(req, err)
	}
	if !web.WantsHTML(req) {
		return web.JSON(http.StatusOK, r.Summary()), nil
	}
	return h.site.Page(http.StatusOK, "Confirm your request", page.PrivacyVerifyPage(page.PrivacyVerify{Token: raw, Kind: r.Kind.Label()})), nil
}

type verifyRequest struct {
	Token string `json:"t"`
}

// verify presses the button: the request moves on once (privacy.Verify),
// the mail its new state calls for goes out once, and the status page
// shows where it stands.
func (h *handler) verify(ctx context.Context, req web.Request) (web.Response, error) {
	var in verifyRequest
	if err := web.Decode(req, &in); err != nil {
		return h.site.Fail(req, err)
	}
	c, err := h.claims(in.Token, token.PrivacyVerify)
	if err != nil {
		return h.site.Fail(req, err)
	}
	read, err := h.request(ctx, c)
	if err != nil {
		return h.site.Fail(req, err)
	}
	p, err := h.person(ctx, read.PersonID)
	if err != nil {
		return h.site.Fail(req, err)
	}
	if read.Kind == privacy.Correct {
		return h.verifyCorrection(ctx, req, c, read, p)
	}
	held := p.Exists()
	now := h.now().UTC()
	var outcome privacy.Verification
	var email string
	r, changed, err := h.requests.UpdateRequest(ctx, read.ID, func(r privacy.Request) (*privacy.Request, error) {
		q, v := h.timing.Verify(r, c.Nonce, held, now)
		outcome, email = v, r.Email
		return q, nil
	})
	if err != nil {
		return h.site.Fail(req, err)
	}
	switch outcome {
	case privacy.LinkUsed:
		return h.site.Fail(req, errLinkUsed)
	case privacy.Lapsed:
		return h.site.Fail(req, people.Errorf(people.Expired, "t", "This request lapsed: it was not confirmed within 7 days. Make the request again."))
	}
	base := web.BaseURL(req, h.base)
	note := ""
	if changed && outcome == privacy.JustVerified {
		m := mail.RequestMail{PersonID: r.PersonID, To: email, Kind: r.Kind.Label(), Due: r.Due, StatusLink: h.statusLink(base, r.ID, now)}
		switch {
		case r.Status == privacy.Refused:
			m.Topic = mail.RequestNoData
		case r.Kind == privacy.Access:
			m.Topic, m.Link, m.Until = mail.RequestExport, h.exportLink(base, r.ID, now), now.Add(privacy.ExportLinkTTL)
		default:
			m.Topic, m.Until = mail.RequestStatus, r.CoolOffEnds
		}
		sent, err := h.sendTo(ctx, p, m, now)
		if err != nil {
			// The request moved on; only its mail failed: the page below
			// says where it stands, and Lambda reports the failure.
			h.log.ErrorContext(ctx, "privacy request mail failed", "person", r.PersonID, "request", r.ID, "code", mail.ErrorCode(err))
		}
		if q, err := downstream.Notify(ctx, h.requests, h.systems, r, now); err != nil {
			// The clock publishes it on its next run.
			h.log.ErrorContext(ctx, "privacy request: downstream event failed", "request", r.ID, "code", mail.ErrorCode(err))
		} else {
			r = q
		}
		h.log.InfoContext(ctx, "privacy request verified", "person", r.PersonID, "request", r.ID, "kind", r.Kind, "status", r.Status, "mailed", sent)
		note = "Thank you: your request is confirmed."
	}
	return h.show(req, r, http.StatusOK, note), nil
}

// person reads the person keyed personID; nobody (Version 0) when pledge
// holds no profile for the address.
func (h *handler) person(ctx context.Context, personID string) (people.Person, error) {
	p, err := h.people.Person(ctx, personID)
	if errors.Is(err, people.ErrNotFound) {
		return people.Person{ID: personID}, nil
	}
	return p, err
}

// status shows where a request stands.
func (h *handler) status(ctx context.Context, req web.Request) (web.Response, error) {
	c, err := h.claims(web.Query(req, "t"), token.PrivacyStatus)
	if err != nil {
		return h.site.Fail(req, err)
	}
	r, err := h.request(ctx, c)
	if err != nil {
		return h.site.Fail(req, err)
	}
	return h.show(req, r, http.StatusOK, ""), nil
}

type statusRequest struct {
	Action string `json:"action"`
}

// cancel cancels a deletion in its cool-off (POST /privacy/status?t=,
// action=cancel); a second press changes nothing.
func (h *handler) cancel(ctx context.Context, req web.Request) (web.Response, error) {
	c, err := h.claims(web.Query(req, "t"), token.PrivacyStatus)
	if err != nil {
		return h.site.Fail(req, err)
	}
	var in statusRequest
	if err := web.Decode(req, &in); err != nil {
		return h.site.Fail(req, err)
	}
	if in.Action != "cancel" {
		return h.site.Fail(req, people.Errorf(people.Invalid, "action", "the only action here is cancel"))
	}
	now := h.now().UTC()
	r, changed, err := h.requests.UpdateRequest(ctx, c.Subject, func(r privacy.Request) (*privacy.Request, error) { return privacy.Cancel(r, now) })
	if errors.Is(err, people.ErrNotFound) {
		return h.site.Fail(req, errLinkInvalid)
	}
	if err != nil {
		return h.site.Fail(req, err)
	}
	h.log.InfoContext(ctx, "privacy request cancelled", "person", r.PersonID, "request", r.ID, "changed", changed)
	return h.show(req, r, http.StatusOK, "Your request is cancelled. Nothing was deleted."), nil
}

// statusAnswer is the status page as JSON.
type statusAnswer struct {
	privacy.Summary
	Next      string `json:"next"`
	CanCancel bool   `json:"can_cancel"`
}

// show renders the status page of r, or its summary as JSON for a script.
func (h *handler) show(req web.Request, r privacy.Request, status int, note string) web.Response {
	now := h.now()
	next := nextStep(r, now)
	if !web.WantsHTML(req) {
		return web.JSON(status, statusAnswer{Summary: r.Summary(), Next: next, CanCancel: r.CanCancel(now)})
	}
	s := page.PrivacyStatus{Kind: r.Kind.Label(), Status: statusWords[r.Status], Received: mail.Date(r.Received), Due: mail.Date(r.Due), Next: next, Note: note}
	if r.CanCancel(now) {
		s.CancelAction = web.TokenURL("", "/privacy/status", h.keys.Issue(token.PrivacyStatus, r.ID, nil, now, privacy.StatusLinkTTL))
	}
	if r.Kind == privacy.Access && r.Status == privacy.Completed && now.Before(r.ClosedAt.Add(privacy.ExportLinkTTL)) {
		s.ExportLink = h.exportLink("", r.ID, r.ClosedAt)
	}
	if r.Status == privacy.Refused && r.Reason != "" {
		s.Status += ": " + reasonInWords(r.Reason)
	}
	return h.site.Page(status, "Your privacy request", page.PrivacyStatusPage(s))
}

var statusWords = map[privacy.Status]string{
	privacy.Unverified: "waiting for your confirmation", privacy.Verified: "confirmed", privacy.InProgress: "in progress",
	privacy.Completed: "completed", privacy.Refused: "refused", privacy.Expired: "expired", privacy.Cancelled: "cancelled",
}

// reasonInWords is why a request was refused, as the status page says it.
func reasonInWords(r privacy.Reason) string {
	switch r {
	case privacy.NoData:
		return "we hold no data about this address"
	case privacy.IdentityNotVerified:
		return "we could not verify that the address is yours"
	case privacy.LegalHold:
		return "the law requires us to keep the data"
	case privacy.TooManyRequests:
		return "too many requests"
	}
	return strings.ReplaceAll(string(r), "-", " ")
}

// nextStep says what happens next with r, as of now.
func nextStep(r privacy.Request, now time.Time) string {
	if next := correctionStep(r); r.Kind == privacy.Correct && next != "" {
		return next
	}
	if r.Kind != privacy.Delete && r.Kind != privacy.Correct && (r.Status == privacy.Verified || r.Status == privacy.InProgress) {
		return "Our staff will carry out your request, or tell you why they cannot, by " + mail.Date(r.Due) + "."
	}
	switch r.Status {
	case privacy.Unverified:
		return "Press the button in the mail we sent to confirm this request. Unconfirmed requests lapse on " + mail.Date(r.Expires) + "."
	case privacy.Verified:
		if r.CanCancel(now) {
			return "We will delete your data on " + mail.Date(r.CoolOffEnds) + ". Until then you can cancel below."
		}
		return "We are about to delete your data. You will get a last mail when it is done."
	case privacy.InProgress:
		return "We are deleting your data now. You will get a last mail when it is done."
	case privacy.Completed:
		if r.Kind == privacy.Access {
			if now.Before(r.ClosedAt.Add(privacy.ExportLinkTTL)) {
				return "Your data is ready until " + mail.Date(r.ClosedAt.Add(privacy.ExportLinkTTL)) + ". Nothing else happens."
			}
			return "The link to your data has expired. Make a new request for a fresh copy."
		}
		if r.Kind == privacy.RemoveContent {
			return "Your testimonial or forum posts were taken down on " + mail.Date(r.ClosedAt) + "."
		}
		return "Your data was deleted on " + mail.Date(r.ClosedAt) + ". We keep only a record that we did so, without your address, and the proof of consents for the period the law requires."
	case privacy.Refused:
		if r.Reason == privacy.NoData {
			return "We hold no personal data about this address, so there was nothing to send or delete."
		}
		if words := r.RefusalWords(); words != "" && r.Reason != privacy.Other {
			return "We could not carry out this request. " + words + " Write to us if you want to know more."
		}
		return "We could not carry out this request. Write to us if you want to know more."
	case privacy.Expired:
		return "This request lapsed because it was not confirmed within 7 days. You can make it again."
	case privacy.Cancelled:
		return "You cancelled this request. Nothing was deleted."
	}
	return ""
}

// exportDoc serves an access request's export: JSON to a script, the page
// to a browser. The link works for ExportLinkTTL, for this purpose only.
func (h *handler) exportDoc(ctx context.Context, req web.Request) (web.Response, error) {
	c, err := h.claims(web.Query(req, "t"), token.PrivacyExport)
	if err != nil {
		return h.site.Fail(req, err)
	}
	r, err := h.request(ctx, c)
	if err != nil {
		return h.site.Fail(req, err)
	}
	if r.Kind != privacy.Access || r.Status != privacy.Completed {
		return h.site.Fail(req, errLinkInvalid)
	}
	theirs, err := h.requests.PersonRequests(ctx, r.PersonID)
	if err != nil {
		return h.site.Fail(req, err)
	}
	summaries := make([]privacy.Summary, 0, len(theirs))
	for _, q := range theirs {
		summaries = append(summaries, q.Summary())
	}
	doc, html, err := h.export.Export(ctx, r.PersonID, summaries)
	if errors.Is(err, people.ErrNotFound) {
		return h.site.Fail(req, people.Errorf(people.NotFound, "", "We no longer hold any data about this address."))
	}
	if err != nil {
		return h.site.Fail(req, err)
	}
	h.log.InfoContext(ctx, "privacy export served", "person", r.PersonID, "request", r.ID, "bytes", len(doc))
	if web.WantsHTML(req) {
		return h.site.Page(http.StatusOK, "Your data", html), nil
	}
	return web.Response{StatusCode: http.StatusOK, Body: string(doc), Headers: map[string]string{
		"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
		"Content-Disposition": `attachment; filename="my-data.json"`,
	}}, nil
}
