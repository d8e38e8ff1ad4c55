package webtest

import (
	"context"
	"html"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

// recorder is a testing.TB that notes a failure instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

func render(t *testing.T, c templ.Component) string {
	var b strings.Builder
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// page is a tiny page with a text hole and a link hole, filled the way a
// component's author chose.
func page(text, link string) string {
	return `<!DOCTYPE html><html><body><p>` + text + `</p><a href="` + link + `">policy</a></body></html>`
}

func TestCheckHTMLCatchesAValueInsertedRawOrAsASafeURL(t *testing.T) {
	for _, v := range Hostile {
		plain := page(Plainly(v), Plainly(v))
		failed := func(doc, v string) bool {
			r := &recorder{TB: t}
			CheckHTML(r, plain, doc, v)
			return r.failed
		}
		text, link := html.EscapeString(v), html.EscapeString(string(templ.URL(v)))
		if failed(page(text, link), v) {
			t.Errorf("CheckHTML refused %q escaped by templ", v)
		}
		// Raw markup in text, or a script URL let through, must be caught;
		// quotes in raw text, or a harmless URL let through, are harmless.
		if strings.Contains(v, "<") && !failed(page(render(t, templ.Raw(v)), link), v) {
			t.Errorf("CheckHTML let templ.Raw(%q) in text pass", v)
		}
		scheme := strings.ToLower(strings.TrimSpace(v))
		if (strings.HasPrefix(scheme, "javascript:") || strings.HasPrefix(scheme, "data:")) &&
			!failed(page(text, html.EscapeString(string(templ.SafeURL(v)))), v) {
			t.Errorf("CheckHTML let templ.SafeURL(%q) in href pass", v)
		}
		if !failed(page("", "/x"), v) {
			t.Errorf("CheckHTML let a page that dropped %q pass", v)
		}
	}
}

func TestCheckTextWantsTheValueAsWritten(t *testing.T) {
	v := Hostile[0]
	for text, ok := range map[string]bool{"Hello " + v: true, "Hello " + html.EscapeString(v): false, "Hello": false} {
		r := &recorder{TB: t}
		if CheckText(r, text, v); r.failed == ok {
			t.Errorf("CheckText(%q) failed = %v, want %v", text, r.failed, !ok)
		}
	}
}
