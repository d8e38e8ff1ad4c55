package main

import (
	"strings"

	"github.com/smartprotect/pledge/shared/page"
	"github.com/smartprotect/pledge/shared/people"
)

// problem says what was wrong with a sign-up in words for the person who
// filled in the form, beside the field it concerns. The domain's messages
// (people.ValidateEmail and the sign-up's checks) are written for scripts,
// which keep getting them in the JSON error; typed is the address as
// typed, for the commonest slips.
func problem(e *people.Error, typed string) page.Problem {
	switch e.Field {
	case "email":
		return page.Problem{Field: "email", Message: emailProblem(e.Message, strings.TrimSpace(typed))}
	case "name":
		return page.Problem{Field: "name", Message: "Please give your name on one line, in at most 100 characters, or leave it empty."}
	case "purposes":
		if strings.HasPrefix(e.Message, "choose") {
			return page.Problem{Field: "purposes", Message: "Please tick at least one thing you would like to receive."}
		}
		return page.Problem{Field: "purposes", Message: "Please tick only the choices shown below."}
	case "policy_version":
		if e.Code == people.Conflict {
			return page.Problem{Message: "Our privacy policy changed while this form was open. Please read the current policy, linked below, and send the form again."}
		}
	}
	return page.Problem{Message: "Something in the form did not come through as we sent it. Please check it and send it again."}
}

// emailProblem words an email address's problem.
func emailProblem(msg, typed string) string {
	switch {
	case typed == "":
		return "Please enter your email address."
	case strings.Contains(msg, "invisible character"):
		return "The address holds a hidden character, which copying and pasting can bring along. Please type it again."
	case strings.ContainsAny(typed, " \t"):
		return "An email address has no spaces. Please check the address for a space typed by mistake."
	case !strings.Contains(typed, "@"):
		return "An email address needs an @, as in jo@example.com. Please check what you typed."
	case strings.Contains(msg, "needs a dot"):
		return "The part after the @ needs a dot, as in example.com. Please check what you typed."
	case strings.Contains(msg, "outside ASCII"):
		return "We can only send to addresses whose part before the @ has no accents or other letters outside A to Z."
	}
	return "This does not look like an email address we can send to. Please check it for typos: it should look like jo@example.com."
}
