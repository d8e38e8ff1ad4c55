package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
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

// devPage serves /_dev/newsletter on the local stack only: a button that
// sends the sample newsletter to everyone subscribed, so a person can try
// unsubscribing from the captured-mail viewer. API Gateway has no such route.
func (s *Stack) devPage(w http.ResponseWriter, r *http.Request) {
	msg := ""
	if r.Method == http.MethodPost {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Minute)
		out, err := s.Invoke(ctx, "NewsletterFunction", []byte(`{"list":"newsletter"}`))
		cancel()
		if err != nil {
			msg = "Failed: " + err.Error()
		} else {
			msg = "Sent: " + string(out)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>pledge local tools</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto">
<h1>Local stack tools</h1>
<form method="post"><button type="submit">Send the sample newsletter to everyone subscribed</button></form>
<p>%s</p>
<p><a href="/signup">Sign-up page</a> · <a href="%s">Captured mail</a></p>
</body></html>`, html.EscapeString(msg), html.EscapeString(s.SES.URL))
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
