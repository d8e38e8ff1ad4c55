package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// node is one JSON value with its object keys in the order the answer gave them.
type node struct {
	key    string
	scalar string // a scalar's text; empty for an object or array
	kids   []node
	array  bool
	object bool
}

// parseTree reads one JSON value.
func parseTree(raw []byte) (node, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return readNode(dec, "")
}

func readNode(dec *json.Decoder, key string) (node, error) {
	tok, err := dec.Token()
	if err != nil {
		return node{}, err
	}
	n := node{key: key}
	switch t := tok.(type) {
	case json.Delim:
		n.object, n.array = t == '{', t == '['
		for dec.More() {
			k := ""
			if n.object {
				kt, err := dec.Token()
				if err != nil {
					return node{}, err
				}
				k = kt.(string)
			}
			kid, err := readNode(dec, k)
			if err != nil {
				return node{}, err
			}
			n.kids = append(n.kids, kid)
		}
		if _, err := dec.Token(); err != nil {
			return node{}, err
		}
	case nil:
		n.scalar = "-"
	default:
		n.scalar = fmt.Sprint(t)
	}
	return n, nil
}

// writeText writes a JSON answer as indented `key: value` lines in the
// answer's order; a list of scalars on one line, a list of objects as
// `- ` items. What is not JSON is written as it came.
func writeText(w io.Writer, raw []byte) error {
	n, err := parseTree(raw)
	if err != nil {
		_, err = fmt.Fprintf(w, "%s\n", bytes.TrimSpace(raw))
		return err
	}
	var b strings.Builder
	if n.object || n.array {
		writeKids(&b, n, "")
	} else {
		b.WriteString(n.scalar + "\n")
	}
	_, err = io.WriteString(w, b.String())
	return err
}

func writeKids(b *strings.Builder, n node, indent string) {
	if n.array {
		for _, k := range n.kids {
			if k.object && len(k.kids) > 0 {
				first := k.kids[0]
				writeNode(b, first, indent+"- ", indent+"  ")
				for _, kk := range k.kids[1:] {
					writeNode(b, kk, indent+"  ", indent+"  ")
				}
				continue
			}
			writeNode(b, node{key: "-", scalar: k.scalar, kids: k.kids, array: k.array, object: k.object}, indent, indent)
		}
		return
	}
	for _, k := range n.kids {
		writeNode(b, k, indent, indent)
	}
}

// writeNode writes k's line at lead (the first line's prefix) and its
// children at indent plus two spaces.
func writeNode(b *strings.Builder, k node, lead, indent string) {
	label := k.key
	if label != "-" {
		label += ":"
	}
	switch {
	case !k.object && !k.array:
		b.WriteString(lead + label + " " + k.scalar + "\n")
	case len(k.kids) == 0:
		b.WriteString(lead + label + " (none)\n")
	case k.array && scalars(k.kids):
		vals := make([]string, len(k.kids))
		for i, v := range k.kids {
			vals[i] = v.scalar
		}
		b.WriteString(lead + label + " " + strings.Join(vals, ", ") + "\n")
	default:
		b.WriteString(lead + label + "\n")
		writeKids(b, k, indent+"  ")
	}
}

func scalars(ns []node) bool {
	for _, n := range ns {
		if n.object || n.array {
			return false
		}
	}
	return true
}

// requestList is GET /admin/requests (functions/requests: listAnswer).
type requestList struct {
	Status   string `json:"status"`
	Month    string `json:"month"`
	Overdue  int    `json:"overdue"`
	Requests []struct {
		ID       string    `json:"id"`
		Kind     string    `json:"kind"`
		Status   string    `json:"status"`
		Received time.Time `json:"received"`
		Due      time.Time `json:"due"`
		Closed   time.Time `json:"closed"`
		Reason   string    `json:"reason"`
		Outcome  string    `json:"outcome"`
	} `json:"requests"`
}

// writeRequestList writes the listing as a table, soonest due first as the
// API orders them, with a heading that counts them and the overdue ones.
func writeRequestList(w io.Writer, raw []byte) error {
	var l requestList
	if err := json.Unmarshal(raw, &l); err != nil {
		return writeText(w, raw)
	}
	heading := fmt.Sprintf("%d %s requests", len(l.Requests), l.Status)
	if l.Month != "" {
		heading += " closed in " + l.Month
	}
	if l.Overdue > 0 {
		heading += fmt.Sprintf(", %d overdue", l.Overdue)
	}
	fmt.Fprintln(w, heading)
	if len(l.Requests) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATUS\tRECEIVED\tDUE\tCLOSED\tOUTCOME")
	day := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04Z")
	}
	for _, r := range l.Requests {
		outcome := r.Outcome
		if r.Reason != "" {
			outcome = strings.TrimSpace(outcome + " " + r.Reason)
		}
		if outcome == "" {
			outcome = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, r.Status, day(r.Received), day(r.Due), day(r.Closed), outcome)
	}
	return tw.Flush()
}

// writeJSON writes the answer indented, or as it came when it is not JSON.
func writeJSON(w io.Writer, raw []byte) error {
	var out bytes.Buffer
	if json.Indent(&out, bytes.TrimSpace(raw), "", "  ") != nil {
		out.Reset()
		out.Write(bytes.TrimSpace(raw))
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}
