package page

import (
	"testing"

	"github.com/smartprotect/pledge/shared/web/webtest"
)

// TestNoPageShowsACopySlip renders every page with the company's real name,
// whose "Inc." ends a sentence badly when a page puts it last, and fails on
// a double full stop or a date written the way programs write them.
func TestNoPageShowsACopySlip(t *testing.T) {
	site, err := NewSite("SmartProtect, Inc.", "514 S. Stratford Road, Suite 201, Winston-Salem, NC 27103, USA", "privacy@smartprotectusa.com")
	if err != nil {
		t.Fatal(err)
	}
	site.PolicyURL = "https://www.smartprotectusa.com/privacy-policy"
	pages := pagesOf(site, "Jo Tester")
	if len(pages) < 10 {
		t.Fatalf("%d pages rendered", len(pages))
	}
	for name, resp := range pages {
		if slips := webtest.Slips(webtest.VisibleText(t, resp.Body)); len(slips) > 0 {
			t.Errorf("%s: %q", name, slips)
		}
	}
}

func TestTheSlipCheckFindsEachSlip(t *testing.T) {
	for _, doc := range []string{
		"<p>mail from SmartProtect, Inc..</p>", "<p>until Wed, 02 Dec 2026 03:35:14 UTC</p>", "<p>version (2027-03-04)</p>",
		"<p>at 2026-12-02 03:35:14 +0000 UTC</p>", "<p>from <strong>SmartProtect, Inc.</strong>.</p>",
	} {
		if len(webtest.Slips(webtest.VisibleText(t, doc))) == 0 {
			t.Errorf("no slip found in %s", doc)
		}
	}
	if s := webtest.Slips(webtest.VisibleText(t, `<title>2026-01-01</title><p>Wait...</p><input type="hidden" value="2015-03-22"><p>until 2 December 2026 at 03:35 UTC.</p>`)); len(s) != 0 {
		t.Errorf("slips found in good copy: %q", s)
	}
}
