package config

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

var key32 = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

func env(over map[string]string) func(string) string {
	base := map[string]string{
		"TABLE_NAME": "pledge", "FROM_ADDRESS": "SmartProtect <no-reply@example.com>",
		"COMPANY_NAME": "SmartProtect, Inc.", "COMPANY_ADDRESS": "514 S. Stratford Road",
		"POLICY_VERSION": "2015-03-22", "POLICY_URL": "https://example.com/privacy",
		"TOKEN_KEYS": "k1:" + key32, "TOKEN_ACTIVE_KEY_ID": "k1", "ADDRESS_PEPPER": key32,
	}
	for k, v := range over {
		base[k] = v
	}
	return func(k string) string { return base[k] }
}

func TestLoadAppliesDefaults(t *testing.T) {
	c, err := Load(context.Background(), env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ConfirmTTL != 48*time.Hour || c.ResendInterval != 10*time.Minute || c.PublicBaseURL != nil || c.UnsubscribeTTL != 0 || c.Retention != people.DefaultRetention {
		t.Fatalf("defaults = %v %v %v", c.ConfirmTTL, c.ResendInterval, c.PublicBaseURL)
	}
}

func TestLoadRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		over map[string]string
		want string
	}{
		{"a missing table name", map[string]string{"TABLE_NAME": ""}, "TABLE_NAME is required"},
		{"a from address with a line break", map[string]string{"FROM_ADDRESS": "a@b.c\r\nBcc: x@y.z"}, "FROM_ADDRESS"},
		{"a negative TTL", map[string]string{"CONFIRM_TTL": "-1h"}, "CONFIRM_TTL"},
		{"a short pepper", map[string]string{"ADDRESS_PEPPER": "c2hvcnQ="}, "ADDRESS_PEPPER"},
		{"an active key without a key", map[string]string{"TOKEN_ACTIVE_KEY_ID": "k2"}, "active key id"},
		{"a base URL that is not http", map[string]string{"PUBLIC_BASE_URL": "ftp://x"}, "PUBLIC_BASE_URL"},
		{"a retention period that is not a duration", map[string]string{"RETENTION_INACTIVE": "3y"}, "RETENTION_INACTIVE"},
		{"a zero retention period", map[string]string{"RETENTION_UNCONFIRMED": "0s"}, "RETENTION_UNCONFIRMED"},
		{"unsubscribe links shorter-lived than 30 days", map[string]string{"UNSUBSCRIBE_TTL": "240h"}, "UNSUBSCRIBE_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(context.Background(), env(tt.over), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestLoadReadsSecretsFromTheFetcherWhenAnARNIsSet(t *testing.T) {
	fetched := ""
	fetch := func(_ context.Context, arn string) (string, error) {
		fetched = arn
		return `{"TOKEN_KEYS":"s1:` + key32 + `","TOKEN_ACTIVE_KEY_ID":"s1","ADDRESS_PEPPER":"` + key32 + `"}`, nil
	}
	c, err := Load(context.Background(), env(map[string]string{"SECRETS_ARN": "arn:secret", "TOKEN_KEYS": "", "ADDRESS_PEPPER": ""}), fetch)
	if err != nil {
		t.Fatal(err)
	}
	if fetched != "arn:secret" || c.Keys == nil {
		t.Fatalf("fetched %q, keys %v", fetched, c.Keys)
	}
	failing := func(context.Context, string) (string, error) { return "", errors.New("denied") }
	if _, err := Load(context.Background(), env(map[string]string{"SECRETS_ARN": "arn:secret"}), failing); err == nil {
		t.Fatal("a failing fetch was not reported")
	}
}
