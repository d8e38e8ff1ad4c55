package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Invoke runs a function that has no HTTP route (a scheduled or
// operator-invoked one) with payload, as `aws lambda invoke` would.
func (s *Stack) Invoke(ctx context.Context, logicalID string, payload []byte) ([]byte, error) {
	pool, ok := s.Pools[logicalID]
	if !ok {
		return nil, fmt.Errorf("localstack: no function %s", logicalID)
	}
	return pool.Invoke(ctx, payload)
}

// SampleNewsletter is what the local stack's dev page offers to send: the
// local stack's own sample, not the newsletter function's (which refuses a
// send without a subject or text).
var SampleNewsletter = NewsletterSend{
	List:    "newsletter",
	Subject: "The SmartProtect newsletter",
	Paragraphs: []string{
		"This is a sample newsletter from the local pledge stack.",
		"Use the link at the bottom to unsubscribe or change what we send you. Your mail program may also offer a one-click unsubscribe button.",
	},
}

// NewsletterSend is the newsletter function's input.
type NewsletterSend struct {
	List       string   `json:"list"`
	Subject    string   `json:"subject"`
	Paragraphs []string `json:"paragraphs"`
}

// devPage serves /_dev/newsletter on the local stack only: a form that
// sends a newsletter (the sample unless edited) to everyone subscribed, so a
// person can try unsubscribing from the captured-mail viewer. A send the
// function refuses (no subject, no text) is answered 400 with its reason.
// API Gateway has no such route.
func (s *Stack) devPage(w http.ResponseWriter, r *http.Request) {
	msg, status, send := "", http.StatusOK, SampleNewsletter
	if r.Method == http.MethodPost {
		r.ParseForm()
		send = NewsletterSend{List: SampleNewsletter.List, Subject: r.PostFormValue("subject"), Paragraphs: paragraphs(r.PostFormValue("text"))}
		payload, _ := json.Marshal(send)
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Minute)
		out, err := s.Invoke(ctx, "NewsletterFunction", payload)
		cancel()
		var fe *FunctionError
		switch {
		case errors.As(err, &fe) && fe.Refused():
			msg, status = "Refused: "+fe.Message, http.StatusBadRequest
		case err != nil:
			msg, status = "Failed: "+err.Error(), http.StatusBadGateway
		default:
			msg = "Sent: " + string(out)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	devTools(send, msg, s.SES.URL).Render(r.Context(), w)
}

// paragraphs splits text at blank lines, dropping empty paragraphs.
func paragraphs(text string) []string {
	var out []string
	for p := range strings.SplitSeq(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// devSweep runs the retention sweep (POST, ?dry=true for a dry run), as the
// daily schedule would, and answers its summary: `make sweep` calls it.
func (s *Stack) devSweep(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST to run the sweep", http.StatusMethodNotAllowed)
		return
	}
	in, _ := json.Marshal(map[string]any{"dryRun": r.URL.Query().Get("dry") == "true", "now": r.URL.Query().Get("now")})
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Minute)
	defer cancel()
	out, err := s.Invoke(ctx, "RetentionFunction", in)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

// lambdaInvoke serves Lambda's Invoke API for functions that invoke others
// (AWS_ENDPOINT_URL_LAMBDA points here). An Event invocation is queued and
// answered 202, as Lambda does; the function runs in the background.
func (s *Stack) lambdaInvoke(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, ok := s.Pools[name]; !ok {
		writeJSON(w, http.StatusNotFound, `{"Type":"User","message":"Function not found: `+name+`"}`)
		return
	}
	if !s.IAM.Lambda(w, r, name) {
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, 256<<10))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, `{"message":"unreadable payload"}`)
		return
	}
	if r.Header.Get("X-Amz-Invocation-Type") == "Event" {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			if _, err := s.Invoke(ctx, name, payload); err != nil {
				slog.Warn("async invocation failed", "function", name, "err", err)
			}
		}()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	out, err := s.Invoke(r.Context(), name, payload)
	if err != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		b, _ := json.Marshal(map[string]string{"errorMessage": err.Error()})
		out = b
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}
