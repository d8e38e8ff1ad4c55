// Package stencil fills embedded page and mail templates with named values.
//
// A template is text with {{name}} holes, filled with the value escaped for
// HTML (or verbatim for text templates), and {{{name}}} holes, filled
// verbatim with HTML the caller built from other stencils. There are no
// loops, conditions or method calls: text/template and html/template look
// methods up by name through reflection, which makes the Go linker keep every
// exported method of the AWS SDK clients and doubles the size of a bootstrap.
package stencil

import (
	"fmt"
	"html"
	"io/fs"
	"strings"
)

// Values fills the holes of a template by name.
type Values map[string]string

type segment struct {
	text string // literal text, or the hole's name
	hole bool
	raw  bool // {{{name}}}: inserted verbatim
}

// Stencil is one parsed template.
type Stencil struct {
	name     string
	escape   bool
	segments []segment
}

// Parse parses src. escape says whether {{name}} values are HTML-escaped.
func Parse(name, src string, escape bool) (*Stencil, error) {
	s := &Stencil{name: name, escape: escape}
	for src != "" {
		i := strings.Index(src, "{{")
		if i < 0 {
			s.segments = append(s.segments, segment{text: src})
			break
		}
		if i > 0 {
			s.segments = append(s.segments, segment{text: src[:i]})
		}
		src = src[i:]
		open, close, raw := "{{", "}}", false
		if strings.HasPrefix(src, "{{{") {
			open, close, raw = "{{{", "}}}", true
		}
		j := strings.Index(src, close)
		if j < 0 {
			return nil, fmt.Errorf("stencil %s: unclosed %s", name, open)
		}
		hole := src[len(open):j]
		if hole == "" || strings.ContainsAny(hole, "{} \n") {
			return nil, fmt.Errorf("stencil %s: bad hole %q", name, hole)
		}
		s.segments = append(s.segments, segment{text: hole, hole: true, raw: raw || !escape})
		src = src[j+len(close):]
	}
	return s, nil
}

// Fill returns the template with every hole filled. A hole without a value
// is an error: a missing value is a bug, never an empty string on a page.
func (s *Stencil) Fill(v Values) (string, error) {
	var b strings.Builder
	for _, seg := range s.segments {
		if !seg.hole {
			b.WriteString(seg.text)
			continue
		}
		val, ok := v[seg.text]
		if !ok {
			return "", fmt.Errorf("stencil %s: no value for {{%s}}", s.name, seg.text)
		}
		if seg.raw {
			b.WriteString(val)
		} else {
			b.WriteString(html.EscapeString(val))
		}
	}
	return b.String(), nil
}

// Set is the stencils of one directory, by file name.
type Set map[string]*Stencil

// ParseFS parses every file in dir of fsys; .html files escape their values.
func ParseFS(fsys fs.FS, dir string) (Set, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("stencil.ParseFS: %w", err)
	}
	set := Set{}
	for _, e := range entries {
		src, err := fs.ReadFile(fsys, dir+"/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("stencil.ParseFS: %w", err)
		}
		if set[e.Name()], err = Parse(e.Name(), string(src), strings.HasSuffix(e.Name(), ".html")); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// Fill fills the named stencil of the set.
func (set Set) Fill(name string, v Values) (string, error) {
	s, ok := set[name]
	if !ok {
		return "", fmt.Errorf("stencil: no template %s", name)
	}
	return s.Fill(v)
}
