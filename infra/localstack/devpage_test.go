package localstack

import (
	"context"
	"strings"
	"testing"

	"github.com/smartprotect/pledge/shared/web/webtest"
)

func TestTheDevPageKeepsWhatItShowsInItsPlace(t *testing.T) {
	render := func(v string) string {
		var b strings.Builder
		if err := devTools(NewsletterSend{Subject: v, Paragraphs: []string{v, v}}, v, v).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, v := range webtest.Hostile {
		webtest.CheckHTML(t, render(webtest.Plainly(v)), render(v), v)
	}
}
