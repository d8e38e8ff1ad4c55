package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// apiError is an answer of 400 or more. Code, Message and Field come from
// pledge's error body ({"error": {"code", "message", "field"}}); Message
// alone from API Gateway's own answers ({"message": "Forbidden"}) or the
// body's text.
type apiError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *apiError) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Code != "" {
		return fmt.Sprintf("%s (%s, HTTP %d)", msg, e.Code, e.Status)
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
}

// decodeError reads an error answer's body.
func decodeError(status int, body []byte) *apiError {
	var b struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
		Message string `json:"message"`
	}
	e := &apiError{Status: status}
	switch {
	case json.Unmarshal(body, &b) == nil && b.Error != nil:
		e.Code, e.Message, e.Field = b.Error.Code, b.Error.Message, b.Error.Field
	case b.Message != "":
		e.Message = b.Message
	default:
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 500 {
			e.Message = e.Message[:500] + "..."
		}
		if e.Message == "" {
			e.Message = http.StatusText(status)
		}
	}
	return e
}

// call sends method path (with its query) to the stack's API, with body
// as JSON unless it is nil, signed with SigV4 for execute-api over the
// payload's SHA-256, and returns the answer's body. An answer of 400 or
// more is an *apiError.
func (s *stack) call(ctx context.Context, method, path string, body any) ([]byte, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, s.api+path, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Header.Set("Accept", "application/json")
	if err := s.sign(ctx, req, payload); err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		return nil, decodeError(resp.StatusCode, out)
	}
	return out, nil
}

// sign signs req as API Gateway's AWS_IAM authorizer checks it: SigV4,
// service execute-api, the stack's region, the credentials of its
// configuration (a session token too, when they carry one).
func (s *stack) sign(ctx context.Context, req *http.Request, payload []byte) error {
	if s.cfg.Credentials == nil {
		return errors.New("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID, or run `aws sso login`")
	}
	creds, err := s.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("AWS credentials: %w", err)
	}
	sum := sha256.Sum256(payload)
	return v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", s.region, time.Now())
}

// invoke runs the stack's function of that suffix (see functions) with
// payload as its event, synchronously, and returns what it returned. A
// function that failed is an error carrying its errorMessage.
func (s *stack) invoke(ctx context.Context, suffix string, payload any) ([]byte, error) {
	name, err := s.function(suffix)
	if err != nil {
		return nil, err
	}
	in, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	out, err := s.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: in})
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", name, err)
	}
	if out.FunctionError != nil {
		var e struct {
			Message string `json:"errorMessage"`
		}
		if json.Unmarshal(out.Payload, &e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(out.Payload))
		}
		return nil, fmt.Errorf("%s failed: %s", name, e.Message)
	}
	return out.Payload, nil
}
