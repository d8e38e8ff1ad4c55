package localstack

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
)

// BusEvent is one event a function put on the local EventBridge bus.
type BusEvent struct {
	Function   string // the caller's logical id
	Source     string
	DetailType string
	Detail     json.RawMessage
}

// eventBus stands in for EventBridge's PutEvents: the functions' clients
// reach it at the gateway's /_events (AWS_ENDPOINT_URL_EVENTBRIDGE); it
// enforces IAM like the other emulators and keeps what was put, for tests.
type eventBus struct {
	mu     sync.Mutex
	events []BusEvent
}

// BusEvents returns every event put so far, in order.
func (s *Stack) BusEvents() []BusEvent {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	return slices.Clone(s.bus.events)
}

func (s *Stack) putEvents(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
		http.Error(w, "only PutEvents is served here", http.StatusBadRequest)
		return
	}
	if !s.IAM.Events(w, r) {
		return
	}
	body, err := io.ReadAll(r.Body)
	var in struct {
		Entries []struct {
			Source, DetailType, Detail, EventBusName string
		}
	}
	if err != nil || json.Unmarshal(body, &in) != nil {
		http.Error(w, "malformed PutEvents", http.StatusBadRequest)
		return
	}
	type result struct {
		EventId string `json:"EventId"`
	}
	out := struct {
		FailedEntryCount int      `json:"FailedEntryCount"`
		Entries          []result `json:"Entries"`
	}{}
	s.bus.mu.Lock()
	for _, e := range in.Entries {
		s.bus.events = append(s.bus.events, BusEvent{Function: caller(r), Source: e.Source, DetailType: e.DetailType, Detail: json.RawMessage(e.Detail)})
		out.Entries = append(out.Entries, result{EventId: "local"})
	}
	s.bus.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

// Events checks a PutEvents call: every event goes to the default bus
// (the only one the functions use), which the caller must be granted.
func (m *IAM) Events(w http.ResponseWriter, r *http.Request) bool {
	return m.check(w, r, "events", func([]byte) ([]need, error) {
		return []need{{action: "events:PutEvents", resource: "arn:aws:events:" + Region + ":" + Account + ":event-bus/default"}}, nil
	}, denyREST)
}
