package localstack

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// BusEvent is one event a function put on the local EventBridge bus.
type BusEvent struct {
	Function   string // the caller's logical id
	Bus        string // the bus's name ("default" when the entry names none)
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
		s.bus.events = append(s.bus.events, BusEvent{Function: caller(r), Bus: busName(e.EventBusName), Source: e.Source, DetailType: e.DetailType, Detail: json.RawMessage(e.Detail)})
		out.Entries = append(out.Entries, result{EventId: "local"})
	}
	s.bus.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

// Events checks a PutEvents call: the caller must be granted the bus of
// every entry (by name or ARN; none names the default bus).
func (m *IAM) Events(w http.ResponseWriter, r *http.Request) bool {
	return m.check(w, r, "events", func(body []byte) ([]need, error) {
		var in struct {
			Entries []struct{ EventBusName string }
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		var ns []need
		seen := map[string]bool{}
		for _, e := range in.Entries {
			if arn := busARN(busName(e.EventBusName)); !seen[arn] {
				seen[arn] = true
				ns = append(ns, need{action: "events:PutEvents", resource: arn})
			}
		}
		return ns, nil
	}, denyREST)
}

// busName is the name of the bus an entry names by name or ARN.
func busName(nameOrARN string) string {
	if nameOrARN == "" {
		return "default"
	}
	if _, name, ok := strings.Cut(nameOrARN, ":event-bus/"); ok {
		return name
	}
	return nameOrARN
}

func busARN(name string) string {
	return "arn:aws:events:" + Region + ":" + Account + ":event-bus/" + name
}
