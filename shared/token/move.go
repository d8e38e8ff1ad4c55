package token

// PrivacyMove is the purpose of the link a correction request mails to the
// new address (subject: the request's id; works once, by its nonce): it
// confirms that the new mailbox is the person's, and moves them there. It
// is none of the other privacy links.
const PrivacyMove Purpose = "privacy-move"
