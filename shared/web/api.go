package web

import (
	"mime"

	"github.com/smartprotect/pledge/shared/people"
)

// The admin API routes (IAM-authorised, called by operators' tools and the
// product, never rendered by a browser) take JSON and answer in JSON.

// DecodeAPI reads an admin route's body, which must be application/json,
// into dst, with the rules of Decode.
func DecodeAPI(req Request, dst any, what string) error {
	if mt, _, err := mime.ParseMediaType(Header(req, "Content-Type")); err != nil || mt != "application/json" {
		return people.Errorf(people.UnsupportedMedia, "", "send %s as application/json", what)
	}
	return Decode(req, dst)
}

// FailAPI is Fail for the admin routes: a client mistake is answered in
// JSON whatever the client accepts.
func FailAPI(err error) (Response, error) {
	e, ok := people.AsError(err)
	if !ok {
		return Response{}, err
	}
	return errorJSON(e), nil
}

// Caller is the IAM principal API Gateway authorised for an admin route,
// for the audit trail.
func Caller(req Request) string {
	if a := req.RequestContext.Authorizer; a != nil && a.IAM != nil {
		return a.IAM.UserARN
	}
	return ""
}
