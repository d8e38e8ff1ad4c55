package main

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/a-h/templ"
	"github.com/smartprotect/pledge/shared/page"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
)

// Exporter builds an access request's export of the person keyed
// personID: the JSON document, and the same as a page component for a
// browser. requests are the person's privacy requests, as the export lists
// them. Errors: people.ErrNotFound when pledge holds nothing about the
// person any more, or a fault.
//
// The full export (shared/export: profile, ledger, notices, account events
// and the GDPR Art. 15 facts, with its JSON Schema) satisfies this; until it
// is wired, profileExport serves the profile alone.
type Exporter interface {
	Export(ctx context.Context, personID string, requests []privacy.Summary) (doc []byte, html templ.Component, err error)
}

// profileExport is the minimal export: the profile and the requests.
type profileExport struct {
	people  personReader
	company string
}

// profileDocument is profileExport's JSON.
type profileDocument struct {
	Email    string            `json:"email"`
	Name     string            `json:"name,omitempty"`
	Status   string            `json:"status"`
	Active   []string          `json:"active"`
	Pending  []string          `json:"pending"`
	Since    time.Time         `json:"since"`
	Requests []privacy.Summary `json:"requests"`
}

func (e profileExport) Export(ctx context.Context, personID string, requests []privacy.Summary) ([]byte, templ.Component, error) {
	p, err := e.people.Person(ctx, personID)
	if err != nil {
		return nil, nil, err
	}
	if !p.Exists() {
		return nil, nil, people.ErrNotFound
	}
	doc := profileDocument{Email: p.Email, Name: p.Name, Status: string(p.Status), Active: names(p.Active), Pending: names(p.Pending),
		Since: p.CreatedAt.UTC(), Requests: requests}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, errors.New("privacy: encoding the export")
	}
	fields := []page.ExportField{{Name: "Email address", Value: people.DisplayEmail(p.Email)}, {Name: "Status", Value: string(p.Status)}}
	if p.Name != "" {
		fields = append(fields, page.ExportField{Name: "Name", Value: p.Name})
	}
	for _, q := range p.Active {
		fields = append(fields, page.ExportField{Name: "Consent in force", Value: q.Label()})
	}
	for _, q := range p.Pending {
		fields = append(fields, page.ExportField{Name: "Awaiting confirmation", Value: q.Label()})
	}
	return b, page.ExportPage(e.company, fields), nil
}

func names(ps []people.Purpose) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, string(p))
	}
	return out
}
