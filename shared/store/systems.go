package store

import "github.com/smartprotect/pledge/shared/privacy"

// staffItem is a request's part-2 record (privacy.StaffRecord) as stored:
// a map in the request item's "staff" attribute. Like the rest of the
// request it carries no address; Details goes when the request closes.
type staffItem struct {
	VerifiedBy      string       `dynamodbav:"verifiedBy,omitempty"`
	VerifiedHow     string       `dynamodbav:"verifiedHow,omitempty"`
	Details         string       `dynamodbav:"details,omitempty"`
	Note            string       `dynamodbav:"note,omitempty"`
	ExtendedMonths  int          `dynamodbav:"extendedMonths,omitempty"`
	ExtensionReason string       `dynamodbav:"extensionReason,omitempty"`
	ExtendedAt      string       `dynamodbav:"extendedAt,omitempty"`
	OriginalDue     string       `dynamodbav:"originalDue,omitempty"`
	Systems         []systemItem `dynamodbav:"systems,omitempty"`
	Notified        string       `dynamodbav:"notified,omitempty"`
	ErasedAt        string       `dynamodbav:"erasedAt,omitempty"`
}

// systemItem is one downstream system's answer (privacy.SystemAck).
type systemItem struct {
	Name   string `dynamodbav:"name"`
	At     string `dynamodbav:"at,omitempty"`
	Acted  bool   `dynamodbav:"acted,omitempty"`
	Reason string `dynamodbav:"reason,omitempty"`
}

// newStaffItem is s as stored; nil when there is nothing to store.
func newStaffItem(s privacy.StaffRecord) *staffItem {
	it := staffItem{VerifiedBy: s.VerifiedBy, VerifiedHow: s.VerifiedHow, Details: s.Details, Note: s.Note,
		ExtendedMonths: s.ExtendedMonths, ExtensionReason: s.ExtensionReason, ExtendedAt: optionalStamp(s.ExtendedAt),
		OriginalDue: optionalStamp(s.OriginalDue), Notified: optionalStamp(s.Notified), ErasedAt: optionalStamp(s.ErasedAt)}
	for _, a := range s.Systems {
		it.Systems = append(it.Systems, systemItem{Name: a.Name, At: optionalStamp(a.At), Acted: a.Acted, Reason: a.Reason})
	}
	if it.isZero() {
		return nil
	}
	return &it
}

func (it staffItem) isZero() bool {
	return it.VerifiedBy == "" && it.VerifiedHow == "" && it.Details == "" && it.Note == "" && it.ExtendedMonths == 0 &&
		it.ExtensionReason == "" && it.ExtendedAt == "" && it.OriginalDue == "" && len(it.Systems) == 0 && it.Notified == "" && it.ErasedAt == ""
}

// record is it as the domain has it (nil: an empty record).
func (it *staffItem) record() privacy.StaffRecord {
	if it == nil {
		return privacy.StaffRecord{}
	}
	s := privacy.StaffRecord{VerifiedBy: it.VerifiedBy, VerifiedHow: it.VerifiedHow, Details: it.Details, Note: it.Note,
		ExtendedMonths: it.ExtendedMonths, ExtensionReason: it.ExtensionReason, ExtendedAt: parseStamp(it.ExtendedAt),
		OriginalDue: parseStamp(it.OriginalDue), Notified: parseStamp(it.Notified), ErasedAt: parseStamp(it.ErasedAt)}
	for _, a := range it.Systems {
		s.Systems = append(s.Systems, privacy.SystemAck{Name: a.Name, At: parseStamp(a.At), Acted: a.Acted, Reason: a.Reason})
	}
	return s
}
