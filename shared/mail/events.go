package mail

import (
	"encoding/json"
	"time"

	"github.com/smartprotect/pledge/shared/notice"
)

// EventType is the type of an SES event, as its eventType names it.
type EventType string

// The event types pledge's configuration set publishes (its
// EventBridge destination's MatchingEventTypes).
const (
	EventSend          EventType = "Send"
	EventDelivery      EventType = "Delivery"
	EventBounce        EventType = "Bounce"
	EventComplaint     EventType = "Complaint"
	EventDeliveryDelay EventType = "DeliveryDelay"
	EventReject        EventType = "Reject"
)

var eventTypes = map[EventType]bool{EventSend: true, EventDelivery: true, EventBounce: true, EventComplaint: true,
	EventDeliveryDelay: true, EventReject: true}

// Event is one SES event about one of our mails, as its tags and body say:
// it names the person by key. Of the addresses the event carries it keeps
// only Recipient, to check against the person (never to log).
type Event struct {
	Type      EventType
	MessageID string
	Sent      time.Time // when SES accepted the mail (mail.timestamp)
	Kind      Kind
	PersonID  string
	Version   string // the policy version, for a notice
	// BounceType ("Permanent", "Transient", "Undetermined") and
	// BounceSubType, for a Bounce; FeedbackType (e.g. "abuse", "not-spam"),
	// for a Complaint. Only SES's words: no recipient.
	BounceType, BounceSubType, FeedbackType string
	// Recipient is the one address a Bounce, Complaint or Delivery names in
	// its recipient list (bounce.bouncedRecipients,
	// complaint.complainedRecipients, delivery.recipients; never a
	// header): the person the tags name must have it (people.Feedback's
	// Recipient). Empty for the other types. Never logged.
	Recipient string
}

// Sent is the notice record a notice's Send event marks sent.
func (e Event) SentNotice() (notice.Sent, bool) {
	if e.Type != EventSend || e.Kind != KindNotice {
		return notice.Sent{}, false
	}
	return notice.Sent{Version: e.Version, PersonID: e.PersonID, MessageID: e.MessageID}, true
}

// Why an event is dropped: DecodeEvent's error is a *DropError with one.
const (
	DropMalformed   = "malformed"    // not an SES event's JSON shape
	DropUnknownType = "unknown-type" // an event type we do not publish
	DropNotOurs     = "not-ours"     // without our tags: a mail pledge did not send
	DropBadTags     = "bad-tags"     // our tags, with values we never write
	// DropRecipients: a bounce, complaint or delivery whose recipient list
	// does not name exactly one address (pledge's mail has one recipient).
	DropRecipients = "recipients"
)

// DropError says why an event is dropped. Its text holds only the reason
// and the event type (a word, or "?"): never an address.
type DropError struct {
	Reason string
	Type   string
}

func (e *DropError) Error() string { return "mail event dropped: " + e.Reason + " (" + e.Type + ")" }

// DecodeEvent reads the detail of an SES event as EventBridge delivers it
// from a configuration set's destination ({"eventType": ..., "mail":
// {"messageId", "timestamp", "tags": {name: [values]}}, "bounce": ...}). An
// event that is malformed, of a type we do not publish, without our tags,
// with tags we never write, or (a bounce, complaint or delivery) whose
// recipient list does not name exactly one address returns a *DropError:
// the caller logs its reason and drops the event (a retry would fail the
// same way).
func DecodeEvent(detail []byte) (Event, error) {
	var in struct {
		EventType string `json:"eventType"`
		Mail      struct {
			MessageID string              `json:"messageId"`
			Timestamp string              `json:"timestamp"`
			Tags      map[string][]string `json:"tags"`
		} `json:"mail"`
		Bounce *struct {
			BounceType    string      `json:"bounceType"`
			BounceSubType string      `json:"bounceSubType"`
			Recipients    []recipient `json:"bouncedRecipients"`
		} `json:"bounce"`
		Complaint *struct {
			FeedbackType string      `json:"complaintFeedbackType"`
			Recipients   []recipient `json:"complainedRecipients"`
		} `json:"complaint"`
		Delivery *struct {
			Recipients []string `json:"recipients"`
		} `json:"delivery"`
	}
	if err := json.Unmarshal(detail, &in); err != nil || in.EventType == "" || in.Mail.MessageID == "" {
		return Event{}, &DropError{Reason: DropMalformed, Type: word(in.EventType)}
	}
	typ := EventType(in.EventType)
	if !eventTypes[typ] {
		return Event{}, &DropError{Reason: DropUnknownType, Type: word(in.EventType)}
	}
	drop := func(reason string) (Event, error) { return Event{}, &DropError{Reason: reason, Type: string(typ)} }
	one := func(name string) (string, bool) {
		vs, ok := in.Mail.Tags[name]
		if !ok {
			return "", false
		}
		if len(vs) != 1 {
			return "", true
		}
		return vs[0], true
	}
	person, hasPerson := one(TagPerson)
	kind, hasKind := one(TagKind)
	if !hasPerson && !hasKind {
		return drop(DropNotOurs)
	}
	if !tagSafe(person) || !kinds[Kind(kind)] {
		return drop(DropBadTags)
	}
	ev := Event{Type: typ, MessageID: in.Mail.MessageID, Kind: Kind(kind), PersonID: person}
	if t, err := time.Parse(time.RFC3339Nano, in.Mail.Timestamp); err == nil {
		ev.Sent = t
	}
	if v, has := one(TagNotice); has || ev.Kind == KindNotice {
		version, ok := fromTagValue(v)
		if !has || !ok || ev.Kind != KindNotice || notice.ValidVersion(version) != nil {
			return drop(DropBadTags)
		}
		ev.Version = version
	}
	var to []string
	switch {
	case typ == EventBounce && in.Bounce == nil, typ == EventComplaint && in.Complaint == nil, typ == EventDelivery && in.Delivery == nil:
		return drop(DropMalformed)
	case typ == EventBounce:
		ev.BounceType, ev.BounceSubType = word(in.Bounce.BounceType), word(in.Bounce.BounceSubType)
		to = addresses(in.Bounce.Recipients)
	case typ == EventComplaint:
		ev.FeedbackType = word(in.Complaint.FeedbackType)
		to = addresses(in.Complaint.Recipients)
	case typ == EventDelivery:
		to = in.Delivery.Recipients
	default:
		return ev, nil
	}
	if len(to) != 1 || to[0] == "" {
		return drop(DropRecipients)
	}
	ev.Recipient = to[0]
	return ev, nil
}

// recipient is one entry of a bounce's or complaint's recipient list.
type recipient struct {
	EmailAddress string `json:"emailAddress"`
}

func addresses(rs []recipient) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.EmailAddress
	}
	return out
}

// word keeps a word SES sends (an event or bounce type) if it is one: up
// to 64 letters, digits, '_' or '-'; anything else is "?", so that nothing
// an event carries reaches a log unchecked.
func word(s string) string {
	if !tagSafe(s) || len(s) > 64 {
		return "?"
	}
	return s
}
