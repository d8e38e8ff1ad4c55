package page

import (
	"testing"

	"github.com/smartprotect/pledge/shared/web"
	"github.com/smartprotect/pledge/shared/web/webtest"
)

// privacyPages renders every page of privacy requests with v in every field
// a person (a token, an address in the export) or an operator (company,
// postal address) controls.
func privacyPages(t *testing.T, v string) map[string]web.Response {
	t.Helper()
	site, err := NewSite(v, v, "privacy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]web.Response{
		"the request form":      site.Page(200, v, PrivacyFormPage(PrivacyForm{Company: v, Choices: []PrivacyChoice{{Value: v, Label: v, Explain: v}, {Value: "delete", Label: v, Explain: v}}, Within: v})),
		"the sent page":         site.Page(200, v, PrivacySentPage()),
		"the verification page": site.Page(200, v, PrivacyVerifyPage(PrivacyVerify{Token: v, Kind: v})),
		"the status page":       site.Page(200, v, PrivacyStatusPage(PrivacyStatus{Kind: v, Status: v, Received: v, Due: v, Next: v, CancelAction: v, ExportLink: v, Note: v})),
	}
}

func TestEveryPrivacyPageKeepsHostileValuesInTheirPlace(t *testing.T) {
	for _, v := range webtest.Hostile {
		plain := privacyPages(t, webtest.Plainly(v))
		for name, resp := range privacyPages(t, v) {
			t.Run(name+" with "+v, func(t *testing.T) {
				webtest.CheckHTML(t, plain[name].Body, resp.Body, v)
			})
		}
	}
}
