package page

import (
	"strings"
	"testing"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/web"
	"github.com/smartprotect/pledge/shared/web/webtest"
)

// everyPage renders every page with v in every field a person (a token in
// a link, an address, a note) or an operator (company, postal address,
// policy version and URL, titles and messages) controls.
func everyPage(t *testing.T, v string) map[string]web.Response {
	t.Helper()
	site, err := NewSite(v, v, v)
	if err != nil {
		t.Fatal(err)
	}
	site.PolicyURL = v
	return pagesOf(site, v)
}

// pagesOf renders every page of site with v in every other field.
func pagesOf(site *Site, v string) map[string]web.Response {
	states := []PurposeState{
		{Purpose: people.Newsletter, On: true}, {Purpose: people.Offers, Pending: true}, {Purpose: people.Surveys}, {Purpose: people.Testimonials},
	}
	return map[string]web.Response{
		"the sign-up form": site.Page(200, v, SignupPage(SignupForm{Company: site.Company, FormID: v, PolicyVersion: v, PolicyURL: v, Purposes: people.Purposes})),
		"a refused sign-up": site.Page(400, v, SignupPage(SignupForm{Company: site.Company, FormID: v, PolicyVersion: v, PolicyURL: v, Purposes: people.Purposes,
			Email: v, Name: v, Chosen: people.Purposes[:1], Problem: Problem{Field: "email", Message: v}})),
		"the not-found page":    site.Page(404, v, NotFoundPage()),
		"the thank-you page":    site.Page(200, v, ThanksPage()),
		"the confirm page":      site.Page(200, v, ConfirmPage(ConfirmForm{Token: v, Purposes: people.Purposes, Name: v})),
		"the outcome page":      site.Page(200, v, OutcomePage(Outcome{Heading: v, Message: v, Preferences: v, SignUp: true})),
		"the error page":        site.Page(400, v, ErrorPage(v)),
		"the preferences page":  site.Page(200, v, PreferencesPage(Preferences{MaskedEmail: v, Action: v, Note: v, Purposes: states, Requests: v})),
		"the unsubscribed page": site.Page(200, v, UnsubscribedPage(Unsubscribed{Company: site.Company, Preferences: v})),
		"the new-link page":     site.Page(410, v, NewLinkPage(NewLink{Reason: v, Note: v, StopAction: v})),
	}
}

func TestEveryPageKeepsHostileValuesInTheirPlace(t *testing.T) {
	for _, v := range webtest.Hostile {
		plain := everyPage(t, webtest.Plainly(v))
		for name, resp := range everyPage(t, v) {
			t.Run(name+" with "+v, func(t *testing.T) {
				webtest.CheckHTML(t, plain[name].Body, resp.Body, v)
				if resp.Headers["Content-Security-Policy"] == "" || !strings.HasPrefix(resp.Headers["Content-Security-Policy"], "default-src 'none'") ||
					resp.Headers["Content-Type"] != "text/html; charset=utf-8" || resp.Headers["X-Content-Type-Options"] != "nosniff" {
					t.Errorf("headers = %v; want the page's security headers", resp.Headers)
				}
			})
		}
	}
}

func TestALinkWithAScriptURLIsRefusedAndASafeOneKept(t *testing.T) {
	site, _ := NewSite("SmartProtect, Inc.", "514 S. Stratford Road", "privacy@example.com")
	form := SignupForm{Company: "SmartProtect", FormID: "f", PolicyVersion: "v1", Purposes: people.Purposes}
	for url, want := range map[string]string{
		"javascript:alert(1)": webtest.FailedURL,
		"data:text/html,x":    webtest.FailedURL,
		"https://www.smartprotectusa.com/privacy-policy?a=1&b=2": "https://www.smartprotectusa.com/privacy-policy?a=1&b=2",
	} {
		form.PolicyURL = url
		if got := webtest.URLs(site.Page(200, "Sign up", SignupPage(form)).Body); !strings.Contains(strings.Join(got, " "), want) {
			t.Errorf("policy URL %q became %q, want %q", url, got, want)
		}
	}
}

func TestNewSiteRequiresTheCompanyItsAddressAndItsContact(t *testing.T) {
	for _, c := range [][3]string{{"", "street", "privacy@example.com"}, {"SmartProtect", "", "privacy@example.com"}, {"SmartProtect", "street", ""}} {
		if _, err := NewSite(c[0], c[1], c[2]); err == nil {
			t.Errorf("NewSite(%q, %q, %q) accepted a page without its footer", c[0], c[1], c[2])
		}
	}
}

func TestAPendingPurposeIsTickedAndSaysItAwaitsConfirmation(t *testing.T) {
	site, _ := NewSite("SmartProtect, Inc.", "street", "privacy@example.com")
	body := site.Page(200, "p", PreferencesPage(Preferences{MaskedEmail: "j***@e***.com", Action: "/unsubscribe?t=x", Purposes: []PurposeState{
		{Purpose: people.Newsletter, On: true}, {Purpose: people.Offers, Pending: true}, {Purpose: people.Surveys},
	}})).Body
	for _, want := range []string{`value="newsletter" checked`, `value="offers" checked`, `value="surveys">`, "(awaiting your confirmation)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the preferences page lacks %s:\n%s", want, body)
		}
	}
}

func TestThePreferencesPageSaysWhenMailDoesNotReachTheAddress(t *testing.T) {
	site, _ := NewSite("SmartProtect, Inc.", "street", "privacy@example.com")
	prefs := Preferences{MaskedEmail: "j***@e***.com", Action: "/unsubscribe?t=x", Purposes: []PurposeState{{Purpose: people.Newsletter, On: true}}}
	const says = "could not be delivered"
	if body := site.Page(200, "p", PreferencesPage(prefs)).Body; strings.Contains(body, says) {
		t.Fatalf("a reachable person's page says %q", says)
	}
	prefs.Unreachable = true
	if body := site.Page(200, "p", PreferencesPage(prefs)).Body; !strings.Contains(body, says) || !strings.Contains(body, "sign up again") {
		t.Fatalf("an undeliverable person's page does not say so:\n%s", body)
	}
}

// What stays after an unsubscribe is said beside the button that
// unsubscribes, and only there: a page that asks for a link alone has
// nothing to stop.
func TestTheNewLinkPageSaysWhatStaysOnlyBesideTheStopButton(t *testing.T) {
	site, _ := NewSite("SmartProtect, Inc.", "street", "privacy@example.com")
	const stays = "We will still send the few notices the law requires"
	if body := site.Page(200, "p", NewLinkPage(NewLink{})).Body; strings.Contains(body, stays) {
		t.Errorf("the page for a new link alone says %q:\n%s", stays, body)
	}
	body := site.Page(410, "p", NewLinkPage(NewLink{Reason: "expired", StopAction: "/unsubscribe?t=x"})).Body
	if i, j := strings.Index(body, `value="stop"`), strings.Index(body, stays); i < 0 || j < i || strings.Contains(body[i:j], "<form") {
		t.Errorf("the expired link's page does not say what stays right after its stop button:\n%s", body)
	}
}
