// Package downstream tells the systems that hold what pledge does not
// (the product's billing, support, ...) about privacy requests: one
// ID-only event per verified request on pledge's own EventBridge bus
// (template.yaml: PrivacyRequestsBus). An event carries the request's id,
// its kind, the person's key and the systems asked to answer; never an
// address or a name. The systems answer through POST
// /admin/requests/{id}/systems/{name}.
//
// A request is announced when it is verified, except a deletion verified
// on the web: it is announced when its cool-off ends and the clock starts
// its erasure (privacy.Request.InCoolOff), because until then the person
// can cancel it on the status page, and a system told at verification
// might already have deleted what the cancelled request leaves in place.
// So a cancelled deletion never reaches the systems, and there is no
// "cancelled" event for them to handle. A deletion staff entered is
// announced at entry.
//
// Delivery is at least once: an event is published, then recorded on the
// request (privacy.Notified); a run cut off between the two publishes it
// again, so a system keys what it does by the request id.
package downstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"
	"github.com/smartprotect/pledge/shared/privacy"
)

// The event's source and detail type, for the rules of the systems.
const (
	Source     = "pledge.privacy"
	DetailType = "Privacy Request"
)

// Event is an event's detail.
type Event struct {
	Request string       `json:"requestId"`
	Kind    privacy.Kind `json:"kind"`
	Person  string       `json:"person"`  // the keyed id of the address
	Systems []string     `json:"systems"` // who must answer
	Due     time.Time    `json:"due"`
}

// EventOf is r's event.
func EventOf(r privacy.Request) Event {
	e := Event{Request: r.ID, Kind: r.Kind, Person: r.PersonID, Systems: []string{}, Due: r.Due}
	for _, s := range r.Staff.Systems {
		e.Systems = append(e.Systems, s.Name)
	}
	return e
}

// API is the part of the EventBridge client a Bus uses.
type API interface {
	PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Bus publishes events on the bus named Name.
type Bus struct {
	API  API
	Name string
}

// Publish publishes the events of rs, ten to a PutEvents call (its limit).
// Errors name the call's error code or how many entries were refused,
// never an SDK error's text.
func (b Bus) Publish(ctx context.Context, rs []privacy.Request) error {
	for start := 0; start < len(rs); start += 10 {
		var entries []types.PutEventsRequestEntry
		for _, r := range rs[start:min(start+10, len(rs))] {
			detail, err := json.Marshal(EventOf(r))
			if err != nil {
				return err
			}
			entries = append(entries, types.PutEventsRequestEntry{EventBusName: aws.String(b.Name), Source: aws.String(Source),
				DetailType: aws.String(DetailType), Detail: aws.String(string(detail))})
		}
		out, err := b.API.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			var api smithy.APIError
			if errors.As(err, &api) {
				return fmt.Errorf("downstream: PutEvents: %s", api.ErrorCode())
			}
			return fmt.Errorf("downstream: PutEvents failed")
		}
		if out.FailedEntryCount > 0 {
			return fmt.Errorf("downstream: PutEvents refused %d entries", out.FailedEntryCount)
		}
	}
	return nil
}

// Publisher publishes requests' events (Bus).
type Publisher interface {
	Publish(ctx context.Context, rs []privacy.Request) error
}

// Updater is the store's one write path of a request (store.UpdateRequest).
type Updater interface {
	UpdateRequest(ctx context.Context, id string, decide privacy.Decide) (privacy.Request, bool, error)
}

// Notify publishes r's event if it still needs one (privacy.NeedsNotice)
// and records that it went; it returns r as it then stands. A failed
// publication is an error and nothing is recorded: the clock publishes
// what is left.
func Notify(ctx context.Context, st Updater, p Publisher, r privacy.Request, now time.Time) (privacy.Request, error) {
	if !r.NeedsNotice() {
		return r, nil
	}
	if err := p.Publish(ctx, []privacy.Request{r}); err != nil {
		return r, err
	}
	q, _, err := st.UpdateRequest(ctx, r.ID, func(r privacy.Request) (*privacy.Request, error) { return privacy.Notified(r, now), nil })
	if err != nil {
		return r, err
	}
	return q, nil
}
