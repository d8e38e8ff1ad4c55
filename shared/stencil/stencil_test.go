package stencil

import (
	"strings"
	"testing"
)

func TestFillEscapesForHTMLUnlessTheHoleIsRaw(t *testing.T) {
	s, err := Parse("t.html", `<p>{{name}}</p>{{{list}}}<a href="{{link}}">`, true)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Fill(Values{"name": `<b>"Jo" & co</b>`, "list": "<li>x</li>", "link": `https://x/?a=1&b="2"`})
	if err != nil {
		t.Fatal(err)
	}
	want := `<p>&lt;b&gt;&#34;Jo&#34; &amp; co&lt;/b&gt;</p><li>x</li><a href="https://x/?a=1&amp;b=&#34;2&#34;">`
	if got != want {
		t.Fatalf("Fill =\n%s\nwant\n%s", got, want)
	}
}

func TestTextStencilsInsertVerbatim(t *testing.T) {
	s, _ := Parse("t.txt", "Hello {{name}}", false)
	if got, _ := s.Fill(Values{"name": "<Jo & co>"}); got != "Hello <Jo & co>" {
		t.Fatalf("Fill = %q", got)
	}
}

func TestMistakesAreErrors(t *testing.T) {
	for _, src := range []string{"{{name", "{{}}", "{{a b}}", "{{{x}}"} {
		if _, err := Parse("bad", src, true); err == nil {
			t.Errorf("Parse(%q) accepted a malformed template", src)
		}
	}
	s, _ := Parse("t", "{{missing}}", true)
	if _, err := s.Fill(Values{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Fill with a missing value = %v", err)
	}
}
