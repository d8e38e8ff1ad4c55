package mail

import (
	"context"
	"fmt"
	"strings"

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

func (s *Sender) letterhead() letterhead { return letterhead{s.company, s.postalAddress} }

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
		lines(&b, "Someone, hopefully you, asked "+c.Company+" to send this address:")
		for _, p := range c.Purposes {
			lines(&b, "  - "+p.Label())
		}
		if c.NewName {
			lines(&b, "and to greet you with the name given on the form.")
		}
	} else {
		lines(&b, "Someone, hopefully you, asked "+c.Company+" to greet this address with the name given on the form.")
	}
	lines(&b, "", "Nothing changes until you confirm. Open this link and press the button:", "", c.Link, "",
		"The link works once, until "+c.Expires+". If you did not ask for this, ignore this mail.", "", "--")
	c.letterhead.text(&b)
	return b.String()
}

func (p preferencesLinkBody) text() string {
	var b strings.Builder
	lines(&b, "Hello,", "", "Someone, hopefully you, asked "+p.Company+" to mail a new link to the email preferences of this address.", "",
		"Change what we send you, or stop it:", p.Link, "", "If you did not ask for this, ignore this mail: nothing changes.", "", "--")
	p.letterhead.text(&b)
	return b.String()
}

func (m marketingBody) text() string {
	var b strings.Builder
	lines(&b, "Hello"+greeting(m.Name)+",", "")
	for _, p := range m.Paragraphs {
		lines(&b, p, "")
	}
	lines(&b, "--", "You receive this "+m.List+" mail from "+m.Company+" because you signed up for it.",
		"Unsubscribe or change your preferences at any time; it takes effect at once:", m.UnsubscribeURL, "")
	m.letterhead.text(&b)
	return b.String()
}

func (n noticeBody) text() string {
	var b strings.Builder
	lines(&b, "Hello,", "", "We are changing the "+n.Company+" privacy policy. The new version ("+n.Version+") takes effect on "+n.Effective+".", "",
		n.Summary, "", "Read the new privacy policy: "+n.URL, "", "--",
		"This is a service notice that the law and our policy require us to send to everyone whose",
		"address we hold, including people who unsubscribed from our newsletters and offers. It is not marketing.", "")
	n.letterhead.text(&b)
	return b.String()
}

func (l letterhead) text(b *strings.Builder) {
	lines(b, l.Company, l.PostalAddress)
}
