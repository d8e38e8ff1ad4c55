package main

import (
	"context"
	"time"

	"github.com/a-h/templ"
	"github.com/smartprotect/pledge/shared/export"
	"github.com/smartprotect/pledge/shared/page"
	"github.com/smartprotect/pledge/shared/privacy"
)

// Exporter builds an access request's export of the person keyed
// personID: the JSON document, and the same as a page component for a
// browser. requests are the person's privacy requests, as the export lists
// them. Errors: people.ErrNotFound when pledge holds nothing about the
// person any more, or a fault.
type Exporter interface {
	Export(ctx context.Context, personID string, requests []privacy.Summary) (doc []byte, html templ.Component, err error)
}

// accessExport is the access export of shared/export (GDPR Art. 15: the
// profile, the consent ledger, notices, account events and the facts that
// must come with them), with the person's privacy requests added: the
// export package reads no request records.
type accessExport struct {
	export.Exporter
	now func() time.Time
}

func (e accessExport) Export(ctx context.Context, personID string, requests []privacy.Summary) ([]byte, templ.Component, error) {
	doc, err := e.Exporter.Export(ctx, personID, e.now())
	if err != nil {
		return nil, nil, err
	}
	for _, r := range requests {
		doc.Requests = append(doc.Requests, exportedRequest(r))
	}
	b, err := export.JSON(doc)
	if err != nil {
		return nil, nil, err
	}
	return b, page.Export(doc), nil
}

// exportedRequest is a request as the export states it: what was asked,
// when, and what came of it (the outcome, or the reason of a refusal).
func exportedRequest(r privacy.Summary) export.Request {
	out := export.Request{ID: r.ID, Kind: string(r.Kind), Status: string(r.Status), Received: r.Received.UTC(), Due: r.Due.UTC(),
		Outcome: string(r.Outcome)}
	if r.Reason != "" {
		out.Outcome = string(r.Reason)
	}
	if !r.Closed.IsZero() {
		closed := r.Closed.UTC()
		out.Completed = &closed
	}
	return out
}
