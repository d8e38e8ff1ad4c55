package localstack

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// devPrivacyClock runs the privacy-request clock now, or as of ?now=
// (RFC 3339), as `make privacy-clock` does on the dev stack.
func (s *Stack) devPrivacyClock(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST to run the privacy-request clock", http.StatusMethodNotAllowed)
		return
	}
	in, _ := json.Marshal(map[string]any{"now": r.URL.Query().Get("now")})
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Minute)
	defer cancel()
	out, err := s.Invoke(ctx, "PrivacyClockFunction", in)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}
