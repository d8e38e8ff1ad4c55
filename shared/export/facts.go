package export

import (
	"fmt"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

// Processing is what GDPR Art. 15(1)(a)-(h) says must come with the data.
type Processing struct {
	Purposes   []ProcessingPurpose `json:"purposes"`   // (a)
	Categories []Category          `json:"categories"` // (b), with (g) the sources of each
	Recipients []Recipient         `json:"recipients"` // (c)
	Retention  []Period            `json:"retention"`  // (d)
	Sources    []Source            `json:"sources"`    // (g)
	Rights     []string            `json:"rights"`     // (e), (f)
	Automated  string              `json:"automatedDecisions"`
}

// ProcessingPurpose is one purpose of the processing, with the policy
// section it comes from.
type ProcessingPurpose struct {
	ID            string   `json:"id"`
	Description   string   `json:"description"`
	PolicySection string   `json:"policySection"`
	Consent       bool     `json:"consent"` // only with the person's consent (see purposes)
	Categories    []string `json:"categories"`
}

// Category is a category of personal data held, and where it came from.
type Category struct {
	ID          string   `json:"id"`
	Description string   `json:"description"`
	Sources     []string `json:"sources"`
}

// Recipient is a category of recipients of the data.
type Recipient struct {
	Category      string   `json:"category"`
	Role          string   `json:"role"` // processor, recipient
	Description   string   `json:"description"`
	PolicySection string   `json:"policySection"`
	Categories    []string `json:"categories"`
}

// Period is how long a category of data is kept under one rule: Period is
// an ISO 8601 duration (P7D, PT36H) from the live configuration, absent
// where the rule is a condition rather than a time ("while the account is
// open").
type Period struct {
	Category    string `json:"category"`
	Rule        string `json:"rule"`
	Period      string `json:"period,omitempty"`
	Description string `json:"description"`
}

// Source is where data came from.
type Source struct {
	ID          string `json:"id"`
	Description string `json:"description"`
}

// The categories of data.
const (
	catIdentity     = "identity"
	catConsents     = "consent-records"
	catLinks        = "confirmation-links"
	catDelivery     = "deliverability"
	catAccount      = "account"
	catNotices      = "notice-records"
	catRequests     = "privacy-requests"
	srcForm         = "signup-form"
	srcPages        = "confirm-and-preferences-pages"
	srcMailLinks    = "unsubscribe-links"
	srcProduct      = "product-account-events"
	srcSES          = "ses-feedback"
	srcPledge       = "pledge"
	srcPrivacyPages = "privacy-request-pages"
)

func processing(f Facts) Processing {
	r := f.Retention
	return Processing{
		Purposes: []ProcessingPurpose{
			{ID: string(people.Newsletter), PolicySection: "11", Consent: true, Categories: []string{catIdentity},
				Description: "Sending you the newsletter by email. Your name and email address are used only to send it."},
			{ID: string(people.Offers), PolicySection: "introduction", Consent: true, Categories: []string{catIdentity},
				Description: "Telling you by email about other products and services of " + f.Controller.Name + " and its affiliates."},
			{ID: string(people.Surveys), PolicySection: "5", Consent: true, Categories: []string{catIdentity},
				Description: "Inviting you by email to voluntary customer surveys."},
			{ID: string(people.Testimonials), PolicySection: "12", Consent: true, Categories: []string{catIdentity},
				Description: "Publishing a testimonial you give us, together with your name."},
			{ID: "double-opt-in", PolicySection: "5, 7, 12", Categories: []string{catIdentity, catLinks},
				Description: "Mailing you a link to confirm each consent you ask for, so that nobody can sign you up without you."},
			{ID: "proof-of-consent", PolicySection: "5, 11, 12", Categories: []string{catConsents},
				Description: "Keeping a record of what you agreed to or withdrew, when and how, to prove it."},
			{ID: "policy-notices", PolicySection: "6, 15", Categories: []string{catIdentity, catNotices},
				Description: "Telling you by email of material changes to the privacy policy before they take effect, and recording that we did."},
			{ID: "deliverability", PolicySection: "10, 11", Categories: []string{catDelivery},
				Description: "Not mailing an address that bounces, and no marketing to an address that reported our mail as spam."},
			{ID: "retention", PolicySection: "11", Categories: []string{catAccount},
				Description: "Keeping your data while your account is active or as needed, then deleting it: the product tells us when your account opens or closes."},
			{ID: "privacy-requests", PolicySection: "11", Categories: []string{catRequests},
				Description: "Answering your requests to access, correct or delete your information within 30 days."},
		},
		Categories: []Category{
			{ID: catIdentity, Sources: []string{srcForm, srcPages, srcProduct},
				Description: "Your email address and name; where you stand in double opt-in; the policy version you were shown; when these changed."},
			{ID: catConsents, Sources: []string{srcForm, srcPages, srcMailLinks},
				Description: "Each consent given, confirmed or withdrawn: purpose, time, form or page, policy version, hash of the text shown, your browser's user agent and a keyed hash of your IP address (never the address itself)."},
			{ID: catLinks, Sources: []string{srcForm, srcPages},
				Description: "Confirmation links mailed to you and not yet used: what each confirms and the name you gave with it."},
			{ID: catDelivery, Sources: []string{srcSES},
				Description: "Whether mail reaches your address: bounces, complaints and deliveries Amazon SES reported."},
			{ID: catAccount, Sources: []string{srcProduct},
				Description: "Whether you have an account with the product, and when it opened or closed."},
			{ID: catNotices, Sources: []string{srcPledge, srcSES},
				Description: "Which policy-change notices were sent to you, when, and SES's id of each mail."},
			{ID: catRequests, Sources: []string{srcPrivacyPages, srcPledge},
				Description: "Your privacy requests: their kind, status and times, and what was done."},
		},
		Recipients: []Recipient{
			{Category: "mail delivery: Amazon Web Services (Amazon SES)", Role: "processor", PolicySection: "3",
				Categories:  []string{catIdentity, catNotices, catDelivery},
				Description: "Delivers the mail we send you and reports whether it bounced, was delivered or was reported as spam. It may use your information only to provide this service to us."},
			{Category: "hosting: Amazon Web Services (Amazon DynamoDB, AWS Lambda)", Role: "processor", PolicySection: "3, 10",
				Categories:  []string{catIdentity, catConsents, catLinks, catDelivery, catAccount, catNotices, catRequests},
				Description: "Stores this data and runs the software that keeps it, on our behalf and only as we instruct."},
			{Category: "public authorities", Role: "recipient", PolicySection: "6",
				Categories:  []string{catIdentity, catConsents},
				Description: "Only where the law requires us to disclose information. We do not sell, rent or lease customer lists to third parties."},
			{Category: "the public", Role: "recipient", PolicySection: "12",
				Categories:  []string{catIdentity},
				Description: "Only with your consent to testimonials: a testimonial you give may be published with your name."},
		},
		Retention: retention(r, f.RequestRecords),
		Sources: []Source{
			{ID: srcForm, Description: "You, on the sign-up form."},
			{ID: srcPages, Description: "You, when you press a confirm button or save your preferences."},
			{ID: srcMailLinks, Description: "You, when you use the unsubscribe link in a mail (or your mail program does, on your behalf)."},
			{ID: srcProduct, Description: "The product, when your account opens or closes (with your name, if we did not know your address yet)."},
			{ID: srcSES, Description: "Amazon SES, which reports what became of the mail we sent you."},
			{ID: srcPrivacyPages, Description: "You, on the privacy request pages."},
			{ID: srcPledge, Description: "Our own records of what we sent you and when."},
		},
		Rights: []string{
			"You may ask us to correct or update your information, or to delete it (policy section 11).",
			"You may withdraw any consent at any time, with the link in every marketing mail or on your preferences page; the withdrawal does not affect what was done before it.",
			"You may ask us to restrict the processing of your information, or object to it.",
			"You may lodge a complaint with a data protection supervisory authority.",
		},
		Automated: "No decision about you is taken by automated means, and no profile of you is built.",
	}
}

// retention states each rule with the period the running function is
// configured with (people.Retention.PersonClock and WithProofClocks, the
// notice records' clock, the sweep).
func retention(r people.Retention, requests time.Duration) []Period {
	ps := []Period{
		{Category: catIdentity, Rule: "open-account", Description: "Kept while your account with the product is open."},
		{Category: catIdentity, Rule: string(people.RuleUnconfirmed), Period: isoPeriod(r.Unconfirmed),
			Description: "Deleted " + inWords(r.Unconfirmed) + " after you signed up, if you never confirmed."},
		{Category: catIdentity, Rule: string(people.RuleNoPurpose), Period: isoPeriod(r.NoPurpose),
			Description: "Deleted " + inWords(r.NoPurpose) + " after the last change, once no consent is in force and you have no account."},
		{Category: catIdentity, Rule: string(people.RuleInactive), Period: isoPeriod(r.Inactive),
			Description: "Deleted " + inWords(r.Inactive) + " after your last confirmed activity, while a consent is in force and you have no open account."},
		{Category: catIdentity, Rule: string(people.RuleClosedAccount), Period: isoPeriod(r.ClosedAccount),
			Description: "Deleted " + inWords(r.ClosedAccount) + " after your account closed (later if a newsletter you kept still needs your address)."},
		{Category: catLinks, Rule: "with-profile", Description: "Kept with your profile until used or expired; deleted with it."},
		{Category: catDelivery, Rule: "with-profile", Description: "Kept with your profile; deleted with it."},
		{Category: catAccount, Rule: "with-profile", Description: "Kept with your profile; deleted with it."},
		{Category: catConsents, Rule: string(people.RuleLedgerProof), Period: isoPeriod(r.LedgerProof),
			Description: "Kept while the consent is in force; entries of a consent you withdrew, and all entries once your profile is deleted, are deleted " + inWords(r.LedgerProof) + " later, as proof until then."},
		{Category: catNotices, Rule: string(people.RuleNoticeRecords), Period: isoPeriod(r.NoticeRecords),
			Description: "Deleted " + inWords(r.NoticeRecords) + " after the policy version they announced took effect."},
	}
	req := Period{Category: catRequests, Rule: "request-records", Description: "Kept as proof that the request was answered; a completed deletion keeps no address."}
	if requests > 0 {
		req.Period = isoPeriod(requests)
		req.Description = "Kept " + inWords(requests) + " after the request was closed, as proof that it was answered; a completed deletion keeps no address."
	}
	return append(ps, req)
}

// isoPeriod is d as an ISO 8601 duration: whole days as PnD, whole hours as
// PTnH, else whole seconds as PTnS.
func isoPeriod(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("P%dD", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("PT%dH", d/time.Hour)
	}
	return fmt.Sprintf("PT%dS", d/time.Second)
}

// inWords says d as people do: "3 years" (whole multiples of 365 days),
// "90 days", "36 hours", "45 minutes".
func inWords(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d%(365*day) == 0:
		return plural(int64(d/(365*day)), "year")
	case d%day == 0:
		return plural(int64(d/day), "day")
	case d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	}
	return plural(int64(d/time.Second), "second")
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
