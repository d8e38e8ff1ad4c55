package config

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/smartprotect/pledge/shared/token"
)

// secret is one Secrets Manager secret: in AWS, arn names it and it holds a
// JSON object with the fields; on the local stack arn is empty and each
// field is an environment variable of the same name. Never in the template
// in clear.
type secret struct {
	arn    string
	fields []string
}

var (
	// tokenKeysSecret signs and verifies links:
	// {"TOKEN_KEYS": "kid:base64key,...", "TOKEN_ACTIVE_KEY_ID": "kid"}.
	tokenKeysSecret = secret{arn: "TOKEN_KEYS_SECRET_ARN", fields: []string{"TOKEN_KEYS", "TOKEN_ACTIVE_KEY_ID"}}
	// addressPepperSecret keys people: {"ADDRESS_PEPPER": "base64, at least 32 bytes"}.
	addressPepperSecret = secret{arn: "ADDRESS_PEPPER_SECRET_ARN", fields: []string{"ADDRESS_PEPPER"}}
)

// SecretFetcher returns the JSON string of a secret by its ARN
// (secrets.FromSecretsManager builds one; nil where no ARN is set, as on
// the local stack).
type SecretFetcher func(ctx context.Context, arn string) (string, error)

// read returns the secret's fields, from fetch when its ARN variable is set
// and from the environment otherwise. It reports false after recording why
// it could not.
func (s secret) read(ctx context.Context, e *Env, fetch SecretFetcher) (map[string]string, bool) {
	out := map[string]string{}
	arn := e.get(s.arn)
	if arn == "" {
		for _, f := range s.fields {
			out[f] = e.get(f)
		}
		return out, true
	}
	if fetch == nil {
		e.fail(fmt.Errorf("%s is set but no secret fetcher was wired", s.arn))
		return nil, false
	}
	raw, err := fetch(ctx, arn)
	if err != nil {
		e.fail(fmt.Errorf("reading %s: %w", s.arn, err))
		return nil, false
	}
	var obj map[string]string
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		e.fail(fmt.Errorf("the secret of %s is not a JSON object of strings: %v", s.arn, err))
		return nil, false
	}
	for _, f := range s.fields {
		out[f] = strings.TrimSpace(obj[f])
	}
	return out, true
}

// TokenKeys reads the key ring that signs and verifies links, from the
// secret TOKEN_KEYS_SECRET_ARN names (locally: TOKEN_KEYS, "kid:base64key"
// pairs separated by commas, and TOKEN_ACTIVE_KEY_ID, the kid that signs new
// tokens). It returns nil after recording the problem in e.
func TokenKeys(ctx context.Context, e *Env, fetch SecretFetcher) *token.Keys {
	v, ok := tokenKeysSecret.read(ctx, e, fetch)
	if !ok {
		return nil
	}
	keys, err := parseKeys(v["TOKEN_KEYS"], v["TOKEN_ACTIVE_KEY_ID"])
	if err != nil {
		e.fail(err)
	}
	return keys
}

// AddressPepper reads the key of people's keyed ids, from the secret
// ADDRESS_PEPPER_SECRET_ARN names (locally: ADDRESS_PEPPER); base64 of at
// least 32 bytes. It returns nil after recording the problem in e.
func AddressPepper(ctx context.Context, e *Env, fetch SecretFetcher) []byte {
	v, ok := addressPepperSecret.read(ctx, e, fetch)
	if !ok {
		return nil
	}
	pepper, err := base64.StdEncoding.DecodeString(v["ADDRESS_PEPPER"])
	if err != nil || len(pepper) < 32 {
		e.fail(errors.New("ADDRESS_PEPPER must be base64 of at least 32 bytes"))
		return nil
	}
	return pepper
}

// parseKeys reads "kid:base64,kid:base64" into a token key ring.
func parseKeys(spec, active string) (*token.Keys, error) {
	keys := map[string][]byte{}
	for part := range strings.SplitSeq(spec, ",") {
		kid, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, errors.New("TOKEN_KEYS must be kid:base64key pairs separated by commas")
		}
		k, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("TOKEN_KEYS: key %q is not base64", kid)
		}
		keys[kid] = k
	}
	return token.NewKeys(keys, active)
}
