package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/smartprotect/pledge/shared/people"
)

// Decode reads the body into dst, a pointer to a struct whose fields are
// string or []string and carry json tags. JSON, urlencoded and multipart
// forms are accepted; unknown fields, repeated single fields, file parts and
// invalid UTF-8 are refused with a people.Error.
func Decode(req Request, dst any) error {
	body, err := Body(req)
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return people.Errorf(people.Invalid, "", "the request body is not valid UTF-8")
	}
	mediaType, params, err := mime.ParseMediaType(Header(req, "Content-Type"))
	if err != nil {
		return people.Errorf(people.UnsupportedMedia, "", "send application/json, application/x-www-form-urlencoded or multipart/form-data")
	}
	switch mediaType {
	case "application/json":
		return decodeJSON(body, dst)
	case "application/x-www-form-urlencoded":
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return people.Errorf(people.Invalid, "", "the form body is not valid urlencoded data")
		}
		return bind(values, dst)
	case "multipart/form-data":
		values, err := readMultipart(body, params["boundary"])
		if err != nil {
			return err
		}
		return bind(values, dst)
	}
	return people.Errorf(people.UnsupportedMedia, "", "send application/json, application/x-www-form-urlencoded or multipart/form-data, not %s", mediaType)
}

func decodeJSON(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			return people.Errorf(people.Invalid, typeErr.Field, "the field has the wrong type")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return people.Errorf(people.Invalid, field, "unknown field")
		}
		return people.Errorf(people.Invalid, "", "the body is not a valid JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return people.Errorf(people.Invalid, "", "the body holds more than one JSON value")
	}
	return nil
}

func readMultipart(body []byte, boundary string) (url.Values, error) {
	if boundary == "" {
		return nil, people.Errorf(people.Invalid, "", "the multipart body has no boundary")
	}
	values := url.Values{}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := r.NextPart()
		if err == io.EOF {
			return values, nil
		}
		if err != nil {
			return nil, people.Errorf(people.Invalid, "", "the multipart body is malformed")
		}
		if part.FileName() != "" {
			return nil, people.Errorf(people.Invalid, part.FormName(), "files are not accepted")
		}
		if part.FormName() == "" {
			return nil, people.Errorf(people.Invalid, "", "a multipart part has no field name")
		}
		v, err := io.ReadAll(io.LimitReader(part, MaxBody+1))
		if err != nil {
			return nil, people.Errorf(people.Invalid, "", "the multipart body is malformed")
		}
		values.Add(part.FormName(), string(v))
	}
}

// bind copies form values into the tagged fields of dst.
func bind(values url.Values, dst any) error {
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	fields := make(map[string]reflect.Value, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = v.Field(i)
		}
	}
	for name, vals := range values {
		f, ok := fields[name]
		if !ok {
			return people.Errorf(people.Invalid, truncate(name, 40), "unknown field")
		}
		for _, s := range vals {
			if !utf8.ValidString(s) {
				return people.Errorf(people.Invalid, name, "the field is not valid UTF-8")
			}
		}
		switch f.Kind() {
		case reflect.String:
			if len(vals) > 1 {
				return people.Errorf(people.Invalid, name, "the field was given more than once")
			}
			f.SetString(vals[0])
		case reflect.Slice:
			f.Set(reflect.ValueOf(vals))
		default:
			panic(fmt.Sprintf("web.bind: field %s of %s is neither string nor []string", name, t))
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
