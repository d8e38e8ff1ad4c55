package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/smartprotect/pledge/shared/mail"
	"github.com/smartprotect/pledge/shared/page"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/store"
	"github.com/smartprotect/pledge/shared/token"
	"github.com/smartprotect/pledge/shared/web"
)

// corrector changes a person for a correction request (store.Store).
type corrector interface {
	UpdatePerson(ctx context.Context, personID string, decide people.Decide) (people.Change, error)
	// MovePerson moves a person to the key of a corrected address, or
	// finishes such a move that was cut off.
	MovePerson(ctx context.Context, m store.Move) error
}

// correctionMailer sends a correction's own mails (mail.Sender).
type correctionMailer interface {
	SendCorrection(ctx context.Context, m mail.CorrectionMail) error
}

// verifyCorrection presses a correction's verification button (read is
// the request as read, p its person as read): a new address that belongs
// to someone else refuses the request, changing nothing (409); otherwise a
// new name is applied at once (people.Rename), and a new address is
// mailed its own confirmation link; the status page shows where it stands.
func (h *handler) verifyCorrection(ctx context.Context, req web.Request, c token.Claims, read privacy.Request, p people.Person) (web.Response, error) {
	now := h.now().UTC()
	taken := false
	if read.Correction.MovesAddress() {
		other, err := h.person(ctx, read.Correction.PersonID)
		if err != nil {
			return h.site.Fail(req, err)
		}
		taken = other.Exists()
	}
	live := read.Status == privacy.Unverified && now.Before(read.Expires) && c.Nonce != "" && c.Nonce == read.Nonce
	if live && p.Exists() && !taken && read.Correction.Name != "" {
		// First the name: were the request's write below lost, pressing
		// again finds the name applied and changes nothing twice.
		if _, err := h.correct.UpdatePerson(ctx, read.PersonID, people.Rename(read.Correction.Name, read.ID, now, h.newID)); err != nil {
			return h.site.Fail(req, err)
		}
	}
	moveNonce := h.newID()
	var outcome privacy.Verification
	var email string
	r, changed, err := h.requests.UpdateRequest(ctx, read.ID, func(r privacy.Request) (*privacy.Request, error) {
		q, v := h.timing.VerifyCorrection(r, c.Nonce, p.Exists(), taken, moveNonce, now)
		outcome, email = v, r.Email
		return q, nil
	})
	if err != nil {
		return h.site.Fail(req, err)
	}
	switch outcome {
	case privacy.LinkUsed:
		return h.site.Fail(req, errLinkUsed)
	case privacy.Lapsed:
		return h.site.Fail(req, people.Errorf(people.Expired, "t", "This request lapsed: it was not confirmed within 7 days. Make the request again."))
	}
	if r.Status == privacy.Refused && r.Reason == privacy.Other {
		return h.taken(req, r), nil
	}
	if !changed || outcome != privacy.JustVerified {
		return h.show(req, r, http.StatusOK, ""), nil
	}
	base := web.BaseURL(req, h.base)
	var sent bool
	switch {
	case r.Status == privacy.Refused:
		sent, err = h.sendTo(ctx, p, mail.RequestMail{PersonID: r.PersonID, To: email, Kind: r.Kind.Label(), Due: r.Due,
			Topic: mail.RequestNoData, StatusLink: h.statusLink(base, r.ID, now)}, now)
	case r.Status == privacy.Completed:
		sent, err = h.sendCorrection(ctx, p, mail.CorrectionMail{PersonID: r.PersonID, To: email, Topic: mail.CorrectionDone,
			StatusLink: h.statusLink(base, r.ID, now)}, now)
	default:
		// Nothing is known of the new address's deliverability: it is mailed.
		err = h.correctMail.SendCorrection(ctx, mail.CorrectionMail{PersonID: r.Correction.PersonID, To: r.Correction.Email,
			Topic: mail.CorrectionConfirmAddress, Until: now.Add(h.timing.LinkTTL), StatusLink: h.statusLink(base, r.ID, now),
			Link: web.TokenURL(base, "/privacy/correct", h.keys.IssueOnce(token.PrivacyMove, r.ID, r.Correction.Nonce, nil, now, h.timing.LinkTTL))})
		sent = err == nil
	}
	if err != nil {
		h.log.ErrorContext(ctx, "privacy request mail failed", "person", r.PersonID, "request", r.ID, "code", mail.ErrorCode(err))
	}
	h.log.InfoContext(ctx, "privacy request verified", "person", r.PersonID, "request", r.ID, "kind", r.Kind, "status", r.Status, "mailed", sent)
	return h.show(req, r, http.StatusOK, "Thank you: your request is confirmed."), nil
}

// sendCorrection mails m unless p's address is known not to receive mail.
func (h *handler) sendCorrection(ctx context.Context, p people.Person, m mail.CorrectionMail, now time.Time) (bool, error) {
	if p.Exists() && !p.Deliverability.Reachable(now) {
		h.log.InfoContext(ctx, "privacy request mail skipped: undeliverable", "person", m.PersonID)
		return false, nil
	}
	if err := h.correctMail.SendCorrection(ctx, m); err != nil {
		return false, err
	}
	return true, nil
}

// movePage shows the new mailbox's button (GET never moves anything).
func (h *handler) movePage(ctx context.Context, req web.Request) (web.Response, error) {
	raw := web.Query(req, "t")
	c, err := h.claims(raw, token.PrivacyMove)
	if err != nil {
		return h.site.Fail(req, err)
	}
	r, err := h.request(ctx, c)
	if err != nil {
		return h.site.Fail(req, err)
	}
	if !web.WantsHTML(req) {
		return web.JSON(http.StatusOK, r.Summary()), nil
	}
	return h.site.Page(http.StatusOK, "Confirm your new address", page.PrivacyMovePage(raw)), nil
}

// move presses the new mailbox's button: the request goes in progress
// once (privacy.ConfirmMove: the link works once), the person moves to
// the new address's key (store.MovePerson), the request completes and the
// new address is told. Pressed again after a run was cut off, it finishes
// the move.
func (h *handler) move(ctx context.Context, req web.Request) (web.Response, error) {
	var in verifyRequest
	if err := web.Decode(req, &in); err != nil {
		return h.site.Fail(req, err)
	}
	c, err := h.claims(in.Token, token.PrivacyMove)
	if err != nil {
		return h.site.Fail(req, err)
	}
	now := h.now().UTC()
	var step privacy.MoveStep
	r, _, err := h.requests.UpdateRequest(ctx, c.Subject, func(r privacy.Request) (*privacy.Request, error) {
		q, s := privacy.ConfirmMove(r, c.Nonce, now)
		step = s
		return q, nil
	})
	if errors.Is(err, people.ErrNotFound) {
		return h.site.Fail(req, errLinkInvalid)
	}
	if err != nil {
		return h.site.Fail(req, err)
	}
	switch step {
	case privacy.MoveLinkUsed:
		return h.site.Fail(req, errLinkUsed)
	case privacy.MoveDone:
		return h.show(req, r, http.StatusOK, ""), nil
	}
	to := r.Correction
	err = h.correct.MovePerson(ctx, store.Move{From: to.From, To: to.PersonID, Email: to.Email, RequestID: r.ID, At: to.Confirmed, EntryID: r.ID})
	if errors.Is(err, privacy.ErrAddressTaken) {
		// Taken since verification: the request is refused, nothing moved.
		r, _, err = h.requests.UpdateRequest(ctx, r.ID, func(r privacy.Request) (*privacy.Request, error) { return privacy.RefuseTaken(r, now), nil })
		if err != nil {
			return h.site.Fail(req, err)
		}
		return h.taken(req, r), nil
	}
	if err != nil {
		h.log.ErrorContext(ctx, "correction move cut off", "request", r.ID, "code", mail.ErrorCode(err))
		return h.site.Fail(req, err)
	}
	newEmail := to.Email
	r, changed, err := h.requests.UpdateRequest(ctx, r.ID, func(r privacy.Request) (*privacy.Request, error) { return privacy.CompleteCorrection(r, now), nil })
	if err != nil {
		return h.site.Fail(req, err)
	}
	if changed {
		err := h.correctMail.SendCorrection(ctx, mail.CorrectionMail{PersonID: to.PersonID, To: newEmail, Topic: mail.CorrectionDone,
			StatusLink: h.statusLink(web.BaseURL(req, h.base), r.ID, now)})
		if err != nil {
			h.log.ErrorContext(ctx, "privacy request mail failed", "person", to.PersonID, "request", r.ID, "code", mail.ErrorCode(err))
		}
	}
	h.log.InfoContext(ctx, "privacy request corrected", "person", to.PersonID, "request", r.ID, "resumed", step == privacy.ResumeMove)
	return h.show(req, r, http.StatusOK, "Your address is changed: your data is now kept under the new address."), nil
}

// taken answers a correction refused because its new address belongs to
// someone else (r, refused): a browser gets the status page, saying so, a
// script the JSON error (409, code conflict, field new_email) every client
// error in JSON has (api/openapi.yaml).
func (h *handler) taken(req web.Request, r privacy.Request) web.Response {
	if !web.WantsHTML(req) {
		resp, _ := web.FailAPI(privacy.ErrAddressTaken)
		return resp
	}
	return h.show(req, r, http.StatusConflict, "We cannot use the new address: it belongs to another person we hold. Nothing was changed.")
}

// correctionStep says what happens next with a correction.
func correctionStep(r privacy.Request) string {
	switch r.Status {
	case privacy.Verified:
		return "Press the button in the mail we sent to your new address. Then your data moves there."
	case privacy.InProgress:
		return "We are moving your data to your new address."
	case privacy.Completed:
		return "Your details were corrected on " + mail.Date(r.ClosedAt) + "."
	case privacy.Expired:
		if !r.VerifiedAt.IsZero() {
			return "The new address was not confirmed within 24 hours, so nothing moved. You can make the request again."
		}
	case privacy.Refused:
		if r.Reason == privacy.Other && r.ReasonText == privacy.AddressTakenText {
			return "We could not use the new address: it belongs to another person we hold. Nothing was changed. Write to us if both addresses are yours."
		}
	}
	return ""
}
