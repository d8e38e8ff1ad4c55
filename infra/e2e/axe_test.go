package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/chromedp/chromedp"
	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
	"github.com/smartprotect/pledge/shared/web/webtest"
)

// axeTags are the rules axe-core checks: WCAG 2.1 levels A and AA.
const axeTags = `["wcag2a","wcag2aa","wcag21a","wcag21aa"]`

// axeSource is axe-core as infra/axe pins it (`make test-tools` installs
// it with npm ci).
func axeSource(t *testing.T) string {
	t.Helper()
	root, err := localstack.Root()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "infra/axe/node_modules/axe-core/axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core is missing (`make test-tools` installs it): %v", err)
	}
	return string(b)
}

// violation is one axe-core rule a page breaks.
type violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  int    `json:"nodes"`
}

// audit runs axe-core in the page the browser shows and returns what it
// found at WCAG 2.1 AA; with PLEDGE_SCREENSHOTS set it also writes a
// desktop and a phone screenshot of the page there, named name.
func audit(t *testing.T, ctx context.Context, axe, name string) []violation {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axe+";true")); err != nil {
		t.Fatalf("%s: injecting axe-core: %v", name, err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: "tag", values: `+axeTags+`}}).then(r =>
		JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.length}))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: running axe-core: %v", name, err)
	}
	var vs []violation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("%s: axe-core answered %s", name, out)
	}
	if dir := os.Getenv("PLEDGE_SCREENSHOTS"); dir != "" && name != "self-check" {
		screenshots(t, ctx, dir, name)
	}
	return vs
}

// screenshots writes name-desktop.png (1280 px wide) and name-phone.png
// (320 px, the narrowest phone WCAG 1.4.10 asks for) of the whole page into dir.
func screenshots(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, size := range []struct {
		suffix string
		w, h   int64
		mobile bool
	}{{"desktop", 1280, 900, false}, {"phone", 320, 640, true}} {
		opts := []chromedp.EmulateViewportOption{}
		if size.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateScale(2))
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(size.w, size.h, opts...)); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG; below, JPEG
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+size.suffix+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateReset()); err != nil {
		t.Fatal(err)
	}
}

// TestEveryPageAndMailPassesAxe walks every page a person meets, as they
// meet it, and opens the HTML part of every mail in the browser, and fails
// on any axe-core violation at WCAG 2.1 AA, and on any slip of copy
// (webtest.Slips: a double full stop, a date as programs write it) in what
// the browser shows of a page (its title too) or in a mail's subject and
// parts; a mail may carry no header but the List-Unsubscribe pair, and
// answers go to the contact address. `make screenshots` runs it to write a
// desktop and a phone screenshot of each to .build/screenshots/.
func TestEveryPageAndMailPassesAxe(t *testing.T) {
	axe := axeSource(t)
	ctx := browser(t)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	// The longest address and name a person may give, unbroken: every page
	// and mail must still fit a phone.
	email := "axe@" + strings.Repeat("d", 63) + ".example.com"
	longName := strings.Repeat("W", 100)
	checked := map[string][]violation{}
	page := func(name string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		// A mark on the page before: the page to check is a new one.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.pledgeOld = true`)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		waitFor(t, ctx, `window.pledgeOld === undefined && document.readyState === 'complete' && document.querySelector('main h1') !== null`)
		checked["page "+name] = audit(t, ctx, axe, "page-"+name)
		slips["page "+name] = shownSlips(t, ctx, name)
		reflows(t, ctx, "page "+name)
	}
	mails := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, shown[r.URL.Path])
	}))
	defer mails.Close()
	mailPage := func(name string, m localstack.Mail) {
		t.Helper()
		html := m.Body.HTML
		slips["mail "+name] = append(webtest.Slips(m.Subject+"\n"+m.Body.Text), webtest.Slips(webtest.VisibleText(t, html))...)
		for _, h := range m.Headers {
			if h.Name != "List-Unsubscribe" && h.Name != "List-Unsubscribe-Post" {
				t.Errorf("mail %s carries the header %s: %s; a person who opens the source sees it", name, h.Name, h.Value)
			}
		}
		if !slices.Equal(m.ReplyTo, []string{contact}) {
			t.Errorf("mail %s: Reply-To %q; want the contact address %s", name, m.ReplyTo, contact)
		}
		shown["/"+name] = html
		if err := chromedp.Do(ctx, chromedp.Navigate(mails.URL+"/"+name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checked["mail "+name] = audit(t, ctx, axe, "mail-"+name)
		reflows(t, ctx, "mail "+name)
	}

	// The check can fail: a page without a language and an image without
	// a text alternative break two rules.
	shown["/broken"] = `<!DOCTYPE html><html><head><title>x</title></head><body><main><img src="data:,"></main></body></html>`
	if err := chromedp.Do(ctx, chromedp.Navigate(mails.URL+"/broken")); err != nil {
		t.Fatal(err)
	}
	if vs := audit(t, ctx, axe, "self-check"); !slices.ContainsFunc(vs, func(v violation) bool { return v.ID == "html-has-lang" }) ||
		!slices.ContainsFunc(vs, func(v violation) bool { return v.ID == "image-alt" }) {
		t.Fatalf("axe-core found %+v in a page without lang and an image without alt", vs)
	}
	// And the words check: a sentence ending after "Inc." and a date as
	// RFC 1123 writes it, in the title and the text the browser shows.
	shown["/slips"] = `<!DOCTYPE html><html lang="en"><head><title>Until Wed, 02 Dec 2026 03:35:14 UTC</title></head><body><main><h1>Mail from SmartProtect, Inc..</h1></main></body></html>`
	if err := chromedp.Do(ctx, chromedp.Navigate(mails.URL+"/slips")); err != nil {
		t.Fatal(err)
	}
	if got := shownSlips(t, ctx, "self-check"); len(got) != 3 { // the full stops, the RFC 1123 date, the clock
		t.Fatalf("the words check found %q in a page with a double full stop and an RFC 1123 date", got)
	}

	page("sign-up", chromedp.Navigate(stack.GatewayURL+"/signup"))
	// Nothing ticked: the form comes back with the problem beside it.
	page("sign-up-refused", chromedp.SendKeys(chromedp.CSS(`#email`), email), chromedp.SendKeys(chromedp.CSS(`#name`), longName),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	if got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#email').value + '|' + (document.querySelector('#purposes-problem') || {}).textContent`)); !strings.HasPrefix(got, email+"|Please tick") {
		t.Fatalf("the refused form shows %q; want the address kept and the problem beside the choices", got)
	}
	page("thanks", chromedp.Click(chromedp.CSS(`#purpose-newsletter`)), chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	confirmMail := mailsTo(t, email)
	mailPage("confirmation", confirmMail[len(confirmMail)-1])
	page("confirm", chromedp.Navigate(confirmLink(t, confirmMail[len(confirmMail)-1])))
	page("confirmed", chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	sendNewsletter(t)
	news := marketingTo(t, email)
	mailPage("newsletter", news[len(news)-1])
	prefs := linkIn(t, news[len(news)-1].Body.HTML)
	page("preferences", chromedp.Navigate(prefs))
	page("preferences-saved", chromedp.Click(chromedp.CSS(`#purpose-offers`)), chromedp.Click(chromedp.CSS(`button[value="save"]`)))
	if got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.search.includes('done=saved') + '|' + document.querySelector('[role="status"]').textContent`)); !strings.HasPrefix(got, "true|Your choices are saved.") {
		t.Fatalf("after saving the page is %q; want a GET whose status says what changed", got)
	}
	page("preferences-unsubscribed", chromedp.Click(chromedp.CSS(`button[value="stop"]`)))
	// A one-click POST from a browser (a mail client's form would send it so).
	page("one-click", chromedp.Evaluate[chromedp.Void](`(() => { const f = document.createElement('form'); f.method = 'post';
		f.action = `+jsString(prefs)+`; document.body.appendChild(f); f.submit(); })()`))
	page("new-link", chromedp.Navigate(stack.GatewayURL+"/unsubscribe/link"))
	page("new-link-sent", chromedp.SendKeys(chromedp.CSS(`#link-email`), email), chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	all := mailsTo(t, email)
	mailPage("preferences-link", all[len(all)-1])
	page("broken-link", chromedp.Navigate(stack.GatewayURL+"/unsubscribe?t=not-a-token"))
	expired := keys.Issue(token.Unsubscribe, people.KeyedID(pepper)(email), []string{"newsletter"}, time.Now().AddDate(0, -3, 0), 31*24*time.Hour)
	page("expired-link", chromedp.Navigate(stack.GatewayURL+"/unsubscribe?t="+url.QueryEscape(expired)))
	page("broken-confirm-link", chromedp.Navigate(stack.GatewayURL+"/confirm?t=not-a-token"))
	page("not-found", chromedp.Navigate(stack.GatewayURL+"/no/such/page"))
	// The policy notice goes to everyone the stack holds: rendered here by
	// the notices function's own code, not sent.
	mailPage("policy-notice", noticeMail(t))

	// Privacy requests: the form, the verification page and button, the
	// status page in each state a person meets, the export page, and each
	// mail. The person asks for a copy, then for deletion (cancelled once,
	// then carried out by the clock); a stranger asks about an address
	// pledge does not hold.
	askPrivacy := func(name, kind, addr string) {
		t.Helper()
		// The form first, so that the page checked is the one its button leads to.
		if err := chromedp.Do(ctx, chromedp.Navigate(stack.GatewayURL+"/privacy")); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		page(name, chromedp.Click(chromedp.CSS(`input[value="`+kind+`"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), addr), chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	}
	verifyPrivacy := func(name, addr string) {
		t.Helper()
		m := newestMail(t, addr, "confirm your privacy request")
		mailPage("privacy-verify", m)
		page(name+"-confirm", chromedp.Navigate(linkInHTML(t, m.Body.HTML, "/privacy/verify")))
		page(name, chromedp.Click(chromedp.CSS(`form[action="/privacy/verify"] button`)))
	}
	page("privacy", chromedp.Navigate(stack.GatewayURL+"/privacy"))
	askPrivacy("privacy-sent", "access", email)
	verifyPrivacy("privacy-access-completed", email)
	page("privacy-export", chromedp.Click(chromedp.CSS(`a[href^="/privacy/export"]`)))
	mailPage("privacy-export", newestMail(t, email, "Your data at"))
	askPrivacy("privacy-sent-delete", "delete", email)
	verifyPrivacy("privacy-delete-cool-off", email)
	page("privacy-delete-cancelled", chromedp.Click(chromedp.CSS(`button[value="cancel"]`)))
	mailPage("privacy-status", newestMail(t, email, "Your privacy request"))
	// A correction of the address (issue 14): the request form, the new
	// mailbox's mail and button, the status page after the move, and the
	// mail that says it is done, for the longest address again. The
	// deletion then goes to the address the person moved to.
	page("privacy-form", chromedp.Navigate(stack.GatewayURL+"/privacy"))
	moved := "axe-moved@" + strings.Repeat("e", 63) + ".example.com"
	if got := postJSON(t, "/privacy", fmt.Sprintf(`{"kind":"correct","email":%q,"new_email":%q}`, email, moved)); got.Status != http.StatusAccepted {
		t.Fatalf("a correction = %d %s", got.Status, got.Body)
	}
	if got := postForm(t, "/privacy/verify", url.Values{"t": {tokenOf(t, privacyLink(t, email, "confirm your privacy request", "/privacy/verify"))}}); got.Status != http.StatusOK {
		t.Fatalf("its verification = %d", got.Status)
	}
	mailPage("correction-new-address", newestMail(t, moved, "confirm your new address"))
	page("correction-new-address", chromedp.Navigate(privacyLink(t, moved, "confirm your new address", "/privacy/correct")))
	page("correction-done", chromedp.Click(chromedp.CSS(`button[type="submit"]`)))
	mailPage("correction-done", newestMail(t, moved, "are corrected"))
	askPrivacy("privacy-sent-again", "delete", moved)
	verifyPrivacy("privacy-delete-again", moved)
	deletion := requestOn(t, stack, requestID(t, privacyLink(t, moved, "Your privacy request", "/privacy/status")))
	if r := privacyClock(t, stack, deletion.CoolOffEnds.Add(time.Minute)); r.Erased < 1 {
		t.Fatalf("the clock after the cool-off did %+v", r)
	}
	mailPage("privacy-erased", newestMail(t, moved, "is deleted"))
	page("privacy-delete-completed", chromedp.Navigate(privacyLink(t, moved, "Your privacy request", "/privacy/status")))
	const stranger = "axe-stranger@example.com"
	askPrivacy("privacy-sent-stranger", "access", stranger)
	verifyPrivacy("privacy-no-data", stranger)
	mailPage("privacy-no-data", newestMail(t, stranger, "Your privacy request"))
	page("privacy-broken-link", chromedp.Navigate(stack.GatewayURL+"/privacy/status?t=not-a-token"))

	total := 0
	for name, vs := range checked {
		for _, v := range vs {
			total++
			t.Errorf("%s: %s (%s, %d elements): %s", name, v.ID, v.Impact, v.Nodes, v.Help)
		}
	}
	for name, ss := range slips {
		for _, s := range ss {
			t.Errorf("%s shows a slip of copy: %s", name, s)
		}
	}
	t.Logf("axe-core %s checked %d pages and mails: %d violations", axeTags, len(checked), total)
	if len(checked) != 46 {
		t.Fatalf("checked %d pages and mails; want 35 pages and 11 mails", len(checked))
	}
}

// shown is what the mail server of TestEveryPageAndMailPassesAxe serves,
// by path.
var shown = map[string]string{}

// slips are the slips of copy TestEveryPageAndMailPassesAxe found, by page
// or mail.
var slips = map[string][]string{}

// contact is the template's ContactAddress: the dev stack's and the
// tests' mails answer to it, and every footer shows it.
const contact = "privacy@smartprotectusa.com"

// reflows fails the test when the page the browser shows does not fit a
// 320 px wide viewport without scrolling sideways (WCAG 2.1 1.4.10, which
// axe-core does not check).
func reflows(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(320, 640)); err != nil {
		t.Fatal(err)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateReset()); err != nil {
		t.Fatal(err)
	}
	if width > 320 {
		t.Errorf("%s is %d px wide on a 320 px phone: it scrolls sideways", name, width)
	}
}

// shownSlips returns the slips of copy (webtest.Slips) in the title and
// the text of the page the browser shows.
func shownSlips(t *testing.T, ctx context.Context, name string) []string {
	t.Helper()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.title + "\n" + document.body.innerText`))
	if err != nil {
		t.Fatalf("%s: reading the page's text: %v", name, err)
	}
	return webtest.Slips(text)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// noticeMail is a policy notice to a person who gave a name, as the
// notices function renders it (through mail.NoticeSender, to a client that
// keeps it): subject, parts and Reply-To.
func noticeMail(t *testing.T) localstack.Mail {
	t.Helper()
	keep := &keepingSES{}
	s, err := mail.NewSender(keep, "SmartProtect <no-reply@example.com>", "SmartProtect, Inc.", "514 S. Stratford Road, Suite 201, Winston-Salem, NC 27103, USA", contact)
	if err != nil {
		t.Fatal(err)
	}
	_, err = mail.NewNoticeSender(keep, s).SendNotice(context.Background(), notice.Policy{Version: "2027-03", Effective: time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC),
		Summary: "We now keep sign-up records for a shorter time.\n\nWe explain your rights more plainly.", URL: "https://www.smartprotectusa.com/privacy-policy"},
		[]notice.Recipient{{ID: "p1", Email: "jo@example.com", Name: "Jo Tester"}})
	if err != nil || keep.in == nil {
		t.Fatalf("rendering a notice: %v", err)
	}
	var data struct{ Subject, HTML, Text string }
	if err := json.Unmarshal([]byte(aws.ToString(keep.in.Content.Template.TemplateData)), &data); err != nil || data.HTML == "" {
		t.Fatalf("notice data: %v", err)
	}
	if !strings.Contains(data.Text, "Hello Jo Tester,") {
		t.Fatalf("the notice does not greet Jo Tester by name:\n%s", data.Text)
	}
	m := localstack.Mail{Subject: data.Subject, ReplyTo: keep.in.ReplyToAddresses}
	m.Body.HTML, m.Body.Text = data.HTML, data.Text
	return m
}

// keepingSES keeps the one mail it is asked to send.
type keepingSES struct{ in *sesv2.SendEmailInput }

func (k *keepingSES) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	k.in = in
	return &sesv2.SendEmailOutput{MessageId: aws.String("m")}, nil
}

func (k *keepingSES) SendBulkEmail(context.Context, *sesv2.SendBulkEmailInput, ...func(*sesv2.Options)) (*sesv2.SendBulkEmailOutput, error) {
	return nil, fmt.Errorf("one recipient goes through SendEmail")
}

func (k *keepingSES) GetAccount(context.Context, *sesv2.GetAccountInput, ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error) {
	return &sesv2.GetAccountOutput{SendQuota: &types.SendQuota{MaxSendRate: 14}}, nil
}
