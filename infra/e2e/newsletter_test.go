package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smartprotect/pledge/infra/localstack"
)

func TestTheDevPageSendsTheSampleNewsletterAndAnswersARefusalWith400(t *testing.T) {
	const email = "sample-reader@example.com"
	subscribe(t, email, "newsletter")

	page := do(t, http.MethodGet, "/_dev/newsletter", "", "", nil)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `value="`+localstack.SampleNewsletter.Subject+`"`) {
		t.Fatalf("the dev page = %d %s", page.Status, page.Body)
	}

	mails := countMails(t)
	for name, form := range map[string]url.Values{
		"no subject": {"subject": {""}, "text": {"Hello."}},
		"no text":    {"subject": {"News"}, "text": {"\r\n\r\n"}},
	} {
		got := postForm(t, "/_dev/newsletter", form)
		if got.Status != http.StatusBadRequest || !strings.Contains(got.Body, "Refused: invalid: ") {
			t.Fatalf("%s: the dev page answered %d %s; want 400 with the function's reason", name, got.Status, got.Body)
		}
	}
	if n := countMails(t); n != mails {
		t.Fatalf("%d mails sent by refused sends", n-mails)
	}

	sample := localstack.SampleNewsletter
	got := postForm(t, "/_dev/newsletter", url.Values{"subject": {sample.Subject}, "text": {strings.Join(sample.Paragraphs, "\r\n\r\n")}})
	if got.Status != http.StatusOK || !strings.Contains(got.Body, "Sent: ") {
		t.Fatalf("sending the sample = %d %s", got.Status, got.Body)
	}
	ms := marketingTo(t, email)
	if len(ms) != 1 || ms[0].Subject != sample.Subject || !strings.Contains(ms[0].Body.Text, sample.Paragraphs[0]) || !strings.Contains(ms[0].Body.Text, sample.Paragraphs[1]) {
		t.Fatalf("%d marketing mails to %s: %+v", len(ms), email, ms)
	}
}

func TestTheNewsletterFunctionRefusesAnEmptySubjectAsAClientError(t *testing.T) {
	mails := countMails(t)
	_, err := stack.Invoke(context.Background(), "NewsletterFunction", []byte(`{"list":"newsletter","paragraphs":["Hello"]}`))
	fe, ok := err.(*localstack.FunctionError)
	if !ok || !fe.Refused() || !strings.Contains(fe.Message, "(subject)") {
		t.Fatalf("invoking without a subject = %v; want a refusal naming the subject", err)
	}
	if n := countMails(t); n != mails {
		t.Fatalf("%d mails sent", n-mails)
	}
}
