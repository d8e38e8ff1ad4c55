// Package config turns the environment set in template.yaml into a typed,
// validated Config. Functions call it once at cold start and fail there,
// never per request.
package config

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
)

// Config is everything a function needs to know about its deployment.
type Config struct {
	TableName      string
	FromAddress    string // RFC 5322 mailbox, display name allowed (ours, not a user's)
	CompanyName    string
	CompanyAddress string   // the physical postal address every mail carries
	PublicBaseURL  *url.URL // nil: derive https://<domain> from each request
	PolicyVersion  string   // the policy version in force
	PolicyURL      string
	ConfirmTTL     time.Duration
	ResendInterval time.Duration
	UnsubscribeTTL time.Duration // 0: unsubscribe links never expire
	Retention      people.Retention
	SweepEpoch     string        // yyyy-mm-dd: the first day a sweep looks at before it has a cursor
	NoticeMinimum  time.Duration // how far ahead a material policy change must be published
	NoticeMaxRate  float64       // caps notice sends below the SES account's max send rate; 0: no cap
	NoticeLease    time.Duration // how long a notices run holds the sender lease between renewals
	// NoticeSettleGrace is how long after a killed run's lease lapses the next
	// run waits, so that SES's send events mark what the killed run sent.
	NoticeSettleGrace time.Duration
	// NoticeCatchUpEvery is how often, until a version takes effect, a pass
	// tells people who confirmed after its notice walked past them.
	NoticeCatchUpEvery time.Duration
	// NoticeConfigurationSet names the SES configuration set that publishes
	// the notices' send events ("" sends without one).
	NoticeConfigurationSet string
	NoticesFunction        string // the notices function, kicked when a version is published
	Keys                   *token.Keys
	AddressPepper          []byte
}

// Secrets are the values that come from Secrets Manager in AWS and from the
// environment locally, never from the template in clear.
type Secrets struct {
	TokenKeys        string `json:"TOKEN_KEYS"`          // "kid:base64key,kid:base64key"
	TokenActiveKeyID string `json:"TOKEN_ACTIVE_KEY_ID"` // which kid signs new tokens
	AddressPepper    string `json:"ADDRESS_PEPPER"`      // base64, at least 32 bytes
}

// SecretFetcher returns the JSON string of a secret by its ARN.
type SecretFetcher func(ctx context.Context, arn string) (string, error)

// Load reads the configuration through getenv. When SECRETS_ARN is set the
// secrets come from fetch; otherwise from the environment.
func Load(ctx context.Context, getenv func(string) string, fetch SecretFetcher) (*Config, error) {
	var errs []error
	need := func(key string) string {
		v := strings.TrimSpace(getenv(key))
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", key))
		}
		return v
	}
	duration := func(key string, def time.Duration) time.Duration {
		v := getenv(key)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q is not a positive duration", key, v))
		}
		return d
	}
	c := &Config{
		TableName:      need("TABLE_NAME"),
		FromAddress:    need("FROM_ADDRESS"),
		CompanyName:    need("COMPANY_NAME"),
		CompanyAddress: need("COMPANY_ADDRESS"),
		PolicyVersion:  need("POLICY_VERSION"),
		PolicyURL:      need("POLICY_URL"),
		ConfirmTTL:     duration("CONFIRM_TTL", 48*time.Hour),
		ResendInterval: duration("CONFIRM_RESEND_INTERVAL", 10*time.Minute),
	}
	c.NoticeMinimum = duration("NOTICE_MINIMUM", 30*24*time.Hour)
	c.NoticeLease = duration("NOTICE_LEASE", time.Minute)
	c.NoticeSettleGrace = duration("NOTICE_SETTLE_GRACE", 2*time.Minute)
	c.NoticeCatchUpEvery = duration("NOTICE_CATCH_UP_EVERY", 24*time.Hour)
	c.NoticeConfigurationSet = getenv("NOTICE_CONFIGURATION_SET")
	c.NoticesFunction = getenv("NOTICES_FUNCTION")
	if v := getenv("NOTICE_MAX_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 {
			errs = append(errs, fmt.Errorf("NOTICE_MAX_RATE=%q is not a rate (messages per second, 0 for the account's)", v))
		}
		c.NoticeMaxRate = r
	}
	d := people.DefaultRetention
	c.Retention = people.Retention{
		Unconfirmed:   duration("RETENTION_UNCONFIRMED", d.Unconfirmed),
		NoPurpose:     duration("RETENTION_NO_PURPOSE", d.NoPurpose),
		ClosedAccount: duration("RETENTION_CLOSED_ACCOUNT", d.ClosedAccount),
		Inactive:      duration("RETENTION_INACTIVE", d.Inactive),
		LedgerProof:   duration("RETENTION_LEDGER_PROOF", d.LedgerProof),
		NoticeRecords: duration("RETENTION_NOTICE_RECORDS", d.NoticeRecords),
	}
	if c.SweepEpoch = getenv("SWEEP_EPOCH"); c.SweepEpoch == "" {
		c.SweepEpoch = "2026-11-01"
	} else if _, err := time.Parse("2006-01-02", c.SweepEpoch); err != nil {
		errs = append(errs, fmt.Errorf("SWEEP_EPOCH=%q is not a yyyy-mm-dd day", c.SweepEpoch))
	}
	// Mail providers expect an unsubscribe link to work for at least 30 days.
	if v := getenv("UNSUBSCRIBE_TTL"); v != "" && v != "0" {
		if c.UnsubscribeTTL = duration("UNSUBSCRIBE_TTL", 0); c.UnsubscribeTTL > 0 && c.UnsubscribeTTL < 30*24*time.Hour {
			errs = append(errs, fmt.Errorf("UNSUBSCRIBE_TTL=%q is shorter than 30 days (720h); use 0 for no expiry", v))
		}
	}
	if c.FromAddress != "" {
		if _, err := mail.ParseAddress(c.FromAddress); err != nil {
			errs = append(errs, fmt.Errorf("FROM_ADDRESS: %v", err))
		}
	}
	if raw := getenv("PUBLIC_BASE_URL"); raw != "" {
		u, err := url.Parse(strings.TrimRight(raw, "/"))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("PUBLIC_BASE_URL=%q is not an http(s) URL", raw))
		}
		c.PublicBaseURL = u
	}
	secrets, err := loadSecrets(ctx, getenv, fetch)
	if err != nil {
		errs = append(errs, err)
	} else {
		if c.Keys, err = parseKeys(secrets.TokenKeys, secrets.TokenActiveKeyID); err != nil {
			errs = append(errs, err)
		}
		if c.AddressPepper, err = base64.StdEncoding.DecodeString(secrets.AddressPepper); err != nil || len(c.AddressPepper) < 32 {
			errs = append(errs, errors.New("ADDRESS_PEPPER must be base64 of at least 32 bytes"))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("config.Load: %w", errors.Join(errs...))
	}
	return c, nil
}

func loadSecrets(ctx context.Context, getenv func(string) string, fetch SecretFetcher) (Secrets, error) {
	arn := getenv("SECRETS_ARN")
	if arn == "" {
		return Secrets{
			TokenKeys:        getenv("TOKEN_KEYS"),
			TokenActiveKeyID: getenv("TOKEN_ACTIVE_KEY_ID"),
			AddressPepper:    getenv("ADDRESS_PEPPER"),
		}, nil
	}
	if fetch == nil {
		return Secrets{}, errors.New("SECRETS_ARN is set but no secret fetcher was wired")
	}
	raw, err := fetch(ctx, arn)
	if err != nil {
		return Secrets{}, fmt.Errorf("reading SECRETS_ARN: %w", err)
	}
	var s Secrets
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return Secrets{}, fmt.Errorf("the secret is not the expected JSON object: %v", err)
	}
	return s, nil
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
