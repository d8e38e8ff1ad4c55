package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/smartprotect/pledge/shared/page"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
	"github.com/smartprotect/pledge/shared/web"
)

// subscriptions is the part of the domain the handler uses.
type subscriptions interface {
	StopMarketing(ctx context.Context, personID string, c people.Context) (bool, error)
	SetPreferences(ctx context.Context, personID string, want []people.Purpose, c people.Context) (people.PreferencesResult, error)
	Withdraw(ctx context.Context, personID string, keep []people.Purpose, c people.Context) (people.PreferencesResult, error)
	SendPreferencesLink(ctx context.Context, typed string, c people.Context) error
}

// personReader reads a person for the preferences page.
type personReader interface {
	Person(ctx context.Context, personID string) (people.Person, error)
}

// handler serves the link in every marketing mail: the RFC 8058 one-click
// POST, and for a browser a preferences page (GET never changes anything).
// The signed token in the URL is the only credential: no cookie, no session.
// A link withdraws anything forever, even once expired; only a live one
// may ask for a grant, which a mailed confirm link then starts. An expired
// or unknown link shows where to ask for a fresh one by mail.
type handler struct {
	// subs is the domain, minting the links it mails under base (the
	// request's own domain when no public base URL is configured).
	subs   func(base string) subscriptions
	base   *url.URL
	people personReader
	keys   *token.Keys
	site   *page.Site
	now    func() time.Time
	log    *slog.Logger
}

// unsubscribeRequest is the body of POST /unsubscribe: either RFC 8058's
// "List-Unsubscribe=One-Click" from a mail client, or the preferences form.
type unsubscribeRequest struct {
	OneClick string   `json:"List-Unsubscribe"`
	Action   string   `json:"action"` // "save" or "stop"
	Purposes []string `json:"purposes"`
}

const (
	sourceOneClick    = "one-click"
	sourcePreferences = "preferences"
)

func (h *handler) handle(ctx context.Context, req web.Request) (web.Response, error) {
	// The person a token names may have moved to the key of a corrected
	// address since the mail went out: the store follows the pointer the
	// move left (people.FollowMoves). The link request keys by an address
	// and does not.
	switch req.RouteKey {
	case "GET /unsubscribe":
		return h.preferences(people.FollowMoves(ctx), req, "")
	case "POST /unsubscribe":
		return h.post(people.FollowMoves(ctx), req)
	case "GET /unsubscribe/link":
		return h.site.Page(http.StatusOK, "A new link to your preferences", page.NewLinkPage(page.NewLink{})), nil
	case "POST /unsubscribe/link":
		return h.sendLink(ctx, req)
	}
	return h.site.Fail(req, people.Errorf(people.NotFound, "", "no route %s", req.RouteKey))
}

// readUnsubscribe reads what a POST to an unsubscribe link asks. Mail
// clients send RFC 8058's "List-Unsubscribe=One-Click" in every shape: as
// a form, as multipart, with stray white space, with another content type,
// or an empty body with none. A body that cannot be read as the preferences
// form is therefore a one-click (the zero request): only the form's action
// ("save" or "stop") makes it something else.
func readUnsubscribe(req web.Request) unsubscribeRequest {
	var in unsubscribeRequest
	if web.Decode(req, &in) != nil {
		return unsubscribeRequest{}
	}
	return in
}

// The answers to a link that cannot be used as it is.
var (
	errLinkExpired = people.Errorf(people.Expired, "t", "This link to your preferences has expired. It can still stop all marketing; to change anything else, ask for a new link by mail.")
	errLinkInvalid = people.Errorf(people.Invalid, "t", "This link to your preferences is not valid. Copy the whole link from the mail, or ask for a new link by mail.")
)

// verify returns the person an unsubscribe token names, and whether the
// token is live: an expired one (signed with a key we hold) still names
// its person, who may withdraw but not grant. A token we cannot verify
// answers errLinkInvalid.
func (h *handler) verify(raw string) (personID string, live bool, err error) {
	c, err := h.keys.Verify(raw, token.Unsubscribe, h.now())
	switch {
	case errors.Is(err, token.ErrExpired) && c.Subject != "":
		return c.Subject, false, nil
	case err != nil:
		return "", false, errLinkInvalid
	}
	return c.Subject, true, nil
}

func (h *handler) post(ctx context.Context, req web.Request) (web.Response, error) {
	personID, live, err := h.verify(web.Query(req, "t"))
	if err != nil {
		return h.site.Fail(req, err)
	}
	subs := h.subs(web.BaseURL(req, h.base))
	in := readUnsubscribe(req)
	c := people.Context{IP: web.ClientIP(req), UserAgent: web.UserAgent(req)}
	switch in.Action {
	default:
		// RFC 8058 one-click, in whatever shape the client sent it: any POST
		// to the link that is not the preferences form ("save" or "stop").
		c.Source = sourceOneClick
		changed, err := subs.StopMarketing(ctx, personID, c)
		if err != nil {
			return h.site.Fail(req, err)
		}
		h.log.InfoContext(ctx, "one-click unsubscribe", "person", personID, "changed", changed)
		return h.done(req), nil
	case "stop":
		c.Source = sourcePreferences
		changed, err := subs.StopMarketing(ctx, personID, c)
		if err != nil {
			return h.site.Fail(req, err)
		}
		h.log.InfoContext(ctx, "stop all marketing", "person", personID, "changed", changed)
		if web.WantsHTML(req) {
			return h.saved(req, doneStop), nil
		}
		return h.afterForm(ctx, req, personID, live, http.StatusOK, "")
	case "save":
		want, err := people.ParsePurposes(in.Purposes)
		if err != nil {
			return h.site.Fail(req, err)
		}
		c.Source = sourcePreferences
		save := subs.SetPreferences
		if !live {
			save = subs.Withdraw // an expired link withdraws, never grants
		}
		res, err := save(ctx, personID, want, c)
		if errors.Is(err, people.ErrNotFound) {
			return h.done(req), nil // erased: nothing is kept, nothing will be sent
		}
		if err != nil {
			return h.site.Fail(req, err)
		}
		h.log.InfoContext(ctx, "preferences saved", "person", personID, "changed", res.Changed, "waiting", res.Waiting, "mailed", res.Mailed, "limited", res.Limited, "unreachable", res.Unreachable)
		if res.Limited {
			// As any answer over a limit: 429 with Retry-After, the error
			// body for a script, the page (with what was saved) for a browser.
			limited := people.Errorf(people.RateLimited, "", "%s", limitedNote)
			limited.RetryAfter = res.RetryAfter
			if !web.WantsHTML(req) {
				return web.FailAPI(limited)
			}
			resp, err := h.afterForm(ctx, req, personID, live, http.StatusTooManyRequests, limitedNote)
			return web.WithRetryAfter(resp, limited), err
		}
		done, note := doneSaved, ""
		if res.Unreachable {
			done, note = doneUnreachable, unreachableNote
		}
		if web.WantsHTML(req) {
			return h.saved(req, done), nil
		}
		return h.afterForm(ctx, req, personID, live, http.StatusOK, note)
	}
}

// limitedNote is what the page says when the limits refused the
// confirmation mail a grant needed.
const limitedNote = "We could not send a confirmation mail just now, because we have recently sent this address as many mails as we allow. Nothing new was started; anything you turned off is off. Please try again later."

// What a browser's form did, carried in the query of the page it is sent
// on to (done=...), so that reloading that page changes nothing.
const (
	doneSaved       = "saved"
	doneStop        = "stop"
	doneUnreachable = "unreachable" // saved, but a grant's confirmation mail was not sent
)

// unreachableNote is what the page says when a save would have needed a
// confirmation mail to an address our mail does not reach (issue 12: no
// mail of any kind to an undeliverable person).
const unreachableNote = "Your choices are saved, but nothing new was started: our mail does not reach this address, so no confirmation mail was sent. Anything you turned off is off."

// saved sends a browser on from a form to the page of its link with what
// the form did (POST-redirect-GET): a reload shows the page again rather
// than asking to post the form twice.
func (h *handler) saved(req web.Request, done string) web.Response {
	return web.SeeOther(web.TokenURL("", "/unsubscribe", web.Query(req, "t")) + "&done=" + done)
}

// doneNote says what the form behind done did, from the person's state
// now: what they receive, what waits for the button in a mail, whether we
// may publish a testimonial, and that an old link only turns things off.
// "" for no form. done comes from the query, which anyone holding the link
// can write: a claim it makes ("unsubscribed", "our mail does not reach
// this address") is said only when the state at now bears it out;
// otherwise the page says what is saved.
func doneNote(done string, p people.Person, live bool, now time.Time) string {
	switch done {
	case doneStop:
		if !slices.ContainsFunc(p.Active, people.Purpose.Marketing) {
			return "You are unsubscribed from all marketing mail: the newsletter, product offers and survey invitations are off."
		}
	case doneUnreachable:
		if !p.Deliverability.Reachable(now) {
			return unreachableNote
		}
	case doneSaved:
	default:
		return ""
	}
	var on, waiting []string
	for _, q := range people.Purposes {
		switch {
		case p.Has(q) && q.Marketing():
			on = append(on, q.Label())
		case !p.Has(q) && slices.Contains(p.Pending, q):
			waiting = append(waiting, q.Label())
		}
	}
	note := "Your choices are saved. You now receive no marketing mail."
	if len(on) > 0 {
		note = "Your choices are saved. You now receive: " + strings.Join(on, ", ") + "."
	}
	if len(waiting) > 0 {
		note += " " + strings.Join(waiting, ", ") + " will start when you press the button in the confirmation mail we sent to this address."
	}
	switch {
	case p.Has(people.Testimonials):
		note += " We may publish a testimonial you give us, with your name."
	case !slices.Contains(p.Pending, people.Testimonials):
		note += " We will not publish a testimonial of yours."
	}
	if !live {
		note += " This link is old: it can only turn things off. Ask for a new link to turn something on."
	}
	return note
}

// afterForm answers a preferences form: a browser sees the page again with
// a note; a script gets the saved state.
func (h *handler) afterForm(ctx context.Context, req web.Request, personID string, live bool, status int, note string) (web.Response, error) {
	p, err := h.people.Person(ctx, personID)
	if errors.Is(err, people.ErrNotFound) {
		return h.done(req), nil
	}
	if err != nil {
		return h.site.Fail(req, err)
	}
	if note == "" {
		note = doneNote(web.Query(req, "done"), p, live, h.now())
	}
	if !live && web.WantsHTML(req) {
		return h.expired(req, note), nil
	}
	return h.show(req, p, status, note), nil
}

// stateAnswer is a person's preferences as JSON.
type stateAnswer struct {
	Status  string   `json:"status"`
	Email   string   `json:"email"` // masked
	Active  []string `json:"active"`
	Pending []string `json:"pending"`
}

// doneAnswer is the answer to a one-click unsubscribe, and for a person we
// no longer hold (erased): as if unsubscribed.
type doneAnswer struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func (h *handler) done(req web.Request) web.Response {
	if !web.WantsHTML(req) {
		return web.JSON(http.StatusOK, doneAnswer{"unsubscribed",
			"You will receive no more marketing mail from us. Notices we must send by law, such as policy changes, still reach you."})
	}
	return h.site.Page(http.StatusOK, "Unsubscribed", page.UnsubscribedPage(page.Unsubscribed{
		Company: h.site.Company, Preferences: web.TokenURL("", "/unsubscribe", web.Query(req, "t")),
	}))
}

func (h *handler) preferences(ctx context.Context, req web.Request, note string) (web.Response, error) {
	personID, live, err := h.verify(web.Query(req, "t"))
	switch {
	case err != nil && web.WantsHTML(req):
		return h.site.Page(http.StatusBadRequest, "This link does not work", page.NewLinkPage(page.NewLink{Reason: errLinkInvalid.Message})), nil
	case err != nil:
		return h.site.Fail(req, err)
	case !live && !web.WantsHTML(req):
		return h.site.Fail(req, errLinkExpired)
	}
	return h.afterForm(ctx, req, personID, live, http.StatusOK, note)
}

// expired is the page an expired link shows: it can stop all marketing
// (withdrawing works forever) and offers a fresh link by mail.
func (h *handler) expired(req web.Request, note string) web.Response {
	return h.site.Page(http.StatusGone, "This link has expired", page.NewLinkPage(page.NewLink{
		Reason: errLinkExpired.Message, Note: note, StopAction: web.TokenURL("", "/unsubscribe", web.Query(req, "t")),
	}))
}

// requestsPage is where a person asks for a copy of their data or its
// deletion (the privacy requests' pages).
const requestsPage = "/privacy"

// linkRequest is the body of POST /unsubscribe/link.
type linkRequest struct {
	Email string `json:"email"`
}

// linkAnswer is the JSON answer to a script: the same whether we hold the
// address or not.
type linkAnswer struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// sendLink mails a fresh preferences link to the address typed, if we
// hold it, within the mail limits.
func (h *handler) sendLink(ctx context.Context, req web.Request) (web.Response, error) {
	var in linkRequest
	if err := web.Decode(req, &in); err != nil {
		return h.site.Fail(req, err)
	}
	c := people.Context{Source: sourcePreferences, IP: web.ClientIP(req), UserAgent: web.UserAgent(req)}
	if err := h.subs(web.BaseURL(req, h.base)).SendPreferencesLink(ctx, in.Email, c); err != nil {
		return h.site.Fail(req, err)
	}
	h.log.InfoContext(ctx, "preferences link asked for")
	const message = "If we hold this address, a mail with a new link to its preferences is on its way."
	if !web.WantsHTML(req) {
		return web.JSON(http.StatusAccepted, linkAnswer{"sent_if_known", message}), nil
	}
	return h.site.Page(http.StatusOK, "Check your inbox", page.OutcomePage(page.Outcome{Heading: "Check your inbox", Message: message, SignUp: true})), nil
}

// show renders the preferences page, or the state as JSON for a script.
func (h *handler) show(req web.Request, p people.Person, status int, note string) web.Response {
	if !web.WantsHTML(req) {
		return web.JSON(status, stateAnswer{Status: string(p.Status), Email: people.MaskEmail(p.Email), Active: names(p.Active), Pending: names(p.Pending)})
	}
	rows := make([]page.PurposeState, 0, len(people.Purposes))
	for _, q := range people.Purposes {
		rows = append(rows, page.PurposeState{Purpose: q, On: p.Has(q), Pending: slices.Contains(p.Pending, q)})
	}
	return h.site.Page(status, "Your email preferences", page.PreferencesPage(page.Preferences{
		MaskedEmail: people.MaskEmail(p.Email), Action: web.TokenURL("", "/unsubscribe", web.Query(req, "t")), Note: note,
		Purposes: rows, Unreachable: !p.Deliverability.Reachable(h.now()), Requests: requestsPage,
	}))
}

func names(ps []people.Purpose) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, string(p))
	}
	return out
}
