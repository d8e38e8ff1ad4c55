package web

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/smartprotect/pledge/shared/people"
)

type form struct {
	Email    string   `json:"email"`
	Purposes []string `json:"purposes"`
}

func request(contentType, body string, b64 bool) Request {
	req := Request{Headers: map[string]string{"content-type": contentType}, Body: body}
	if b64 {
		req.Body = base64.StdEncoding.EncodeToString([]byte(body))
		req.IsBase64Encoded = true
	}
	return req
}

const multipartBody = "--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@example.com\r\n" +
	"--XyZ\r\nContent-Disposition: form-data; name=\"purposes\"\r\n\r\nnewsletter\r\n" +
	"--XyZ\r\nContent-Disposition: form-data; name=\"purposes\"\r\n\r\nsurveys\r\n--XyZ--\r\n"

func TestDecodeAcceptsEveryEncodingAClientSends(t *testing.T) {
	tests := []struct {
		name string
		req  Request
	}{
		{"a urlencoded form, base64-encoded as HTTP API delivers it", request("application/x-www-form-urlencoded", "email=a%40example.com&purposes=newsletter&purposes=surveys", true)},
		{"a urlencoded form in plain text", request("application/x-www-form-urlencoded; charset=UTF-8", "email=a%40example.com&purposes=newsletter&purposes=surveys", false)},
		{"a multipart form", request("multipart/form-data; boundary=XyZ", multipartBody, true)},
		{"a JSON object", request("application/json", `{"email":"a@example.com","purposes":["newsletter","surveys"]}`, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f form
			if err := Decode(tt.req, &f); err != nil {
				t.Fatal(err)
			}
			if f.Email != "a@example.com" || strings.Join(f.Purposes, ",") != "newsletter,surveys" {
				t.Fatalf("decoded %+v", f)
			}
		})
	}
}

func TestDecodeRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want people.Code
	}{
		{"a body over 16 KiB", request("application/json", `{"email":"`+strings.Repeat("a", MaxBody)+`"}`, false), people.TooLarge},
		{"a base64 body over 16 KiB", request("application/x-www-form-urlencoded", "email="+strings.Repeat("a", MaxBody), true), people.TooLarge},
		{"broken base64", Request{Headers: map[string]string{"content-type": "application/json"}, Body: "%%%", IsBase64Encoded: true}, people.Invalid},
		{"invalid UTF-8 in JSON", request("application/json", "{\"email\":\"\xff\"}", false), people.Invalid},
		{"invalid UTF-8 escaped in a form", request("application/x-www-form-urlencoded", "email=%FF", true), people.Invalid},
		{"an unknown JSON field", request("application/json", `{"email":"a@example.com","admin":true}`, false), people.Invalid},
		{"an unknown form field", request("application/x-www-form-urlencoded", "email=a&admin=1", true), people.Invalid},
		{"a single field given twice", request("application/x-www-form-urlencoded", "email=a&email=b", true), people.Invalid},
		{"a JSON field of the wrong type", request("application/json", `{"email":["a"]}`, false), people.Invalid},
		{"two JSON values", request("application/json", `{"email":"a"}{"email":"b"}`, false), people.Invalid},
		{"text/plain", request("text/plain", "email=a", false), people.UnsupportedMedia},
		{"no content type", Request{Body: "{}"}, people.UnsupportedMedia},
		{"multipart without a boundary", request("multipart/form-data", multipartBody, true), people.Invalid},
		{"a multipart file upload", request("multipart/form-data; boundary=XyZ", "--XyZ\r\nContent-Disposition: form-data; name=\"email\"; filename=\"x.txt\"\r\n\r\nhi\r\n--XyZ--\r\n", true), people.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f form
			err := Decode(tt.req, &f)
			e, ok := people.AsError(err)
			if !ok || e.Code != tt.want {
				t.Fatalf("Decode error = %v, want code %s", err, tt.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "email=a%40example.com&purposes=newsletter", true)
	f.Add("multipart/form-data; boundary=XyZ", multipartBody, false)
	f.Add("application/json", `{"email":"a@example.com","purposes":["surveys"]}`, false)
	f.Add("application/json", "{\"email\":\"\xff\"}", false)
	f.Fuzz(func(t *testing.T, contentType, body string, b64 bool) {
		var f form
		err := Decode(request(contentType, body, b64), &f)
		if err != nil {
			if _, ok := people.AsError(err); !ok {
				t.Fatalf("Decode returned a non-domain error %T: %v", err, err)
			}
			return
		}
		// Whatever is accepted is valid UTF-8 and within the size limit.
		if len(body) > MaxBody {
			t.Fatalf("accepted a %d-byte body", len(body))
		}
		for _, s := range append(f.Purposes, f.Email) {
			if !utf8.ValidString(s) {
				t.Fatalf("accepted invalid UTF-8 %q", s)
			}
		}
	})
}
