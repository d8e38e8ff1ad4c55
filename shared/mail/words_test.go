package mail

import (
	"strings"
	"testing"

	"github.com/smartprotect/pledge/shared/web/webtest"
)

// TestNoMailShowsACopySlip renders both parts of every mail with the
// company's real name, whose "Inc." ends a sentence badly when a mail puts
// it last, and fails on a double full stop or a date written the way
// programs write them.
func TestNoMailShowsACopySlip(t *testing.T) {
	sender, err := NewSender(nil, "from@example.com", "SmartProtect, Inc.", "514 S. Stratford Road, Suite 201, Winston-Salem, NC 27103, USA", "privacy@smartprotectusa.com")
	if err != nil {
		t.Fatal(err)
	}
	mails := mailsOf(t, sender, "Jo Tester")
	if len(mails) < 5 {
		t.Fatalf("%d mails rendered", len(mails))
	}
	for name, m := range mails {
		for part, text := range map[string]string{"HTML": webtest.VisibleText(t, m.HTML), "text": m.Text} {
			if slips := webtest.Slips(text); len(slips) > 0 {
				t.Errorf("%s, %s part: %q", name, part, slips)
			}
		}
		if !strings.Contains(m.Text, "26 November 2026") && strings.Contains(name, "confirmation") {
			t.Errorf("%s does not say when its link expires as people write dates:\n%s", name, m.Text)
		}
	}
}
