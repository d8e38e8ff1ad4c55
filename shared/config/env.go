// Package config turns the environment set in template.yaml into typed,
// validated values, one loader per need: a function's main calls only the
// loaders of what it uses, so it reads only those variables and secrets, and
// fails at init (Must) when one is missing or wrong, never per request.
//
// Loaders names every loader with the variables it reads, so that a test can
// hold each function's Environment and secret grants in template.yaml equal
// to what its main loads.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Env reads a function's environment and collects every variable that is
// missing or wrong, so that one failed init names all of them.
type Env struct {
	getenv func(string) string
	errs   []error
}

// NewEnv reads through getenv (os.Getenv in a function's main).
func NewEnv(getenv func(string) string) *Env { return &Env{getenv: getenv} }

// FromOS reads the process environment.
func FromOS() *Env { return NewEnv(os.Getenv) }

// Err returns every problem the loaders met, joined, or nil.
func (e *Env) Err() error {
	if len(e.errs) == 0 {
		return nil
	}
	return fmt.Errorf("config: %w", errors.Join(e.errs...))
}

func (e *Env) fail(err error) { e.errs = append(e.errs, err) }

func (e *Env) get(key string) string { return strings.TrimSpace(e.getenv(key)) }

// need reads a variable that must be set.
func (e *Env) need(key string) string {
	v := e.get(key)
	if v == "" {
		e.fail(fmt.Errorf("%s is required", key))
	}
	return v
}

// duration reads a positive Go duration, def when unset.
func (e *Env) duration(key string, def time.Duration) time.Duration {
	v := e.get(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.fail(fmt.Errorf("%s=%q is not a positive duration", key, v))
	}
	return d
}

// Must ends a cold start that failed to wire: Lambda reports the failed init.
func Must(log *slog.Logger, err error) {
	if err != nil {
		log.Error("init failed", "err", err)
		os.Exit(1)
	}
}

// Loader says what one loader of this package reads.
type Loader struct {
	// Vars are the variables the template sets for every function whose
	// main calls the loader, and no other function's.
	Vars []string
	// Local are read only where the template sets no value for them: the
	// secrets in clear on the local stack (when the secret's ARN variable
	// is empty), and switches of the local stack. The template never sets
	// them.
	Local []string
	// Lambda are set by Lambda itself (region, the role's credentials),
	// never by the template.
	Lambda []string
	// SecretARN, for a secret's loader, is the variable (one of Vars)
	// naming the Secrets Manager secret it reads: the function must be
	// granted secretsmanager:GetSecretValue on that secret, and only then.
	SecretARN string
}

// Loaders maps the name of every loader of this package (the function a
// main calls, config.<name>) to what it reads.
var Loaders = map[string]Loader{
	"AWS":                  {Lambda: []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}},
	"Table":                {Vars: []string{"TABLE_NAME"}},
	"Company":              {Vars: []string{"COMPANY_NAME", "COMPANY_ADDRESS", "CONTACT_ADDRESS"}},
	"Sender":               {Vars: []string{"FROM_ADDRESS"}},
	"MailConfigurationSet": {Vars: []string{"MAIL_CONFIGURATION_SET"}},
	"Policy":               {Vars: []string{"POLICY_VERSION", "POLICY_URL"}},
	"PolicyPage":           {Vars: []string{"POLICY_URL"}},
	"BaseURL":              {Vars: []string{"PUBLIC_BASE_URL"}},
	"ConfirmLinks":         {Vars: []string{"CONFIRM_TTL", "CONFIRM_RESEND_INTERVAL"}},
	"UnsubscribeTTL":       {Vars: []string{"UNSUBSCRIBE_TTL"}},
	"Limits":               {Vars: []string{"LIMIT_SIGNUPS_PER_SOURCE", "LIMIT_MAILS_PER_MAILBOX", "LIMIT_MAILS_PER_MINUTE"}},
	"Retention":            {Vars: retentionVars},
	"NoticeRecordsKept":    {Vars: []string{"RETENTION_NOTICE_RECORDS"}},
	"Bounces":              {Vars: []string{"BOUNCE_TRANSIENTS", "BOUNCE_WINDOW", "BOUNCE_REST"}},
	"Sweep":                {Vars: []string{"SWEEP_EPOCH", "DRY_RUN"}, Local: []string{"CLOCK_OVERRIDE"}},
	"PrivacyRequests":      {Vars: []string{"REQUEST_DEADLINE", "REQUEST_COOL_OFF"}},
	"ClockOverride":        {Local: []string{"CLOCK_OVERRIDE"}},
	"Downstream":           {Vars: []string{"DOWNSTREAM_BUS", "DOWNSTREAM_SYSTEMS"}},
	"Publishing":           {Vars: []string{"NOTICE_MINIMUM", "NOTICES_FUNCTION"}},
	"NoticeSending": {Vars: []string{"NOTICE_MAX_RATE", "NOTICE_LEASE", "NOTICE_SETTLE_GRACE",
		"NOTICE_CATCH_UP_EVERY"}},
	"TokenKeys":     {Vars: []string{tokenKeysSecret.arn}, Local: tokenKeysSecret.fields, SecretARN: tokenKeysSecret.arn},
	"AddressPepper": {Vars: []string{addressPepperSecret.arn}, Local: addressPepperSecret.fields, SecretARN: addressPepperSecret.arn},
}
