// Package webtest checks rendered pages and mail for values that escaped
// their context. Tests of the page and mail components render each one
// twice, once with plain values and once with a hostile value in every field
// a person or an operator controls, and compare: the hostile render must
// have the same elements and attributes, no script-capable URL, and carry
// the value as text.
package webtest

import (
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// Hostile is what a person (a name, an address, a token in a link) or an
// operator (a company name, a policy URL, a summary) might put in a field:
// markup, attribute break-outs with both quotes, script and data URLs, SES
// and mustache braces, a comment opener, and line breaks.
var Hostile = []string{
	`"><script>alert(1)</script>`,
	`'><img src=x onerror=alert(1)>`,
	`x" onmouseover="alert(1)`,
	`x' onmouseover='alert(1)`,
	`javascript:alert(1)`,
	`javascript:alert(1) onmouseover=alert(2)`,
	` JaVaScRiPt:alert(1)`,
	`data:text/html,<script>alert(1)</script>`,
	`data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==`,
	`{{x}} {{{x}}} }} {{`,
	`<!-- a comment`,
	"line one\r\nline two\nBcc: victim@example.com",
	`</title></style></textarea><script>alert(1)</script>`,
}

// Plain is the value a hostile render is compared with: it has no
// character that HTML, URLs or templates treat specially.
const Plain = "plain"

var lineText = regexp.MustCompile(`[^\r\n]+`)

// Plainly is v with the text of each line replaced by Plain, its line
// breaks kept: the plain counterpart of v for a render that shows a line
// break as markup (a <br> in a notice's summary).
func Plainly(v string) string { return lineText.ReplaceAllString(v, Plain) }

// FailedURL is what templ puts in place of a URL it refuses.
const FailedURL = "about:invalid#TemplFailedSanitizationURL"

// urlAttributes are the attributes a browser follows or submits to.
var urlAttributes = []string{"href", "src", "action", "formaction", "srcset", "poster", "cite", "background"}

// Shape is the markup of a document: each tag with its attribute names, and
// each comment, doctype and raw-text element, without the text in between.
func Shape(t testing.TB, doc string) []string {
	t.Helper()
	var shape []string
	z := html.NewTokenizer(strings.NewReader(doc))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatalf("unparsable HTML: %v", z.Err())
			}
			return shape
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			s := tt.String() + " " + tok.Data
			for _, a := range tok.Attr {
				s += " " + a.Key
			}
			shape = append(shape, s)
		case html.CommentToken, html.DoctypeToken:
			shape = append(shape, tt.String())
		}
	}
}

// Content is what a reader gets from a document: the text and every
// attribute value, entities decoded, joined by newlines.
func Content(doc string) string {
	var parts []string
	z := html.NewTokenizer(strings.NewReader(doc))
	for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
		tok := z.Token()
		switch tt {
		case html.TextToken:
			parts = append(parts, tok.Data)
		case html.StartTagToken, html.SelfClosingTagToken:
			for _, a := range tok.Attr {
				parts = append(parts, a.Val)
			}
		}
	}
	return strings.Join(parts, "\n")
}

// URLs returns the value of every URL attribute in doc, entities decoded.
func URLs(doc string) []string {
	var urls []string
	z := html.NewTokenizer(strings.NewReader(doc))
	for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		for _, a := range z.Token().Attr {
			if slices.Contains(urlAttributes, a.Key) {
				urls = append(urls, a.Val)
			}
		}
	}
	return urls
}

// CheckHTML compares hostile, rendered with value in every field, with
// plain, the same component rendered with Plainly(value) there:
//   - the same tags and attribute names in the same order: no value added
//     markup, a comment or an attribute, or left its quotes;
//   - no URL attribute that a browser would run or load as a document
//     (javascript:, vbscript:, data:), after the trimming browsers do;
//   - value itself in the text or an attribute, entities decoded: carried,
//     not dropped (every render has a field that is not a URL: the company,
//     the footer).
func CheckHTML(t testing.TB, plain, hostile, value string) {
	t.Helper()
	if want, got := Shape(t, plain), Shape(t, hostile); !slices.Equal(want, got) {
		t.Errorf("the value %q changed the markup:\nwant %q\ngot  %q\n%s", value, want, got, hostile)
	}
	for _, u := range URLs(hostile) {
		scheme := strings.ToLower(strings.Map(func(r rune) rune {
			if r <= ' ' {
				return -1 // browsers drop controls and spaces in a scheme
			}
			return r
		}, u))
		for _, bad := range []string{"javascript:", "vbscript:", "data:"} {
			if strings.HasPrefix(scheme, bad) {
				t.Errorf("a URL attribute runs or loads %q:\n%s", u, hostile)
			}
		}
	}
	// HTML parsers read CR LF and CR as LF.
	shown := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(value)
	if !strings.Contains(Content(hostile), shown) {
		t.Errorf("the value %q is not in the page as text:\n%s", value, hostile)
	}
}

// CheckText checks a text/plain part: value is there as written, and
// nothing was HTML-escaped.
func CheckText(t testing.TB, text, value string) {
	t.Helper()
	if !strings.Contains(text, value) {
		t.Errorf("the text part lacks %q as written:\n%s", value, text)
	}
	for _, entity := range []string{"&lt;", "&gt;", "&amp;", "&#34;", "&#39;", "&quot;"} {
		if strings.Contains(text, entity) {
			t.Errorf("the text part is HTML-escaped (%s):\n%s", entity, text)
		}
	}
}

// slipPatterns are the slips of copy no page or mail may show: a doubled
// full stop (a sentence ending after "Inc."), and dates as programs write
// them: RFC 1123 ("Wed, 02 Dec 2026 03:35:14 UTC"), ISO 8601 ("2026-12-02",
// with or without a time) and Go's default ("2026-12-02 03:35:14 +0000
// UTC", which the ISO pattern catches too). People read "2 December 2026".
var slipPatterns = map[string]*regexp.Regexp{
	"a double full stop":   regexp.MustCompile(`(^|[^.])\.\.([^.]|$)`),
	"an RFC 1123 date":     regexp.MustCompile(`\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} [A-Z][a-z]{2} \d{4}\b`),
	"an ISO date":          regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`),
	"a clock with seconds": regexp.MustCompile(`\b\d{2}:\d{2}:\d{2}\b`),
}

// Slips returns the slips of copy in text, as "what: the words around it";
// none when it reads well.
func Slips(text string) []string {
	var out []string
	for what, re := range slipPatterns {
		for _, loc := range re.FindAllStringIndex(text, -1) {
			from, to := max(loc[0]-30, 0), min(loc[1]+30, len(text))
			out = append(out, what+": "+strings.ToValidUTF8(text[from:to], ""))
		}
	}
	slices.Sort(out)
	return out
}

// VisibleText is the text a person reads in an HTML document: the text
// between tags, without what <head>, <style> and <script> hold, and the
// values of visible inputs; a block (a paragraph, a list item) ends a
// line, inline markup (<strong>, <a>) does not.
func VisibleText(t testing.TB, doc string) string {
	t.Helper()
	var b strings.Builder
	hidden := 0
	z := html.NewTokenizer(strings.NewReader(doc))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatalf("unparsable HTML: %v", z.Err())
			}
			return b.String()
		case html.StartTagToken:
			tok := z.Token()
			switch tok.Data {
			case "head", "style", "script":
				hidden++
			case "input":
				typ, val := "", ""
				for _, a := range tok.Attr {
					switch a.Key {
					case "type":
						typ = a.Val
					case "value":
						val = a.Val
					}
				}
				if typ != "hidden" && val != "" {
					b.WriteString(val + "\n")
				}
			}
		case html.EndTagToken:
			switch z.Token().Data {
			case "head", "style", "script":
				hidden--
			case "p", "li", "h1", "h2", "div", "label", "legend", "ul", "footer", "header":
				b.WriteString("\n")
			}
		case html.TextToken:
			if hidden == 0 {
				b.WriteString(z.Token().Data)
			}
		}
	}
}
