package config

import (
	"context"
	"encoding/base64"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

var key32 = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

func env(over map[string]string) *Env {
	base := map[string]string{
		"AWS_REGION": "us-east-1", "TABLE_NAME": "pledge", "FROM_ADDRESS": "SmartProtect <no-reply@example.com>", "MAIL_CONFIGURATION_SET": "pledge-mail",
		"COMPANY_NAME": "SmartProtect, Inc.", "COMPANY_ADDRESS": "514 S. Stratford Road", "CONTACT_ADDRESS": "privacy@example.com",
		"POLICY_VERSION": "2015-03-22", "POLICY_URL": "https://example.com/privacy", "NOTICES_FUNCTION": "notices", "DOWNSTREAM_BUS": "pledge-requests",
		"TOKEN_KEYS": "k1:" + key32, "TOKEN_ACTIVE_KEY_ID": "k1", "ADDRESS_PEPPER": key32,
	}
	maps.Copy(base, over)
	return NewEnv(func(k string) string { return base[k] })
}

// loaders calls each loader of Loaders by name.
var loaders = map[string]func(context.Context, *Env, SecretFetcher){
	"AWS":                  func(_ context.Context, e *Env, _ SecretFetcher) { AWS(e) },
	"Table":                func(_ context.Context, e *Env, _ SecretFetcher) { Table(e) },
	"Company":              func(_ context.Context, e *Env, _ SecretFetcher) { Company(e) },
	"PolicyPage":           func(_ context.Context, e *Env, _ SecretFetcher) { PolicyPage(e) },
	"Sender":               func(_ context.Context, e *Env, _ SecretFetcher) { Sender(e) },
	"MailConfigurationSet": func(_ context.Context, e *Env, _ SecretFetcher) { MailConfigurationSet(e) },
	"Policy":               func(_ context.Context, e *Env, _ SecretFetcher) { Policy(e) },
	"BaseURL":              func(_ context.Context, e *Env, _ SecretFetcher) { BaseURL(e) },
	"ConfirmLinks":         func(_ context.Context, e *Env, _ SecretFetcher) { ConfirmLinks(e) },
	"UnsubscribeTTL":       func(_ context.Context, e *Env, _ SecretFetcher) { UnsubscribeTTL(e) },
	"Limits":               func(_ context.Context, e *Env, _ SecretFetcher) { Limits(e) },
	"Retention":            func(_ context.Context, e *Env, _ SecretFetcher) { Retention(e) },
	"NoticeRecordsKept":    func(_ context.Context, e *Env, _ SecretFetcher) { NoticeRecordsKept(e) },
	"Bounces":              func(_ context.Context, e *Env, _ SecretFetcher) { Bounces(e) },
	"Sweep":                func(_ context.Context, e *Env, _ SecretFetcher) { Sweep(e) },
	"Publishing":           func(_ context.Context, e *Env, _ SecretFetcher) { Publishing(e) },
	"PrivacyRequests":      func(_ context.Context, e *Env, _ SecretFetcher) { PrivacyRequests(e) },
	"ClockOverride":        func(_ context.Context, e *Env, _ SecretFetcher) { ClockOverride(e) },
	"Downstream":           func(_ context.Context, e *Env, _ SecretFetcher) { Downstream(e) },
	"NoticeSending":        func(_ context.Context, e *Env, _ SecretFetcher) { NoticeSending(e) },
	"TokenKeys":            func(ctx context.Context, e *Env, f SecretFetcher) { TokenKeys(ctx, e, f) },
	"AddressPepper":        func(ctx context.Context, e *Env, f SecretFetcher) { AddressPepper(ctx, e, f) },
}

// loadAll calls every loader, as a function that used everything would.
func loadAll(e *Env) error {
	for _, load := range loaders {
		load(context.Background(), e, nil)
	}
	return e.Err()
}

func TestLoadAppliesDefaults(t *testing.T) {
	e := env(nil)
	links, base, unsub := ConfirmLinks(e), BaseURL(e), UnsubscribeTTL(e)
	r := Retention(e)
	r.NoticeRecords = NoticeRecordsKept(e)
	sweep, notices := Sweep(e), NoticeSending(e)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	if links.TTL != 48*time.Hour || links.ResendInterval != 10*time.Minute || base != nil || unsub != 0 || r != people.DefaultRetention {
		t.Fatalf("defaults = %v %v %v %v %v", links.TTL, links.ResendInterval, base, unsub, r)
	}
	if sweep != (SweepSettings{Epoch: "2026-11-01"}) || notices != (NoticeSettings{Lease: time.Minute, SettleGrace: 2 * time.Minute, CatchUpEvery: 24 * time.Hour}) {
		t.Fatalf("defaults = %+v %+v", sweep, notices)
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
		{"a base URL over plain http", map[string]string{"PUBLIC_BASE_URL": "http://pledge.example.com"}, "PUBLIC_BASE_URL"},
		{"a policy URL over plain http", map[string]string{"POLICY_URL": "http://www.example.com/privacy"}, "POLICY_URL"},
		{"a policy URL that is no URL", map[string]string{"POLICY_URL": "privacy-policy"}, "POLICY_URL"},
		{"a from address with a non-ASCII local part", map[string]string{"FROM_ADDRESS": "Société <réponse@example.com>"}, "FROM_ADDRESS"},
		{"a from name without an address", map[string]string{"FROM_ADDRESS": "SmartProtect"}, "FROM_ADDRESS"},
		{"a retention period that is not a duration", map[string]string{"RETENTION_INACTIVE": "3y"}, "RETENTION_INACTIVE"},
		{"a transient-bounce count of 0", map[string]string{"BOUNCE_TRANSIENTS": "0"}, "BOUNCE_TRANSIENTS"},
		{"a bounce window that is not a duration", map[string]string{"BOUNCE_WINDOW": "30d"}, "BOUNCE_WINDOW"},
		{"a zero retention period", map[string]string{"RETENTION_UNCONFIRMED": "0s"}, "RETENTION_UNCONFIRMED"},
		{"a zero notice-records period", map[string]string{"RETENTION_NOTICE_RECORDS": "0s"}, "RETENTION_NOTICE_RECORDS"},
		{"unsubscribe links shorter-lived than 30 days", map[string]string{"UNSUBSCRIBE_TTL": "240h"}, "UNSUBSCRIBE_TTL"},
		{"a sweep epoch that is not a day", map[string]string{"SWEEP_EPOCH": "2026-13-01"}, "SWEEP_EPOCH"},
		{"a dry-run switch that is not a boolean", map[string]string{"DRY_RUN": "yes"}, "DRY_RUN"},
		{"a negative notice rate", map[string]string{"NOTICE_MAX_RATE": "-1"}, "NOTICE_MAX_RATE"},
		{"no notices function to kick", map[string]string{"NOTICES_FUNCTION": ""}, "NOTICES_FUNCTION is required"},
		{"mail without its configuration set", map[string]string{"MAIL_CONFIGURATION_SET": ""}, "MAIL_CONFIGURATION_SET is required"},
		{"no region", map[string]string{"AWS_REGION": ""}, "AWS_REGION"},
		{"a limit without its window", map[string]string{"LIMIT_SIGNUPS_PER_SOURCE": "30"}, "LIMIT_SIGNUPS_PER_SOURCE"},
		{"a limit of a negative count", map[string]string{"LIMIT_MAILS_PER_MAILBOX": "-1/10m"}, "LIMIT_MAILS_PER_MAILBOX"},
		{"a limit with a window under a second", map[string]string{"LIMIT_MAILS_PER_MAILBOX": "1/10ms"}, "LIMIT_MAILS_PER_MAILBOX"},
		{"a ceiling that is not a count", map[string]string{"LIMIT_MAILS_PER_MINUTE": "60/1m"}, "LIMIT_MAILS_PER_MINUTE"},
	}
	if err := loadAll(env(nil)); err != nil {
		t.Fatalf("the valid environment was refused: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := loadAll(env(tt.over))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("load error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestOneInitFailureNamesEveryProblem(t *testing.T) {
	e := env(map[string]string{"TABLE_NAME": "", "CONFIRM_TTL": "soon"})
	Table(e)
	ConfirmLinks(e)
	err := e.Err()
	if err == nil || !strings.Contains(err.Error(), "TABLE_NAME") || !strings.Contains(err.Error(), "CONFIRM_TTL") {
		t.Fatalf("Err() = %v, want both problems", err)
	}
}

func TestSecretsComeFromTheFetcherWhenAnARNIsSet(t *testing.T) {
	var fetched []string
	fetch := func(_ context.Context, arn string) (string, error) {
		fetched = append(fetched, arn)
		switch arn {
		case "arn:keys":
			return `{"TOKEN_KEYS":"s1:` + key32 + `","TOKEN_ACTIVE_KEY_ID":"s1"}`, nil
		case "arn:pepper":
			return `{"ADDRESS_PEPPER":"` + key32 + `"}`, nil
		}
		return "", errors.New("no such secret")
	}
	// The environment's clear values are wrong: only the fetched ones work.
	e := env(map[string]string{"TOKEN_KEYS_SECRET_ARN": "arn:keys", "ADDRESS_PEPPER_SECRET_ARN": "arn:pepper",
		"TOKEN_KEYS": "", "ADDRESS_PEPPER": ""})
	keys, pepper := TokenKeys(context.Background(), e, fetch), AddressPepper(context.Background(), e, fetch)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fetched, []string{"arn:keys", "arn:pepper"}) || keys == nil || len(pepper) != 32 {
		t.Fatalf("fetched %q, keys %v, pepper %d bytes", fetched, keys, len(pepper))
	}
	failing := func(context.Context, string) (string, error) { return "", errors.New("denied") }
	for name, load := range map[string]func(*Env){
		"token keys":     func(e *Env) { TokenKeys(context.Background(), e, failing) },
		"address pepper": func(e *Env) { AddressPepper(context.Background(), e, failing) },
	} {
		e := env(map[string]string{"TOKEN_KEYS_SECRET_ARN": "arn:keys", "ADDRESS_PEPPER_SECRET_ARN": "arn:pepper"})
		if load(e); e.Err() == nil || !strings.Contains(e.Err().Error(), "denied") {
			t.Errorf("a failing fetch of the %s was not reported: %v", name, e.Err())
		}
	}
}

// TestLoadersReadExactlyWhatLoadersDeclares holds Loaders, which the
// template test compares with template.yaml, equal to what each loader
// really reads, with its secret's ARN set (AWS) and unset (local).
func TestLoadersReadExactlyWhatLoadersDeclares(t *testing.T) {
	fetch := func(context.Context, string) (string, error) { return `{}`, nil }
	for name, load := range loaders {
		decl, ok := Loaders[name]
		if !ok {
			t.Errorf("%s is not in Loaders", name)
			continue
		}
		read := map[string]bool{}
		for _, arn := range []string{"", "arn:secret"} {
			load(context.Background(), NewEnv(func(k string) string {
				read[k] = true
				if k == decl.SecretARN {
					return arn
				}
				return ""
			}), fetch)
		}
		want := slices.Concat(decl.Vars, decl.Local, decl.Lambda)
		if got := slices.Sorted(maps.Keys(read)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Errorf("%s reads %q, Loaders says %q", name, got, want)
		}
		if decl.SecretARN != "" && !slices.Contains(decl.Vars, decl.SecretARN) {
			t.Errorf("%s: its secret's ARN variable %s is not one of its Vars", name, decl.SecretARN)
		}
	}
	for name := range Loaders {
		if _, ok := loaders[name]; !ok {
			t.Errorf("Loaders names %s, which this test does not call", name)
		}
	}
}

// TestEveryLoaderIsInLoaders: every exported function of this package that
// reads an *Env is a loader, and Loaders names it.
func TestEveryLoaderIsInLoaders(t *testing.T) {
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, f := range pkgs["config"].Files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !fn.Name.IsExported() {
				continue
			}
			for _, p := range fn.Type.Params.List {
				if star, ok := p.Type.(*ast.StarExpr); ok {
					if id, ok := star.X.(*ast.Ident); ok && id.Name == "Env" {
						found++
						if _, ok := Loaders[fn.Name.Name]; !ok {
							t.Errorf("%s reads the environment but is not in Loaders", fn.Name.Name)
						}
					}
				}
			}
		}
	}
	if found != len(Loaders) {
		t.Errorf("found %d loaders, Loaders names %d", found, len(Loaders))
	}
}

func TestLinksAreHTTPSOutsideTheLocalStack(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://pledge.example.com":         true,
		"https://pledge.example.com/":        true,
		"http://pledge.example.com":          false,
		"http://127.0.0.1:8080":              true, // the local stack
		"http://localhost:3000":              true,
		"http://[::1]:8080":                  true,
		"http://127.0.0.1.pledge.example":    false,
		"http://10.0.0.1":                    false,
		"https://user:secret@pledge.example": false,
		"javascript:alert(1)":                false,
		"https://":                           false,
	} {
		e := env(map[string]string{"PUBLIC_BASE_URL": raw, "POLICY_URL": raw})
		BaseURL(e)
		Policy(e)
		err := e.Err()
		if ok && err != nil || !ok && (err == nil || !strings.Contains(err.Error(), "PUBLIC_BASE_URL") || !strings.Contains(err.Error(), "POLICY_URL")) {
			t.Errorf("%q: load error = %v; want accepted %v for both", raw, err, ok)
		}
	}
}

func TestTheFromNameIsRFC2047EncodedWhenItIsNotASCII(t *testing.T) {
	for from, want := range map[string]string{
		"SmartProtect <no-reply@smartprotectusa.com>": "SmartProtect <no-reply@smartprotectusa.com>",
		"Société Générale <no-reply@example.com>":     "=?utf-8?q?Soci=C3=A9t=C3=A9_G=C3=A9n=C3=A9rale?= <no-reply@example.com>",
		`"Société, Inc." <no-reply@example.com>`:      "=?utf-8?b?U29jacOpdMOpLCBJbmMu?= <no-reply@example.com>",
		"Bücherei <no-reply@bücher.example.com>":      "=?utf-8?q?B=C3=BCcherei?= <no-reply@xn--bcher-kva.example.com>",
		`"Smart, Protect" <no-reply@bücher.example>`:  `"Smart, Protect" <no-reply@xn--bcher-kva.example>`,
	} {
		e := env(map[string]string{"FROM_ADDRESS": from})
		got := Sender(e)
		if err := e.Err(); err != nil || got != want {
			t.Errorf("Sender(%q) = %q, %v; want %q", from, got, err, want)
			continue
		}
		if a, err := mail.ParseAddress(got); err != nil || !strings.Contains(from, a.Name) {
			t.Errorf("%q does not decode to the name of %q: %+v, %v", got, from, a, err)
		}
	}
}

func TestLimitsAreReadAsCountPerWindowAndZeroTurnsOneOff(t *testing.T) {
	if got := Limits(env(nil)); got != DefaultLimits {
		t.Fatalf("defaults = %+v", got)
	}
	e := env(map[string]string{"LIMIT_SIGNUPS_PER_SOURCE": "100/1h", "LIMIT_MAILS_PER_MAILBOX": "0", "LIMIT_MAILS_PER_MINUTE": "5"})
	got := Limits(e)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	want := people.Limits{PerSource: people.Limit{Max: 100, Window: time.Hour}, Overall: people.Limit{Max: 5, Window: time.Minute}}
	if got != want || got.PerMailbox.On() {
		t.Fatalf("Limits = %+v, want %+v", got, want)
	}
}

func TestPrivacyRequestsReadTheDeadlineAndCoolOff(t *testing.T) {
	got := PrivacyRequests(env(map[string]string{}))
	if got.Deadline != 720*time.Hour || got.CoolOff != 72*time.Hour || got.VerifyWindow != 7*24*time.Hour || got.LinkTTL != 24*time.Hour {
		t.Fatalf("defaults = %+v", got)
	}
	e := env(map[string]string{"REQUEST_DEADLINE": "240h", "REQUEST_COOL_OFF": "1h"})
	if got := PrivacyRequests(e); e.Err() != nil || got.Deadline != 240*time.Hour || got.CoolOff != time.Hour {
		t.Fatalf("set = %+v, %v", got, e.Err())
	}
	e = env(map[string]string{"REQUEST_DEADLINE": "30 days"})
	if PrivacyRequests(e); e.Err() == nil {
		t.Fatal("a deadline that is no duration was accepted")
	}
}

func TestDownstreamSystemsAreListedOnceEachAndMayBeNone(t *testing.T) {
	e := env(map[string]string{"DOWNSTREAM_BUS": "pledge-requests", "DOWNSTREAM_SYSTEMS": " billing, support "})
	if s := Downstream(e); e.Err() != nil || s.Bus != "pledge-requests" || !slices.Equal(s.Systems, []string{"billing", "support"}) {
		t.Fatalf("%+v %v", s, e.Err())
	}
	e = env(map[string]string{"DOWNSTREAM_BUS": "b", "DOWNSTREAM_SYSTEMS": ""})
	if s := Downstream(e); e.Err() != nil || len(s.Systems) != 0 {
		t.Fatalf("none: %+v %v", s, e.Err())
	}
	for _, bad := range []string{"billing,billing", "Billing", "a b"} {
		e = env(map[string]string{"DOWNSTREAM_BUS": "b", "DOWNSTREAM_SYSTEMS": bad})
		if Downstream(e); e.Err() == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
