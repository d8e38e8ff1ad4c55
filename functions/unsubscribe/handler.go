package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
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
	SetPreferences(ctx context.Context, personID string, want []people.Purpose, c people.Context) (bool, error)
}

// personReader reads a person for the preferences page.
type personReader interface {
	Person(ctx context.Context, personID string) (people.Person, error)
}

// handler serves the link in every marketing mail: the RFC 8058 one-click
// POST, and for a browser a preferences page (GET never changes anything).
// The signed token in the URL is the only credential: no cookie, no session.
type handler struct {
	subs   subscriptions
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
	switch req.RouteKey {
	case "GET /unsubscribe":
		return h.preferences(ctx, req, "")
	case "POST /unsubscribe":
		return h.post(ctx, req)
	}
	return h.site.Fail(req, people.Errorf(people.NotFound, "", "no route %s", req.RouteKey))
}

// readUnsubscribe reads what a POST to an unsubscribe link asks. Mail
// clients send RFC 8058's "List-Unsubscribe=One-Click" in every shape: as
// a form, as multipart, with stray white space, with another content type,
// or an empty body with none. A body that cannot be read as the preferences
// form is therefore a one-click (the zero request): only the form's own
// fields (action, purposes), or a List-Unsubscribe field with another
// value, make it something else.
func readUnsubscribe(req web.Request) unsubscribeRequest {
	var in unsubscribeRequest
	if web.Decode(req, &in) != nil {
		return unsubscribeRequest{}
	}
	return in
}

// isOneClick reports whether a List-Unsubscribe field says "One-Click",
// whatever white space or case a client added.
func isOneClick(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "One-Click") }

// verify returns the person an unsubscribe token names.
func (h *handler) verify(raw string) (string, error) {
	c, err := h.keys.Verify(raw, token.Unsubscribe, h.now())
	switch {
	case errors.Is(err, token.ErrExpired):
		return "", people.Errorf(people.Expired, "t", "This unsubscribe link has expired. Use the link in a newer mail, or write to us and we will stop at once.")
	case err != nil:
		return "", people.Errorf(people.Invalid, "t", "This unsubscribe link is not valid. Copy the whole link from the mail, or use the link in another mail from us.")
	}
	return c.Subject, nil
}

func (h *handler) post(ctx context.Context, req web.Request) (web.Response, error) {
	personID, err := h.verify(web.Query(req, "t"))
	if err != nil {
		return h.site.Fail(req, err)
	}
	in := readUnsubscribe(req)
	c := people.Context{IP: web.ClientIP(req), UserAgent: web.UserAgent(req)}
	switch {
	case in.OneClick != "" && !isOneClick(in.OneClick):
		return h.site.Fail(req, people.Errorf(people.Invalid, "List-Unsubscribe", `a one-click unsubscribe sends "List-Unsubscribe=One-Click"`))
	case in.Action == "" && len(in.Purposes) == 0:
		// RFC 8058: honour at once, answer without a redirect.
		c.Source = sourceOneClick
		changed, err := h.subs.StopMarketing(ctx, personID, c)
		if err != nil {
			return h.site.Fail(req, err)
		}
		h.log.InfoContext(ctx, "one-click unsubscribe", "person", personID, "changed", changed)
		return h.done(req), nil
	case in.Action == "stop":
		c.Source = sourcePreferences
		changed, err := h.subs.StopMarketing(ctx, personID, c)
		if err != nil {
			return h.site.Fail(req, err)
		}
		h.log.InfoContext(ctx, "stop all marketing", "person", personID, "changed", changed)
		return h.afterForm(ctx, req, personID, "You will receive no more marketing mail from us.")
	case in.Action == "save":
		want, err := people.ParsePurposes(in.Purposes)
		if err != nil {
			return h.site.Fail(req, err)
		}
		c.Source = sourcePreferences
		changed, err := h.subs.SetPreferences(ctx, personID, want, c)
		if errors.Is(err, people.ErrNotFound) {
			return h.done(req), nil // erased: nothing is kept, nothing will be sent
		}
		if err != nil {
			return h.site.Fail(req, err)
		}
		h.log.InfoContext(ctx, "preferences saved", "person", personID, "changed", changed)
		return h.afterForm(ctx, req, personID, "Your preferences are saved.")
	}
	return h.site.Fail(req, people.Errorf(people.Invalid, "action", `send "List-Unsubscribe=One-Click", or action "save" or "stop"`))
}

// afterForm answers a preferences form: a browser sees the page again with
// a note; a script gets the saved state.
func (h *handler) afterForm(ctx context.Context, req web.Request, personID, note string) (web.Response, error) {
	p, err := h.people.Person(ctx, personID)
	if errors.Is(err, people.ErrNotFound) {
		return h.done(req), nil
	}
	if err != nil {
		return h.site.Fail(req, err)
	}
	return h.show(req, p, note), nil
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
	return h.site.Page(http.StatusOK, "Unsubscribed", page.UnsubscribedPage(h.site.Company))
}

func (h *handler) preferences(ctx context.Context, req web.Request, note string) (web.Response, error) {
	personID, err := h.verify(web.Query(req, "t"))
	if err != nil {
		return h.site.Fail(req, err)
	}
	return h.afterForm(ctx, req, personID, note)
}

// show renders the preferences page, or the state as JSON for a script.
func (h *handler) show(req web.Request, p people.Person, note string) web.Response {
	if !web.WantsHTML(req) {
		return web.JSON(http.StatusOK, stateAnswer{Status: string(p.Status), Email: people.MaskEmail(p.Email), Active: names(p.Active), Pending: names(p.Pending)})
	}
	rows := make([]page.PurposeState, 0, len(people.Purposes))
	for _, q := range people.Purposes {
		rows = append(rows, page.PurposeState{Purpose: q, On: p.Has(q), Pending: slices.Contains(p.Pending, q)})
	}
	return h.site.Page(http.StatusOK, "Your email preferences", page.PreferencesPage(page.Preferences{
		MaskedEmail: people.MaskEmail(p.Email), Action: web.TokenURL("", "/unsubscribe", web.Query(req, "t")), Note: note,
		Purposes: rows,
	}))
}

func names(ps []people.Purpose) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, string(p))
	}
	return out
}
