package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/smartprotect/pledge/shared/link"
	"github.com/smartprotect/pledge/shared/page"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
	"github.com/smartprotect/pledge/shared/web"
)

// confirmer is the part of the domain service the handler uses.
type confirmer interface {
	Confirm(ctx context.Context, personID, nonce string, c people.Context) (people.ConfirmOutcome, error)
}

// personReader reads the person a link names, for the confirm page.
type personReader interface {
	Person(ctx context.Context, personID string) (people.Person, error)
}

// handler shows the confirm page (GET changes nothing: mail scanners
// prefetch links) and activates the purposes when the button is pressed.
type handler struct {
	svc    confirmer
	people personReader
	keys   *token.Keys
	prefs  link.Minter // the preferences link the confirmed page offers, on the page's own domain
	site   *page.Site
	now    func() time.Time
	log    *slog.Logger
}

type confirmRequest struct {
	Token string `json:"t"`
}

func (h *handler) handle(ctx context.Context, req web.Request) (web.Response, error) {
	switch req.RouteKey {
	case "GET /confirm":
		return h.page(ctx, req)
	case "POST /confirm":
		return h.confirm(ctx, req)
	}
	return h.site.Fail(req, people.Errorf(people.NotFound, "", "no route %s", req.RouteKey))
}

// verify checks a confirm token and returns its claims and the purposes it
// names (none for a link that confirms a name alone; such a link has a nonce).
func (h *handler) verify(raw string) (token.Claims, []people.Purpose, error) {
	c, err := h.keys.Verify(raw, token.Confirm, h.now())
	switch {
	case errors.Is(err, token.ErrExpired):
		return c, nil, people.Errorf(people.Expired, "t", "This confirmation link has expired. Sign up again with the same address to get a new one.")
	case err != nil:
		return c, nil, people.Errorf(people.Invalid, "t", "This confirmation link is not valid. Copy the whole link from the mail, or sign up again to get a new one.")
	}
	purposes, err := people.ParsePurposes(c.Scope)
	if err != nil || (len(purposes) == 0 && c.Nonce == "") {
		return c, nil, people.Errorf(people.Invalid, "t", "This confirmation link names nothing to confirm.")
	}
	return c, purposes, nil
}

// page shows what the button confirms, the name the sign-up gave included:
// the name never goes into mail (a stranger may have typed it), so this
// page, which only the mailbox's owner can open, is where they see it
// before it is used to greet them.
func (h *handler) page(ctx context.Context, req web.Request) (web.Response, error) {
	raw := web.Query(req, "t")
	claims, purposes, err := h.verify(raw)
	if err != nil {
		return h.site.Fail(req, err)
	}
	form := page.ConfirmForm{Token: raw, Purposes: purposes}
	if claims.Nonce != "" {
		p, err := h.people.Person(ctx, claims.Subject)
		switch {
		case errors.Is(err, people.ErrNotFound):
		case err != nil:
			return h.site.Fail(req, err)
		default:
			if l, live := p.Link(claims.Nonce); live {
				form.Name = l.Name
			}
		}
	}
	return h.site.Page(http.StatusOK, "Confirm your sign-up", page.ConfirmPage(form)), nil
}

type confirmAnswer struct {
	Status string `json:"status"`
}

func (h *handler) confirm(ctx context.Context, req web.Request) (web.Response, error) {
	var in confirmRequest
	if err := web.Decode(req, &in); err != nil {
		return h.site.Fail(req, err)
	}
	claims, _, err := h.verify(in.Token)
	if err != nil {
		return h.site.Fail(req, err)
	}
	personID := claims.Subject
	outcome, err := h.svc.Confirm(ctx, personID, claims.Nonce, people.Context{
		Source: "confirm-link", IP: web.ClientIP(req), UserAgent: web.UserAgent(req),
	})
	if errors.Is(err, people.ErrNotFound) {
		// The person was erased since the mail was sent: the link is void.
		return h.site.Fail(req, people.Errorf(people.Invalid, "t", "This confirmation link is no longer valid. Sign up again to get a new one."))
	}
	if err != nil {
		return h.site.Fail(req, err)
	}
	h.log.InfoContext(ctx, "confirm", "person", personID, "outcome", outcome)
	heading, message, status := "You are signed up", "Thank you. What you confirmed starts now, and every mail we send has a link to stop it.", "confirmed"
	switch outcome {
	case people.AlreadyConfirmed:
		heading, message, status = "Already confirmed", "You had already confirmed this. Nothing has changed.", "already_confirmed"
	case people.NothingPending:
		heading, message, status = "Nothing to confirm", "There is nothing waiting for confirmation under this link. Sign up again if you want to receive mail from us.", "nothing_pending"
	case people.AlreadyUsed:
		heading, message, status = "This link was already used", "This link was used before, or a newer mail replaced it. Nothing has changed. Sign up again, or use the link in the newest mail, if you want to receive mail from us.", "already_used"
	}
	if !web.WantsHTML(req) {
		return web.JSON(http.StatusOK, confirmAnswer{status}), nil
	}
	// Whatever the outcome, the link's holder owns the mailbox: the page
	// leads on to their preferences and to signing up for more.
	return h.site.Page(http.StatusOK, heading, page.OutcomePage(page.Outcome{Heading: heading, Message: message,
		Preferences: h.prefs.PreferencesLink(personID, h.now()), SignUp: true})), nil
}
