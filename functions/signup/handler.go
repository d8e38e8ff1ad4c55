package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/link"
	"github.com/smartprotect/pledge/shared/page"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
	"github.com/smartprotect/pledge/shared/web"
)

// handler serves the sign-up form and takes sign-ups.
type handler struct {
	svc    people.Service // copied per request with the request's link base
	site   *page.Site
	policy config.PolicyInForce
	keys   *token.Keys // signs confirm links
	base   *url.URL    // the base of links in mail; nil: the request's domain
	log    *slog.Logger
}

// signupRequest is the body of POST /signup, as a form or as JSON.
type signupRequest struct {
	Email         string   `json:"email"`
	Name          string   `json:"name"`
	Purposes      []string `json:"purposes"`
	PolicyVersion string   `json:"policy_version"`
	FormID        string   `json:"form_id"`
	// Trap is the honeypot (page.TrapField): hidden from people and from
	// autofill, filled in by bots. Website is the name it had before, kept
	// as a second trap for bots that learnt it.
	Trap    string `json:"extra_comment"`
	Website string `json:"website"`
}

// signupAccepted is the JSON answer to a script. It is the same whether the
// address was new, known, or mailed recently, so it reveals nothing.
type signupAccepted struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

const formID = "signup-form"

func (h *handler) handle(ctx context.Context, req web.Request) (web.Response, error) {
	switch req.RouteKey {
	case "GET /signup":
		return h.form(), nil
	case "GET /signup/thanks":
		return h.site.Page(http.StatusOK, "Check your inbox", page.ThanksPage()), nil
	case "POST /signup":
		return h.signUp(ctx, req)
	case "$default":
		return h.unknown(req), nil
	}
	return h.site.Fail(req, people.Errorf(people.NotFound, "", "no route %s", req.RouteKey))
}

// unknown answers every request no route of the template takes (API
// Gateway's $default route, which this function serves): the site's root
// is the sign-up form, anything else a page with the ways forward, or the
// JSON error for a script. A HEAD gets the GET's status and headers.
func (h *handler) unknown(req web.Request) web.Response {
	method := req.RequestContext.HTTP.Method
	get := method == http.MethodGet || method == http.MethodHead
	var resp web.Response
	if get && (req.RawPath == "/" || req.RawPath == "") {
		resp = web.SeeOther("/signup")
	} else {
		resp = h.site.NotFound(req)
	}
	if method == http.MethodHead {
		resp.Body = ""
	}
	return resp
}

func (h *handler) form() web.Response {
	return h.page(http.StatusOK, "Sign up", page.SignupForm{})
}

// page renders the sign-up form with what f keeps of a refused try.
func (h *handler) page(status int, title string, f page.SignupForm) web.Response {
	f.Company, f.FormID, f.PolicyVersion, f.PolicyURL, f.Purposes = h.site.Company, formID, h.policy.Version, h.policy.URL, people.Purposes
	return h.site.Page(status, title, page.SignupPage(f))
}

// refused answers a browser's refused sign-up with the form again, as the
// person filled it in, and the problem beside its field; other answers
// (scripts, a limit, a fault) go through Fail.
func (h *handler) refused(req web.Request, in signupRequest, err error) (web.Response, error) {
	e, ok := people.AsError(err)
	if !ok || !web.WantsHTML(req) || e.Code == people.RateLimited || e.Code == people.Unavailable {
		return h.site.Fail(req, err)
	}
	var chosen []people.Purpose
	for _, n := range in.Purposes {
		if p := people.Purpose(n); p.Valid() {
			chosen = append(chosen, p)
		}
	}
	form := page.SignupForm{Email: in.Email, Name: in.Name, Chosen: chosen, Problem: problem(e, in.Email)}
	return web.WithRetryAfter(h.page(web.Status(e.Code), "Please check the form", form), e), nil
}

func (h *handler) signUp(ctx context.Context, req web.Request) (web.Response, error) {
	var in signupRequest
	if err := web.Decode(req, &in); err != nil {
		return h.refused(req, in, err)
	}
	if in.FormID == "" {
		in.FormID = "api"
	}
	svc := h.svc
	svc.Links = link.Minter{Keys: h.keys, Base: web.BaseURL(req, h.base)}
	res, err := svc.SignUp(ctx, people.SignUpInput{
		Email: in.Email, Name: in.Name, Purposes: in.Purposes, PolicyVersion: in.PolicyVersion,
		// A filled trap goes through the same checks and limits and is
		// answered exactly like a sign-up, so that a bot learns nothing.
		Trapped: in.Trap != "" || in.Website != "",
		Context: people.Context{Source: in.FormID, PolicyVersion: in.PolicyVersion, IP: web.ClientIP(req), UserAgent: web.UserAgent(req)},
	})
	if err != nil {
		if e, ok := people.AsError(err); ok && e.Code == people.RateLimited {
			// Which limit is not said: the counters' keys are all there is.
			h.log.InfoContext(ctx, "sign-up over a limit", "retry_after_s", int(e.RetryAfter.Seconds()))
		}
		return h.refused(req, in, err)
	}
	if res.Trapped {
		h.log.InfoContext(ctx, "honeypot filled")
		return accepted(req), nil
	}
	h.log.InfoContext(ctx, "signed up", "person", res.PersonID, "purposes", res.Purposes, "mailed", res.MailSent)
	return accepted(req), nil
}

// accepted is the answer to every sign-up taken: a redirect to the thank-you
// page for a browser, 202 for a script.
func accepted(req web.Request) web.Response {
	if web.WantsHTML(req) {
		return web.SeeOther("/signup/thanks")
	}
	return web.JSON(http.StatusAccepted, signupAccepted{
		Status:  "pending_confirmation",
		Message: "If the address can receive mail, a confirmation link is on its way.",
	})
}
