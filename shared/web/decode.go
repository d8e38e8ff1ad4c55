package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/url"
	"reflect"
	"slices"
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

// bind copies form values into the tagged fields of dst, in the order of
// their names. A value it refuses (an unknown field, a repeated single
// field, invalid UTF-8) is the error it returns, the first in that order;
// the values it takes are copied all the same, so that a form refused for
// one field can be shown again with the others as they were filled in.
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
	var first error
	refuse := func(err error) {
		if first == nil {
			first = err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(values)) {
		vals := values[name]
		f, ok := fields[name]
		if !ok {
			refuse(people.Errorf(people.Invalid, truncate(name, 40), "unknown field"))
			continue
		}
		if slices.ContainsFunc(vals, func(s string) bool { return !utf8.ValidString(s) }) {
			refuse(people.Errorf(people.Invalid, name, "the field is not valid UTF-8"))
			continue
		}
		switch f.Kind() {
		case reflect.String:
			if len(vals) > 1 {
				refuse(people.Errorf(people.Invalid, name, "the field was given more than once"))
				continue
			}
			f.SetString(vals[0])
		case reflect.Slice:
			f.Set(reflect.ValueOf(vals))
		default:
			panic(fmt.Sprintf("web.bind: field %s of %s is neither string nor []string", name, t))
		}
	}
	return first
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
