package mail

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// Kind is the kind of mail a send is, as its message tag names it.
type Kind string

const (
	KindConfirm    Kind = "confirm"    // the double opt-in mail
	KindNewsletter Kind = "newsletter" // marketing mail, under a consent
	KindNotice     Kind = "notice"     // a policy-change notice (policy section 15)
	KindLink       Kind = "link"       // a fresh link to a person's preferences page, asked for by mail
	KindRequest    Kind = "request"    // the mails of a person's requests (later features)
)

var kinds = map[Kind]bool{KindConfirm: true, KindNewsletter: true, KindNotice: true, KindLink: true, KindRequest: true}

// The message tags every mail carries (per recipient in SendBulkEmail). SES
// copies them into each of the mail's events (mail.tags), which is how an
// event finds its person: never by address, and never by a header, which
// the recipient would read. They name the person by key, never by address.
const (
	TagPerson = "pledge-person" // the person key (a random or keyed id, base64url)
	TagKind   = "pledge-mail"   // the Kind
	TagNotice = "pledge-notice" // the policy version of a notice (escaped: see tagValue)
)

// tagsFor returns the message tags of a mail of kind to personID, for
// version's notice ("" for other mail). SES accepts tag values of ASCII
// letters, digits, '_' and '-' only, up to 256 characters ("Message tags",
// SES v2 API MessageTag): a value it would refuse is an error here.
func tagsFor(kind Kind, personID, version string) ([]types.MessageTag, error) {
	if !kinds[kind] {
		return nil, fmt.Errorf("mail: unknown kind of mail %q", kind)
	}
	if personID == "" || !tagSafe(personID) {
		return nil, fmt.Errorf("mail: a %s mail needs the person's key, as a tag value SES takes", kind)
	}
	tags := []types.MessageTag{
		{Name: aws.String(TagPerson), Value: aws.String(personID)},
		{Name: aws.String(TagKind), Value: aws.String(string(kind))},
	}
	if version != "" {
		tags = append(tags, types.MessageTag{Name: aws.String(TagNotice), Value: aws.String(tagValue(version))})
	}
	return tags, nil
}

// tagSafe reports whether SES takes v as a tag value.
func tagSafe(v string) bool {
	if v == "" || len(v) > 256 {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// tagValue escapes a policy version (letters, digits, '.', '_', '-';
// notice.ValidVersion) into a tag value: '_' becomes "_u" and '.' "_d", so
// "2027.1_b" is "2027_d1_ub", and fromTagValue reverses it exactly.
func tagValue(version string) string {
	return strings.NewReplacer("_", "_u", ".", "_d").Replace(version)
}

// fromTagValue reverses tagValue; ok is false for a value tagValue never
// makes.
func fromTagValue(v string) (version string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '_' {
			b.WriteByte(v[i])
			continue
		}
		if i+1 == len(v) {
			return "", false
		}
		i++
		switch v[i] {
		case 'u':
			b.WriteByte('_')
		case 'd':
			b.WriteByte('.')
		default:
			return "", false
		}
	}
	return b.String(), true
}
