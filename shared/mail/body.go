package mail

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/a-h/templ"
)

// body is a mail's two parts, made from one typed value (confirmBody,
// preferencesLinkBody, marketingBody, noticeBody): the HTML part a component of bodies.templ,
// the text part plain text from the methods below, where values go in as
// written, never HTML-escaped.
type body struct {
	html templ.Component
	text string
}

// render returns both parts. A component writing to a strings.Builder
// fails only by a programming error.
func (b body) render() (html, text string, err error) {
	var out strings.Builder
	if err := b.html.Render(context.Background(), &out); err != nil {
		return "", "", fmt.Errorf("mail: rendering: %w", err)
	}
	return out.String(), b.text, nil
}

func (s *Sender) letterhead() letterhead { return letterhead{s.company, s.postalAddress, s.contact} }

// Day is how a date reads in every mail and page: "4 January 2027".
func Day(t time.Time) string { return t.UTC().Format("2 January 2006") }

// When is how a moment reads where the hour matters (a link's expiry):
// "2 December 2026 at 03:35 UTC", the date as Day writes it.
func When(t time.Time) string { return t.UTC().Format("2 January 2006 at 15:04 UTC") }

// greeting is what follows "Hello" before the comma: " Jo", or nothing.
func greeting(name string) string {
	if name == "" {
		return ""
	}
	return " " + name
}

// paragraphs splits a plain-text summary into paragraphs (at blank lines),
// each a list of its lines, trimmed.
func paragraphs(text string) [][]string {
	var out [][]string
	for para := range strings.SplitSeq(text, "\n\n") {
		out = append(out, strings.Split(strings.TrimSpace(para), "\n"))
	}
	return out
}

// lines writes each of its strings and a line break after it.
func lines(b *strings.Builder, ss ...string) {
	for _, s := range ss {
		b.WriteString(s)
		b.WriteByte('\n')
	}
}

func (c confirmBody) text() string {
	var b strings.Builder
	lines(&b, "Hello,", "")
	if len(c.Purposes) > 0 {
		lines(&b, "Someone, hopefully you, signed up this address for:")
		for _, p := range c.Purposes {
			lines(&b, "  - "+p.Label())
		}
		if c.NewName {
			lines(&b, "They also asked us to greet you with the name given on the form.")
		}
	} else {
		lines(&b, "Someone, hopefully you, asked us to greet this address with the name given on the form.")
	}
	lines(&b, "", "Nothing starts until you confirm. Open this page and press its button:", "", c.Link, "",
		"The link works once, until "+c.Expires+". If you did not sign up, ignore this mail: nothing will be sent to you.", "", "--")
	c.letterhead.text(&b)
	return b.String()
}

func (p preferencesLinkBody) text() string {
	var b strings.Builder
	lines(&b, "Hello,", "", "Someone, hopefully you, asked for a new link to the email preferences of this address.", "",
		"Unsubscribe or change your preferences here:", p.Link, "", "If you did not ask for this, ignore this mail: nothing changes.", "", "--")
	p.letterhead.text(&b)
	return b.String()
}

func (m marketingBody) text() string {
	var b strings.Builder
	lines(&b, "Hello"+greeting(m.Name)+",", "")
	for _, p := range m.Paragraphs {
		lines(&b, p, "")
	}
	lines(&b, "--", "You receive this because you signed up for: "+m.List+".",
		"Unsubscribe or change your preferences at any time; it takes effect at once:", m.UnsubscribeURL, "")
	m.letterhead.text(&b)
	return b.String()
}

func (n noticeBody) text() string {
	var b strings.Builder
	lines(&b, "Hello"+greeting(n.Name)+",", "", "We are changing our privacy policy. The new policy takes effect on "+n.Effective+". What changes:", "",
		n.Summary, "", "Read the new privacy policy: "+n.URL, "",
		"You need not do anything. If you have a question, or want a copy of your data or its deletion, reply to this mail.", "", "--",
		"The law and our policy require us to send this notice to everyone whose address we hold,",
		"including people who unsubscribed from our marketing. It is not marketing.", "")
	n.letterhead.text(&b)
	return b.String()
}

// text is the footer of every text part.
func (l letterhead) text(b *strings.Builder) {
	lines(b, "Questions? Reply to this mail, or write to "+l.Contact+".", "", l.Company, l.PostalAddress)
}
